"""``python -m axe``: draw and explain layouts from the command line."""

from __future__ import annotations

import argparse
import shutil
import sys

from .axis import Axis
from .draw import MIN_WIDTH, draw
from .errors import AxeError
from .layout import Layout

DEFAULT_WIDTH = 80  # the table's width when stdout is not a terminal (a pipe, a file, a test)


def explain(layout) -> str:
    """A plain-words description: canonical form, size, spans, owners and replication.

    >>> import axe
    >>> print(explain(axe.Layout.parse("S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]")))
    layout     S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]
    canonical  S[(2,4096):(1@gpuid,1)] + R[2:2@gpuid]
    size       8192 logical elements
    span       gpuid 4, m 4096
    owners     gpuid (device axis): values 0..3
    storage    m (memory axis): span 4096
    per owner  each gpuid holds 4096 elements, stored as S[(32,128):(128,1)]
    replicas   each element is held 2 times (replicated over gpuid)
    """
    c = layout.canonicalize()
    spans = layout.span()
    lines = [f"layout     {layout}", f"canonical  {c}", f"size       {layout.size} logical elements",
             "span       " + ", ".join(f"{a} {s}" for a, s in spans.items())]
    owners = [a for a in layout.axes if not Axis.get(a).is_memory]
    for a in owners:
        ax = Axis.get(a)
        try:
            vals = sorted(layout.image(a))
            desc = f"values {vals[0]}..{vals[-1]}" if vals == list(range(vals[0], vals[-1] + 1)) \
                else f"values {', '.join(map(str, vals[:16]))}{' ...' if len(vals) > 16 else ''}"
        except AxeError:
            desc = f"span {spans[a]}"
        lines.append(f"owners     {a} ({ax.kind} axis): {desc}")
    for a in layout.axes:
        if Axis.get(a).is_memory:
            lines.append(f"storage    {a} (memory axis): span {spans[a]}")
    if owners:
        who = owners[0] if len(owners) == 1 else "(" + ", ".join(owners) + ")"
        try:
            p = layout.partition(tuple(owners))
            where = f", stored as {p.local}" if p.local.shard else ""
            lines.append(f"per owner  each {who} holds {p.num_local} element{'s' * (p.num_local != 1)}{where}")
        except AxeError as e:
            lines.append(f"per owner  not a regular split over {who}: {e}")
    if c.replica:
        on = ", ".join(sorted({it.axis.name for it in c.replica}))
        lines.append(f"replicas   each element is held {c.replica_size} times (replicated over {on})")
    else:
        lines.append("replicas   none: each element has one home")
    return "\n".join(lines)


def _shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise AxeError(f"--shape must be comma-separated ints like 8,16, got {text!r}") from None


def _width(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < MIN_WIDTH:
        raise argparse.ArgumentTypeError(f"must be an int >= {MIN_WIDTH}, got {text!r}")
    return n


def _terminal_width() -> int:
    """The terminal's width when stdout is one, else :data:`DEFAULT_WIDTH`."""
    if not sys.stdout.isatty():
        return DEFAULT_WIDTH
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


_SHOW_HELP = f"""\
Draw a layout as a table over a 2-D shape: one cell per element, showing the
owner (thread/device coordinates) and the storage (memory coordinates).

The table fits the terminal (or {DEFAULT_WIDTH} columns when the output is not a
terminal): when one line per row would be too wide, the columns are split into
blocks of about equal size printed one under the other, each with its column
header. A cell wider than a whole line writes runs of values as a..b (l0..31),
and is cut, ending in "...", if still too wide. --width sets the limit; --wide
prints the full table, one line per row, however wide.
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m axe", description="Draw and explain Axe layouts.")
    sub = p.add_subparsers(dest="cmd", required=True)
    show = sub.add_parser("show", help="draw a layout over a 2-D shape", description=_SHOW_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("layout")
    show.add_argument("--shape", required=True, help="e.g. 8,16 (higher ranks draw the slice --index)")
    show.add_argument("--index", default=None, help="fixed leading indices for rank > 2, e.g. 0,1")
    fit = show.add_mutually_exclusive_group()
    fit.add_argument("--width", type=_width, default=None, metavar="N",
                     help=f"wrap the table into column blocks to fit N columns (N >= {MIN_WIDTH}; default: "
                          f"the terminal's width, {DEFAULT_WIDTH} when not a terminal)")
    fit.add_argument("--wide", action="store_true", help="the full table, one line per row, however wide")
    show.add_argument("--svg")
    show.add_argument("--png")
    ex = sub.add_parser("explain", help="describe a layout in plain words")
    ex.add_argument("layout")
    args = p.parse_args(argv)
    try:
        layout = Layout.parse(args.layout)
        if args.cmd == "explain":
            print(explain(layout))
        else:
            index = _shape(args.index) if args.index else None
            width = None if args.wide else args.width or _terminal_width()
            print(draw(layout, _shape(args.shape), index, svg=args.svg, png=args.png, width=width))
    except AxeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
