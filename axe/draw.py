"""See a layout: a text table, an SVG or a PNG of a 2-D tensor, each cell showing owner and storage."""

from __future__ import annotations

import colorsys
import html
from pathlib import Path

from .axis import Axis
from .errors import AxeError, UnprovableError
from .layout import Layout
from .replicas import count as replica_count
from .swizzle import SwizzleLayout

MAX_CELLS = 65536  # drawings are for people; a bigger table is a mistake, not a picture
MAX_POINTS = 1 << 18  # coordinates shown in one drawing (cells x distinct replica vectors)
MIN_WIDTH = 20  # the narrowest text table draw(width=...) lays out

_SHORT = {"lane": "l", "warp": "w", "warpgroup": "wg", "reg": "r", "gpuid": "gpu"}


def _grid_shape(layout, shape, index):
    shape = tuple(shape)
    if not shape or any(type(s) is not int or s < 1 for s in shape):
        raise AxeError(f"draw needs a shape of positive ints, got {shape!r}")
    total = 1
    for s in shape:
        total *= s
    if total != layout.size:
        raise AxeError(f"shape {shape} (size {total}) is not admitted by a layout of size {layout.size}")
    lead = shape[:-2]
    index = tuple(index or (0,) * len(lead))
    if len(index) != len(lead) or any(not 0 <= i < s for i, s in zip(index, lead)):
        raise AxeError(f"index {index} must fix the leading dims {lead} of shape {shape}")
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape[-2:]
    if rows * cols > MAX_CELLS:
        raise AxeError(f"a {rows}x{cols} drawing has more than {MAX_CELLS} cells; draw a smaller shape or slice")
    return shape, index, rows, cols


def _too_many(layout, rows, cols, n) -> AxeError:
    shown = f"more than {MAX_POINTS}" if n is None else str(n)
    return AxeError(f"a {rows}x{cols} drawing of {layout} would show {shown} coordinates (cells x distinct replica "
                    f"vectors; the most is {MAX_POINTS}); draw a smaller shape or a layout "
                    "with fewer replicas")


