"""Slice a layout to an axis-aligned region (Algorithm 4, App. E).

Per grouped block: greedily peel the fastest digits that the region covers whole, then take
the pivot digit without wrap (Lemma E.1) or with one symmetric wrap (Lemma E.2). These are
sufficient conditions: when they fail the region is reported as not representable (None).
"""

from __future__ import annotations

import sympy

from . import values
from .axis import Offset
from .canonical import canonical_shard
from .errors import AxeError
from .group import _shape, group_iters
from .iter import Iter


def _region(region, shape):
    try:
        region = [tuple(r) for r in region]
    except TypeError:
        raise AxeError(f"region must be a list of (begin, end) pairs, got {region!r}") from None
    if len(region) != len(shape):
        raise AxeError(f"region {region} has rank {len(region)} but shape {shape} has rank {len(shape)}")
    out = []
    for d, (r, s) in enumerate(zip(region, shape)):
        if len(r) != 2:
            raise AxeError(f"region entry {r} of dim {d} must be a (begin, end) pair")
        b, e = values.value(r[0], "region begin"), values.value(r[1], "region end")
        if values.prove_le(0, b) is False or values.prove_le(e, s) is False or values.prove_le(b, e) is False:
            raise AxeError(f"region [{b}, {e}) of dim {d} is out of bounds for extent {s}")
        ext = values.simplify(sympy.sympify(e) - b) if not (type(e) is int and type(b) is int) else e - b
        if ext == 0 or values.prove_eq(ext, 0) is True:
            raise AxeError(f"region [{b}, {e}) of dim {d} is empty")
        out.append((b, ext))
    return out


def _slice_block(block: tuple, begin, count):
    """(iters, offset vector dict) for ``[begin, begin + count)`` of one block, or None."""
    n = len(block)
    places = [1] * n
    for k in range(n - 2, -1, -1):
        places[k] = values.prod([places[k + 1], block[k + 1].extent])
    # begin is inside the block, so its most significant digit needs no modulo
    digits = [values.floordiv(begin, places[k]) if k == 0
              else values.mod(values.floordiv(begin, places[k]), block[k].extent)
              for k in range(n)]
    offset: dict = {}
    for d, it in zip(digits, block):
        offset[it.axis.name] = values.add(offset.get(it.axis.name, 0), values.mul(d, it.stride))
    peeled: list[Iter] = []
    rem = count
    j = n - 1
    while j >= 0 and not values.same(rem, 1):
        it = block[j]
        if values.same(digits[j], 0) and values.prove_divides(it.extent, rem) is True:
            peeled.insert(0, it)
            rem = values.exact_div(rem, it.extent)
            j -= 1
        else:
            break
    if values.same(rem, 1):
        return peeled, offset
    if j < 0:
        return None
    piv = block[j]
    d0 = digits[j]
    fits = values.prove_le(values.add(d0, rem), piv.extent)
    if fits is True:
        return [Iter._make(rem, piv.stride, piv.axis)] + peeled, offset
    if fits is None:
        raise values.UnprovableError(f"cannot prove whether the region fits digit {piv} (start {d0}, count {rem})")
    # one symmetric wrap: the run covers the pivot's tail and the same count again after a carry
    if j == 0 or values.prove_divides(2, rem) is not True:
        return None
    c = values.exact_div(rem, 2)
    prev = block[j - 1]
    if not values.same(values.add(d0, c), piv.extent) or \
            values.prove_le(values.add(digits[j - 1], 2), prev.extent) is not True:
        return None
    if prev.axis != piv.axis:
        return None
    delta = values.add(prev.stride, -values.mul(values.add(piv.extent, -c), piv.stride))
    if values.same(delta, 0):
        return None
    return [Iter._make(2, delta, piv.axis), Iter._make(c, piv.stride, piv.axis)] + peeled, offset


def slice_layout(layout, shape, region):
    """See :meth:`axe.Layout.slice`."""
    shape = _shape(shape)
    reg = _region(region, shape)
    if values.require(values.prove_eq(values.prod(shape), layout.size),
                      f"shape {shape} has size {layout.size}") is False:
        raise AxeError(f"shape {shape} (size {values.prod(shape)}) is not admitted by a layout of size {layout.size}")
    try:
        iters, seps = group_iters(canonical_shard(layout.shard), shape)
    except values.UnprovableError:
        raise
    except AxeError:
        return None  # the shape does not group the layout: outside Algorithm 4's sufficient conditions
    shard: list[Iter] = []
    off = Offset(layout.offset)
    for i, (b, cnt) in enumerate(reg):
        block = iters[seps[i]:seps[i + 1]]
        res = _slice_block(block, b, cnt)
        if res is None:
            return None
        blk, o = res
        shard.extend(blk)
        off = off + o
    return type(layout)._make(tuple(it for it in shard if it.extent != 1),
                        layout.replica, Offset({k: off[k] for k in sorted(off)}))
