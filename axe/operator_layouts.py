"""Layouts that operators imply: the layout of a reduction's result (like Triton's SliceLayout) and
transposes.

>>> import axe
>>> L = axe.Layout.parse("S[(4,8,32):(1@warp,1@reg,1@lane)]")     # 4 rows: a warp each, 256 cols
>>> str(reduce_layout(L, (4, 256), (1,)))
'S[4:1@warp] + R[32:1@lane]'
"""

from __future__ import annotations

from .axis import THREAD
from .errors import AxeError
from .iter import Iter
from .layout import Layout


def _blocks(layout, shape):
    try:
        g, seps = layout.group(tuple(shape))
    except AxeError as e:
        raise AxeError(f"layout {layout} does not admit shape {tuple(shape)}: {str(e).splitlines()[0]}") from None
    return [g.shard[seps[d]:seps[d + 1]] for d in range(len(shape))]


def dim_blocks(layout, shape):
    """The layout's shard iters grouped per dim of ``shape`` (Algorithm 1), or None if it does not group.

    >>> import axe
    >>> [[str(it) for it in b] for b in dim_blocks(axe.Layout.parse("S[(4,8):(1,4)]"), (4, 8))]
    [['4:1'], ['8:4']]
    """
    try:
        g, seps = layout.group(tuple(shape))
    except AxeError:
        return None
    return [list(g.shard[seps[d]:seps[d + 1]]) for d in range(len(shape))]


def reduce_layout(layout: Layout, shape, dims, keepdims: bool = False) -> Layout:
    """The layout of ``reduce(src, dims)`` that keeps each output where its inputs are: the reduced dims'
    thread iters become replicas (every thread that took part holds the result), their register iters
    disappear and the remaining registers are renumbered densely.

    ``keepdims`` keeps the reduced dims with extent 1.
    """
    dims = set(dims if isinstance(dims, (tuple, list)) else (dims,))
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
                  key=lambda i: abs(kept[i].stride))
    place = 1
    for i in regs:
        it = kept[i]
        kept[i] = Iter(it.extent, place if it.stride > 0 else -place, "reg")
        place *= it.extent
    if not kept:
        kept = [Iter(1, 1, "reg")]
    offset = {k: v for k, v in layout.offset.items() if k != "reg"}
    return Layout(kept, reps, offset or None)


def transpose_layout(layout: Layout, shape) -> Layout:
    """The layout of the 2-d tensor's transpose (same storage, dims swapped).

    >>> import axe
    >>> str(transpose_layout(axe.Layout.parse("S[(4,8):(8,1)]"), (4, 8)))
    'S[(8,4):(1,8)]'
    """
    if len(shape) != 2:
        raise AxeError(f"transpose needs a 2-d shape, got {tuple(shape)}")
    b = _blocks(layout, shape)
    return Layout(list(b[1]) + list(b[0]), list(layout.replica), layout.offset or None)