def cells(layout, shape, index=None):
    """``{(row, col): [coordinates]}`` for the 2-D slice ``index`` (leading dims) of ``shape``.

    At most :data:`MAX_POINTS` coordinates in all (each cell holds one per distinct replica vector).
    """
    shape, index, rows, cols = _grid_shape(layout, shape, index)
    inner = layout.layout if isinstance(layout, SwizzleLayout) else layout
    if isinstance(inner, Layout):  # every cell holds the same number of coordinates: check before listing any
        try:
            per_cell = replica_count(inner.replica, f"layout {layout}", MAX_POINTS // (rows * cols))
        except UnprovableError:
            raise
        except AxeError:
            raise _too_many(layout, rows, cols, None) from None
        if per_cell * rows * cols > MAX_POINTS:
            raise _too_many(layout, rows, cols, per_cell * rows * cols)
    out = {}
    total = 0
    for r in range(rows):
        for c in range(cols):
            coord = (c,) if len(shape) == 1 else index + (r, c)
            pts = layout.apply(*coord, shape=shape)
            total += len(pts)
            if total > MAX_POINTS:
                raise _too_many(layout, rows, cols, None)
            out[(r, c)] = sorted(pts, key=lambda p: sorted(p.items()))
    return out


def _label(points, runs: bool = False) -> str:
    """``w5|9 l0 r1``: each axis' values, finest axis last; ``runs`` writes ``0|1|2|3`` as ``0..3``."""
    axes: dict = {}
    for p in points:
        for a, v in p.items():
            axes.setdefault(a, set()).add(v)
    order = sorted(axes, key=lambda a: (-(Axis.get(a).level or -1), a))
    parts = []
    for a in order:
        vals = sorted(axes[a])
        name = _SHORT.get(a, a)
        parts.append(name + (_runs(vals) if runs else "|".join(str(v) for v in vals)))
    return " ".join(parts)


def _runs(vals) -> str:
    """``0|1|2|3|8`` as ``0..3|8``: runs of three or more consecutive ints written ``a..b``."""
    out, i = [], 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and type(vals[j]) is int and vals[j + 1] == vals[j] + 1:
            j += 1
        out.append(f"{vals[i]}..{vals[j]}" if j - i >= 2 else "|".join(str(v) for v in vals[i:j + 1]))
        i = j + 1
    return "|".join(out)


def _owner(points) -> tuple:
    return tuple(sorted((a, v) for p in points for a, v in p.items() if not Axis.get(a).is_memory))


def draw(layout, shape, index=None, *, svg=None, png=None, width=None) -> str:
    """A text table of the 2-D tensor (or 2-D slice ``index`` of a higher-rank one), cell = owner+storage.

    ``layout`` may be a Layout (or anything with ``apply``, e.g. a SwizzleLayout) or layout text.
    Replicated values show as ``a|b``. With ``svg=path`` or ``png=path`` also writes a picture with cells
    coloured by owner (PNG needs matplotlib: ``pip install axe-dsl[draw]``).

    >>> import axe
    >>> print(axe.draw(axe.Layout.parse("S[(2,4):(1@warp,1@lane)]"), (2, 4)))
         0      1      2      3
    0  w0 l0  w0 l1  w0 l2  w0 l3
    1  w1 l0  w1 l1  w1 l2  w1 l3

    ``width=None`` gives one line per row however wide. ``width=n`` (at least 20) keeps every line
    within ``n`` characters: the columns are split into blocks of about equal size, printed one under
    the other (each with its column header, separated by a blank line), and a cell still wider than
    a whole line writes runs of values as ``a..b`` (``l0..31``), and ends in ``...`` if still too
    wide. A table that fits is the same as with ``width=None``.

    >>> print(axe.draw(axe.Layout.parse("S[(2,4):(1@warp,1@lane)]"), (2, 4), width=20))
         0      1
    0  w0 l0  w0 l1
    1  w1 l0  w1 l1
    <BLANKLINE>
         2      3
    0  w0 l2  w0 l3
    1  w1 l2  w1 l3
    """
    if isinstance(layout, str):
        layout = Layout.parse(layout)
    if not isinstance(layout, Layout) and not hasattr(layout, "apply"):
        raise AxeError(f"draw needs an axe.Layout, got {type(layout).__name__}")
    if width is not None and (type(width) is not int or width < MIN_WIDTH):
        raise AxeError(f"draw width must be an int >= {MIN_WIDTH} (or None for one line per row), got {width!r}")
    grid = cells(layout, shape, index)
    rows = 1 + max(r for r, _ in grid)
    cols = 1 + max(c for _, c in grid)
    labels = {k: _label(v) for k, v in grid.items()}
    lines = _table(labels, rows, cols)
    if width is not None and any(len(line) > width for line in lines):
        lines = _wrapped_table(grid, labels, rows, cols, width)
    if svg is not None:
        try:
            Path(svg).write_text(_svg(grid, labels, rows, cols))
        except OSError as e:
            raise AxeError(f"cannot write the SVG to {str(svg)!r}: {e.strerror or e}") from None
    if png is not None:
        try:
            _png(grid, labels, rows, cols, png)
        except OSError as e:
            raise AxeError(f"cannot write the PNG to {str(png)!r}: {e.strerror or e}") from None
    return "\n".join(lines)


def _table(labels, rows, cols, col_range=None, w=None) -> list[str]:
    """One line per row: the row index, then the cells of ``col_range`` padded to ``w``."""
    col_range = range(cols) if col_range is None else col_range
    w = max(len(s) for s in labels.values()) if w is None else w
    rw = len(str(rows - 1))
    head = " " * rw + "  " + "  ".join(f"{c:^{w}}" for c in col_range)
    lines = [head.rstrip()]
    for r in range(rows):
        lines.append(f"{r:>{rw}}  " + "  ".join(f"{labels[(r, c)]:<{w}}" for c in col_range).rstrip())
    return lines


def _wrapped_table(grid, labels, rows, cols, width) -> list[str]:
    """:func:`_table` in blocks of columns, each line at most ``width`` characters.

    A cell wider than a line writes runs of values as ``a..b``, and is cut if still too wide.
    """
    rw = len(str(rows - 1))
    room = width - rw - 2  # for the cells of one line: k cells take k * (w + 2) - 2
    if any(len(s) > room for s in labels.values()):
        labels = dict(labels)
        for k, s in labels.items():
            if len(s) > room:
                s = _label(grid[k], runs=True)
                labels[k] = s if len(s) <= room else s[:room - 3] + "..."
    w = max(max(len(s) for s in labels.values()), len(str(cols - 1)))
    per_line = max(1, (room + 2) // (w + 2))
    blocks = -(-cols // per_line)
    per_block = -(-cols // blocks)  # the same number of columns in every block but the last
    lines: list[str] = []
    for start in range(0, cols, per_block):
        if lines:
            lines.append("")
        lines += _table(labels, rows, cols, range(start, min(cols, start + per_block)), w)
    return lines


def _colour(owner, owners) -> str:
    i = owners.index(owner)
    h = (i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(h, 0.75, 0.6)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _svg(grid, labels, rows, cols) -> str:
    owners = sorted({_owner(v) for v in grid.values()})
    cw = max(40, 7 * max(len(s) for s in labels.values()) + 8)
    ch = 22
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{cw * cols + 30}" height="{ch * rows + 20}" '
             'font-family="monospace" font-size="11">']
    for c in range(cols):
        parts.append(f'<text x="{30 + c * cw + cw / 2}" y="14" text-anchor="middle">{c}</text>')
    for r in range(rows):
        parts.append(f'<text x="24" y="{20 + r * ch + 15}" text-anchor="end">{r}</text>')
        for c in range(cols):
            x, y = 30 + c * cw, 20 + r * ch
            fill = _colour(_owner(grid[(r, c)]), owners)
            parts.append(f'<rect x="{x}" y="{y}" width="{cw}" height="{ch}" fill="{fill}" stroke="#444"/>')
            parts.append(f'<text x="{x + cw / 2}" y="{y + 15}" text-anchor="middle">'
                         f'{html.escape(labels[(r, c)])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _png(grid, labels, rows, cols, path):
    try:  # optional dependency (the [draw] extra): imported only when a PNG is asked for
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # optional dependency (the [draw] extra)
    except ImportError:
        raise AxeError("PNG output needs matplotlib (pip install 'axe-dsl[draw]'); SVG works without it") from None
    owners = sorted({_owner(v) for v in grid.values()})
    cw = max(0.6, 0.085 * max(len(s) for s in labels.values()))
    fig, ax = plt.subplots(figsize=(cw * cols + 0.5, 0.35 * rows + 0.5))
    for (r, c), pts in grid.items():
        ax.add_patch(plt.Rectangle((c, rows - 1 - r), 1, 1, facecolor=_colour(_owner(pts), owners), edgecolor="#444"))
        ax.text(c + 0.5, rows - 0.5 - r, labels[(r, c)], ha="center", va="center", fontsize=7, family="monospace")
    ax.set_xlim(0, cols)
    ax.set_ylim(0, rows)
    ax.set_xticks([c + 0.5 for c in range(cols)], [str(c) for c in range(cols)])
    ax.set_yticks([rows - 0.5 - r for r in range(rows)], [str(r) for r in range(rows)])
    try:
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
