"""Text form of values and layouts; the parser (``syntax.py``, ``layout.lark``) reads it back.

A leaf module (no axe imports): it reads iters and layouts through their attributes, so the
classes it formats (``AxisValue``, ``Iter``, ``Layout``) can all import it.
"""

from __future__ import annotations

import re

import sympy

_PLAIN = re.compile(r"-?\d+|[A-Za-z_]\w*")


def format_value(v, axis=None) -> str:
    """``4``, ``4@lane``, ``(n + 1)@warp``; the memory axis ``m`` is left implicit.

    ``axis`` is an :class:`~axe.Axis`, an axis name, or None.

    >>> format_value(4, "lane"), format_value(sympy.Symbol("n") + 1, "m")
    ('4@lane', '(n + 1)')
    """
    s = str(v) if type(v) is int else sympy.sstr(v)
    if not _PLAIN.fullmatch(s):
        s = f"({s})"
    if axis is not None:
        name = axis if type(axis) is str else axis.name
        if name != "m":
            s = f"{s}@{name}"
    return s


def format_iters(iters) -> str:
    if len(iters) == 1:
        it = iters[0]
        return f"{format_value(it.extent)}:{format_value(it.stride, it.axis)}"
    ext = ",".join(format_value(it.extent) for it in iters)
    strides = ",".join(format_value(it.stride, it.axis) for it in iters)
    return f"({ext}):({strides})"


def format_layout(layout) -> str:
    """``S[...] + R[...] + offset`` for anything with ``shard``, ``replica`` and ``offset``."""
    parts = [f"S[{format_iters(layout.shard)}]"]
    if layout.replica:
        parts.append(f" + R[{format_iters(layout.replica)}]")
    for name, v in layout.offset.items():
        if type(v) is int and v < 0:
            parts.append(f" - {format_value(-v, name)}")
        else:
            parts.append(f" + {format_value(v, name)}")
    return "".join(parts)
