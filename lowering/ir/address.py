"""IR index arithmetic from Axe layouts: the coordinate a layout gives on one axis, as an IR expression.

The layout is grouped by the tensor's shape (Algorithm 1) so that each logical coordinate is split into
the digits of its own iters: a dim held by one iter costs one multiply, with no division. Replicas are
ignored (this is ``apply_base``): it is the address of the canonical copy.

>>> import axe
>>> from lowering import ir
>>> i, j = ir.Var("i", "i32"), ir.Var("j", "i32")
>>> L = axe.Layout.parse("S[(4,8):(1,4)]")        # column-major 4x8
>>> axis_expr(L, (4, 8), (1, 2), "m")
Const(value=9, dtype='i32')
>>> axis_expr(L, (4, 8), (i, j), "m") == ir.BinOp("+", i, ir.BinOp("*", j, ir.Const(4, "i32")))
True
"""

from __future__ import annotations

from functools import lru_cache

import axe

from . import arith
from . import nodes as ir
from .errors import DslError


@lru_cache(maxsize=1024)
def _blocks(layout, shape: tuple):
    """Per dim: ``[(extent, stride, axis name, place)]`` (place = product of the later extents in the dim)."""
    try:
        g, seps = layout.group(shape)
    except axe.AxeError as e:
        raise DslError(f"layout {layout} does not admit shape {shape}: {str(e).splitlines()[0]}") from None
    out = []
    for d in range(len(shape)):
        its = g.shard[seps[d]:seps[d + 1]]
        block, place = [], 1
        for it in reversed(its):
            block.append((it.extent, it.stride, it.axis.name, place))
            place *= it.extent
        out.append(tuple(reversed(block)))
    return tuple(out)


def swizzle_expr(sw, x: ir.Expr) -> ir.Expr:
    """``sw(x)`` in IR: ``x ^ ((x & yyy_mask) >> shift)`` (CuTe ``Swizzle<B, M, S>``)."""
    if isinstance(x, ir.Const):
        return arith.const(sw(x.value))
    picked = ir.BinOp("&", x, arith.const(sw.yyy_mask))
    if sw.shift >= 0:
        moved = ir.BinOp(">>", picked, arith.const(sw.shift))
    else:
        moved = ir.BinOp("<<", picked, arith.const(-sw.shift))
    return ir.BinOp("^", x, moved)


def axis_expr(layout, shape: tuple, coords: tuple, axis: str) -> ir.Expr:
    """The base coordinate of logical ``coords`` (IR expressions or ints) on ``axis`` under ``layout``
    (an ``axe.Layout``, or an ``axe.SwizzleLayout`` whose swizzle applies to its memory axis).

    ``shape`` must be static (ints); the layout must admit it.
    """
    if isinstance(layout, axe.SwizzleLayout):
        inner = axis_expr(layout.layout, shape, coords, axis)
        return swizzle_expr(layout.swizzle, inner) if axis == layout.axis.name else inner
    total = arith.const(layout.offset.get(axis, 0))
    for (block, c) in zip(_blocks(layout, tuple(shape)), coords):
        c = arith.const(c)
        for j, (extent, stride, name, place) in enumerate(block):
            if name != axis or stride == 0 or extent == 1:
                continue
            digit = arith.floordiv(c, place)
            if j > 0:
                digit = arith.mod(digit, extent)
            total = arith.add(total, arith.mul(digit, stride))
    return total

