"""An independent brute-force evaluator of the Axe definition, and hypothesis strategies.

``brute(L)`` enumerates ``L(x) = { D(x) + r + O : r in R }`` for every x straight from the iters,
without using any of the library's evaluation code.
"""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

import axe

AXES = ["m", "lane", "warp", "reg", "gpuid"]


def vec(d: dict) -> frozenset:
    return frozenset((k, v) for k, v in d.items() if v != 0)


def brute_point(layout: axe.Layout, x: int) -> frozenset:
    exts = [it.extent for it in layout.shard]
    digits = []
    rest = x
    for e in reversed(exts):
        digits.append(rest % e)
        rest //= e
    digits.reverse()
    base: dict = dict(layout.offset)
    for d, it in zip(digits, layout.shard):
        base[it.axis.name] = base.get(it.axis.name, 0) + d * it.stride
    out = set()
    for rd in itertools.product(*[range(it.extent) for it in layout.replica]):
        v = dict(base)
        for d, it in zip(rd, layout.replica):
            v[it.axis.name] = v.get(it.axis.name, 0) + d * it.stride
        out.add(vec(v))
    return frozenset(out)


def brute(layout: axe.Layout) -> list:
    size = 1
    for it in layout.shard:
        size *= it.extent
    return [brute_point(layout, x) for x in range(size)]


def lib(layout: axe.Layout) -> list:
    return [frozenset(vec(c) for c in layout.apply(x)) for x in range(layout.size)]


@st.composite
def iters(draw, max_n=4, axes=AXES, negative=True, max_extent=4):
    n = draw(st.integers(1, max_n))
    out = []
    for _ in range(n):
        e = draw(st.integers(1, max_extent))
        s = draw(st.integers(1, 12))
        if negative and draw(st.booleans()) and draw(st.booleans()):
            s = -s
        out.append(axe.Iter(e, s, draw(st.sampled_from(axes))))
    return tuple(out)


@st.composite
def layouts(draw, max_shard=4, max_replica=2, axes=AXES, negative=True, offsets=True):
    shard = draw(iters(max_shard, axes, negative))
    replica = () if max_replica == 0 else \
        draw(st.one_of(st.just(()), iters(max_replica, axes, negative, max_extent=3)))
    off = {}
    if offsets:
        for a in draw(st.lists(st.sampled_from(axes), max_size=2, unique=True)):
            off[a] = draw(st.integers(-5, 9))
    return axe.Layout(shard, replica, off)


@st.composite
def memory_layouts(draw, max_shard=4):
    """Single-axis (m), positive strides, no replicas: the CuTe-comparable fragment."""
    shard = draw(iters(max_shard, ["m"], negative=False))
    return axe.Layout(shard)


def shape_for(draw, size: int, max_rank: int = 3) -> tuple:
    """A random factorisation of ``size`` into at most ``max_rank`` factors."""
    rank = draw(st.integers(1, max_rank))
    dims = []
    rest = size
    for _ in range(rank - 1):
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divs))
        dims.append(d)
        rest //= d
    dims.append(rest)
    return tuple(dims)
