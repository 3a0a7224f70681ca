"""Layouts that operators imply: the layout of a reduction's result (like Triton's SliceLayout) and
transposes.

>>> import axe
>>> L = axe.Layout.parse("S[(4,8,32):(1@warp,1@reg,1@lane)]")     # 4 rows: a warp each, 256 cols
>>> str(reduce_layout(L, (4, 256), (1,)))
'S[4:1@warp] + R[32:1@lane]'
"""

from __future__ import annotations

from . import values
from .axis import THREAD
from .errors import AxeError
from .iter import Iter
from .layout import Layout
from .swizzle import SwizzleLayout


def _layout(layout, what: str) -> Layout:
    if isinstance(layout, str):
        return Layout.parse(layout)
    if isinstance(layout, SwizzleLayout):
        raise AxeError(f"{what} needs an unswizzled axe.Layout; {layout} permutes its addresses with a swizzle")
    if not isinstance(layout, Layout):
        raise AxeError(f"{what} needs an axe.Layout (or its text), got {type(layout).__name__}")
    return layout


def _shape(shape, what: str) -> tuple:
    if type(shape) is int:
        return (shape,)
    try:
        return tuple(shape)
    except TypeError:
        raise AxeError(f"{what}: shape must be a tuple of extents, got {shape!r}") from None


def _blocks(layout, shape):
    try:
        g, seps = layout.group(shape)
    except AxeError as e:
        raise AxeError(f"layout {layout} does not admit shape {tuple(shape)}: {str(e).splitlines()[0]}") from None
    return [g.shard[seps[d]:seps[d + 1]] for d in range(len(shape))]


def dim_blocks(layout, shape):
    """The layout's shard iters grouped per dim of ``shape`` (Algorithm 1), or None if it does not group.

    A :class:`~axe.SwizzleLayout` gives None too: its addresses are not those of its iters.

    >>> import axe
    >>> [[str(it) for it in b] for b in dim_blocks(axe.Layout.parse("S[(4,8):(1,4)]"), (4, 8))]
    [['4:1'], ['8:4']]
    """
    if isinstance(layout, SwizzleLayout):
        return None
    layout = _layout(layout, "dim_blocks")
    shape = _shape(shape, "dim_blocks")
    try:
        g, seps = layout.group(shape)
    except AxeError:
        return None
    return [list(g.shard[seps[d]:seps[d + 1]]) for d in range(len(shape))]


def reduce_layout(layout: Layout, shape, dims, keepdims: bool = False) -> Layout:
    """The layout of ``reduce(src, dims)`` that keeps each output where its inputs are: the reduced dims'
    thread iters become replicas (every thread that took part holds the result), their register iters
    disappear and the remaining registers are renumbered densely.

    ``keepdims`` keeps the reduced dims with extent 1; a negative dim counts from the end. A swizzled layout
    (:class:`~axe.SwizzleLayout`, shared memory) is refused: the result lives in registers and threads.
    """
    layout = _layout(layout, "reduce_layout")
    shape = _shape(shape, "reduce_layout")
    dims = dims if isinstance(dims, (tuple, list, set, frozenset)) else (dims,)
    for d in dims:
        if type(d) is not int or not -len(shape) <= d < len(shape):
            raise AxeError(f"reduce_layout: dim {d!r} is not a dim of shape {shape}")
    dims = {d % len(shape) for d in dims}
    blocks = _blocks(layout, shape)
    kept, reps = [], list(layout.replica)
    for d, block in enumerate(blocks):
        if d not in dims:
            kept.extend(block)
            continue
        for it in block:
            if it.extent != 1 and it.axis.kind == THREAD:
                reps.append(it)
        if keepdims:
            kept.append(Iter(1, 1, "reg"))
    regs = sorted((i for i, it in enumerate(kept) if it.axis.name == "reg" and it.extent != 1),
                  key=lambda i: (0, abs(kept[i].stride), "") if type(kept[i].stride) is int
                  else (1, 0, str(kept[i].stride)))
    place = 1
    for i in regs:
        it = kept[i]
        kept[i] = Iter(it.extent, values.neg(place) if values.is_negative(it.stride) else place, "reg")
        place = values.mul(place, it.extent)
    if not kept:
        kept = [Iter(1, 1, "reg")]
    offset = {k: v for k, v in layout.offset.items() if k != "reg"}
    return Layout(kept, reps, offset or None)


def transpose_layout(layout: Layout, shape) -> Layout:
    """The layout of the 2-d tensor's transpose (same storage, dims swapped).

    A :class:`~axe.SwizzleLayout` stays swizzled the same way: the transpose reorders the logical dims, the
    swizzle permutes the storage addresses, so ``transpose(sw o L) = sw o transpose(L)``.

    >>> import axe
    >>> str(transpose_layout(axe.Layout.parse("S[(4,8):(8,1)]"), (4, 8)))
    'S[(8,4):(1,8)]'
    >>> str(transpose_layout(axe.SwizzleLayout(axe.Layout.parse("S[(8,64):(64,1)]"), axe.smem_swizzle(128, 16)),
    ...                      (8, 64)))
    'Sw<3,3,3> o S[(64,8):(1,64)]'
    """
    if isinstance(layout, SwizzleLayout):
        return SwizzleLayout(transpose_layout(layout.layout, shape), layout.swizzle, layout.axis)
    layout = _layout(layout, "transpose_layout")
    shape = _shape(shape, "transpose_layout")
    if len(shape) != 2:
        raise AxeError(f"transpose needs a 2-d shape, got {shape}")
    b = _blocks(layout, shape)
    return Layout(list(b[1]) + list(b[0]), list(layout.replica), layout.offset or None)
