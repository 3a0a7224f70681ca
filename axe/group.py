"""Group a layout by a shape: split/fuse D into consecutive blocks (Algorithm 1, App. B)."""

from __future__ import annotations

import math

from . import values
from .errors import AxeError
from .iter import Iter


class Separators(tuple):
    """Block boundaries of a grouping: a tuple that also compares equal to the same list.

    >>> Separators((0, 1, 2)) == [0, 1, 2] == Separators((0, 1, 2))
    True
    """

    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, list):
            return tuple.__eq__(self, tuple(other))
        return tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = tuple.__hash__


def _shape(shape) -> tuple:
    if type(shape) is tuple:  # fast path: a tuple of positive 64-bit ints
        for s in shape:
            if type(s) is not int or not 0 < s <= values._LIMIT:
                break
        else:
            return shape
    if isinstance(shape, int) or not hasattr(shape, "__iter__") or isinstance(shape, str):
        shape = (shape,)
    out = tuple(s if type(s) is int and 0 < s <= values._LIMIT else values.value(s, "shape entry") for s in shape)
    for s in out:
        if type(s) is int and s < 1:
            raise AxeError(f"shape entries must be >= 1, got shape {out}")
    return out


def _group_ints(iters: tuple, shape: tuple, what: str):
    """All-integer fast path of :func:`group_iters` (same algorithm, no sympy)."""
    total = 1
    for it in iters:
        total *= it.extent
    want = 1
    for s in shape:
        want *= s
    if total != want:
        raise AxeError(f"shape {shape} (size {want}) does not group {what} of size {total}")
    out: list = []
    seps = [0]
    n = len(iters)
    pos = 0
    cur_it = iters[0] if n else None
    for bi, target in enumerate(shape):
        cur = 1
        while cur != target:
            e = cur_it.extent
            if e == 1:
                out.append(cur_it)
                pos += 1
                cur_it = iters[pos] if pos < n else None
                continue
            need = target // cur
            g = math.gcd(e, need)
            if g == 1:
                raise AxeError(
                    f"shape {shape} does not group {what}: an iter of extent {e} cannot be split to "
                    f"fill block {bi}, which still needs a factor {need}")
            if g == e:
                out.append(cur_it)
                pos += 1
                cur_it = iters[pos] if pos < n else None
            else:
                tail = e // g
                out.append(Iter._make(g, tail * cur_it.stride, cur_it.axis))
                cur_it = Iter._make(tail, cur_it.stride, cur_it.axis)
            cur *= g
        seps.append(len(out))
    while pos < n:
        out.append(cur_it)  # trailing extent-1 iters stay in the last block
        pos += 1
        cur_it = iters[pos] if pos < n else None
    if shape:
        seps[-1] = len(out)
    return tuple(out), tuple(seps)


def group_iters(iters: tuple, shape: tuple, what: str = "layout"):
    """Split ``iters`` (row-major) into blocks of extents ``shape``; returns (iters, separators)."""
    if all(type(s) is int for s in shape) and all(type(it.extent) is int and type(it.stride) is int
                                                  for it in iters):
        return _group_ints(iters, shape, what)
    total = values.prod(it.extent for it in iters)
    if values.require(values.prove_eq(total, values.prod(shape)), f"size {total} equals prod{shape}") is False:
        raise AxeError(f"shape {shape} (size {values.prod(shape)}) does not group {what} of size {total}")
    out: list[Iter] = []
    seps = [0]
    src = list(iters)
    pos = 0
    for bi, target in enumerate(shape):
        cur: values.Value = 1
        while not values.same(cur, target):
            if pos >= len(src):
                raise AxeError(f"shape {shape} does not group {what}: ran out of iters in block {bi}")
            it = src[pos]
            if it.extent == 1:
                out.append(it)
                pos += 1
                continue
            need = values.exact_div(target, cur, f"block {bi} of shape {shape}")
            g = _head_factor(it.extent, need, shape, bi, what)
            if values.same(g, it.extent):
                out.append(it)
                pos += 1
            else:
                tail = values.exact_div(it.extent, g, "iter split")
                out.append(Iter._make(g, values.prod([tail, it.stride]), it.axis))
                src[pos] = Iter._make(tail, it.stride, it.axis)
            cur = values.prod([cur, g])
        seps.append(len(out))
    # trailing extent-1 iters stay in the last block
    while pos < len(src):
        it = src[pos]
        if it.extent != 1:
            raise AxeError(f"shape {shape} does not group {what}")
        out.append(it)
        pos += 1
    if shape:
        seps[-1] = len(out)
    return tuple(out), tuple(seps)


def _head_factor(e, need, shape, bi, what):
    """The largest head factor g of extent e that divides what block ``bi`` still needs."""
    if type(e) is int and type(need) is int:
        g = values.gcd(e, need)
        if g == 1:
            raise AxeError(
                f"shape {shape} does not group {what}: an iter of extent {e} cannot be split to "
                f"fill block {bi}, which still needs a factor {need}")
        return g
    if values.prove_divides(e, need) is True:
        return e
    if values.prove_divides(need, e) is True:
        return need
    g = values.gcd(e, need)
    if g != 1 and values.prove_divides(g, e) and values.prove_divides(g, need):
        return g
    raise values.UnprovableError(
        f"cannot prove that iter extent {e} and block {bi} of shape {shape} (needing {need}) "
        "share a factor; group needs one to divide the other")


def group(layout, shape):
    """``layout.group(shape)``: see :meth:`axe.Layout.group`."""
    shape = _shape(shape)
    iters, seps = group_iters(layout.shard, shape)
    return type(layout)._make(iters, layout.replica, layout.offset), Separators(seps)
