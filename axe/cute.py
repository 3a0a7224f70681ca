"""CuTe interop and CuTe-style algebra on single-axis Axe layouts.

CuTe unflattens a flat index colexicographically (first mode fastest); Axe row-major (last iter
fastest). An Axe shard ``S[(e0,e1):(s0,s1)]`` is therefore the CuTe layout ``(e1,e0):(s1,s0)``: both
define the same function of the flat logical index. Every operation here is defined on that function
(with the post-conditions CuTe documents) and works on single-axis layouts without replicas or offsets,
concrete or symbolic (sympy proves the divisibility and ordering facts each step needs, else
``UnprovableError`` names the fact); internally it walks the CuTe-ordered ("colex") list of modes.
"""

from __future__ import annotations

import functools

import sympy

from . import values
from .axis import Axis
from .canonical import canonical_shard
from .errors import AxeError
from .iter import Iter
from .layout import Layout

_iter = Iter._make

Modes = list  # [(extent, stride)] in CuTe (colex) order


# Arithmetic that keeps ints on the int path and proves facts about symbolic values.
_mul = values.mul


def _eq(a, b) -> bool:
    return a == b if type(a) is int and type(b) is int else values.same(a, b)


def _divides(d, n) -> bool:
    """d | n, raising UnprovableError when sympy cannot tell."""
    if type(d) is int and type(n) is int:
        return d != 0 and n % d == 0
    return values.require(values.prove_divides(d, n), f"{d} divides {n}")


def _le(a, b) -> bool:
    if type(a) is int and type(b) is int:
        return a <= b
    return values.require(values.prove_le(a, b), f"{a} <= {b}")


def _div(n, d):
    return n // d if type(n) is int and type(d) is int else values.exact_div(n, d)


def _sorted_by_stride(modes):
    if all(type(e) is int and type(s) is int for e, s in modes):
        return sorted(modes, key=lambda m: (abs(m[1]), m[0]))
    return sorted(modes, key=functools.cmp_to_key(lambda x, y: 0 if _eq(x[1], y[1]) else (-1 if _le(x[1], y[1])
                                                                                        else 1)))


def _flatten(t):
    if isinstance(t, tuple | list):
        out = []
        for x in t:
            out.extend(_flatten(x))
        return out
    return [t]


def from_cute(shape, stride=None, axis="m"):
    """The Axe layout of the CuTe layout ``shape:stride`` (nested tuples allowed) on ``axis``.

    ``stride`` defaults to CuTe's column-major (exclusive prefix product).

    >>> str(from_cute((4, 8), (8, 1)))
    'S[(8,4):(1,8)]'
    >>> str(from_cute(((2, 2), 4), ((1, 4), 2)))
    'S[(4,2,2):(2,4,1)]'
    """
    shapes = _flatten(shape)
    if stride is None:
        strides, p = [], 1
        for s in shapes:
            strides.append(p)
            p *= s
    else:
        strides = _flatten(stride)
    if len(shapes) != len(strides):
        raise AxeError(f"CuTe shape {shape} and stride {stride} have different numbers of modes")
    return _to_axe([(e, d) for e, d in zip(shapes, strides)], Axis.get(axis))


def to_cute(layout) -> tuple[tuple, tuple]:
    """``(shape, stride)`` of the flat CuTe layout with the same function as ``layout``.

    >>> to_cute(from_cute((4, 8), (8, 1)))
    ((4, 8), (8, 1))
    """
    modes, _ = _modes(layout, "to_cute")
    return tuple(e for e, _ in modes), tuple(s for _, s in modes)


def _modes(layout, what, allow_offset=False) -> tuple[Modes, Axis]:
    if not isinstance(layout, Layout):
        raise AxeError(f"{what} needs an axe.Layout, got {type(layout).__name__}")
    if layout.replica:
        raise AxeError(f"{what}: layout {layout} has replicas; CuTe layouts are single-valued")
    shard = layout.shard
    if not layout.offset and shard:  # fast path: concrete, one axis
        axis = shard[0].axis
        modes = []
        for it in reversed(shard):
            e, s = it.extent, it.stride
            if type(e) is not int or type(s) is not int or it.axis is not axis:
                break
            modes.append((e, s))
        else:
            return modes, axis
    axes = {it.axis for it in layout.shard}
    if len(axes) > 1:
        raise AxeError(f"{what}: layout {layout} uses several axes ({', '.join(sorted(a.name for a in axes))})")
    if layout.offset and not allow_offset:
        raise AxeError(f"{what}: layout {layout} has an offset; CuTe layouts start at 0")
    axis = next(iter(axes)) if axes else Axis.get("m")
    return [(it.extent, it.stride) for it in reversed(layout.shard)], axis


def _to_axe(modes: Modes, axis: Axis):
    iters = []
    for e, s in reversed(modes):
        if e != 1:
            if _eq(s, 0):
                raise AxeError(f"the result {modes} has a stride-0 (broadcast) mode, which an Axe shard cannot "
                               "hold; broadcasting is a replica R[...] in Axe")
            iters.append(_iter(e, s, axis))
    return Layout._make(tuple(iters) if iters else (_iter(1, 1, axis),))._checked()


def _size(modes: Modes) -> int:
    return values.prod(e for e, _ in modes)


def _coalesce(modes: Modes) -> Modes:
    out: Modes = []
    for e, s in modes:
        if e == 1:
            continue
        if out and _eq(_mul(out[-1][0], out[-1][1]), s):
            out[-1] = (_mul(out[-1][0], e), out[-1][1])
        else:
            out.append((e, s))
    return out or [(1, 0)]


def coalesce(layout):
    """Merge adjacent modes that walk contiguously and drop extent-1 modes (same function).

    >>> str(coalesce(from_cute((2, 4), (1, 2))))
    'S[8:1]'
    """
    modes, axis = _modes(layout, "coalesce")
    shard = canonical_shard(layout.shard)  # D0 + D1 are exactly CuTe's coalesce, in Axe order
    return Layout._make(shard or (_iter(1, 1, axis),))


def _complement(modes: Modes, size: int) -> Modes:
    cur = 1
    out: Modes = []
    for e, s in _sorted_by_stride([(e, s) for e, s in modes if e != 1]):
        if values.is_negative(s):
            raise AxeError("complement needs non-negative strides")
        if not _divides(cur, s):
            raise AxeError(
                f"the layout is not complementable: stride {s} is not a multiple of {cur} (the span so far)")
        out.append((_div(s, cur), cur))
        cur = _mul(e, s)
    if type(size) is int and type(cur) is int:
        rest = -(-size // cur)
    elif values.prove_divides(cur, size) is True:
        rest = values.exact_div(size, cur)
    else:
        rest = values.simplify(sympy.ceiling(sympy.sympify(size) / cur))
    out.append((rest, cur))
    return _coalesce(out)


def complement(layout, size=None):
    """The layout C, sorted by stride, that fills the holes of ``layout`` up to ``size``.

    Post-conditions (CuTe): C is injective, its strides are ordered, and ``layout`` and C have disjoint
    images except 0; ``size(C) >= ceil(size / cosize-compatible span)``.

    >>> str(complement(from_cute(4, 2), 16))
    'S[(2,2):(8,1)]'
    """
    modes, axis = _modes(layout, "complement")
    if size is None:
        size = _cosize(modes)
    size = values.value(size, "complement size")
    if type(size) is int and size < 1:
        raise AxeError(f"complement: size must be positive, got {size!r}")
    return _to_axe(_complement(modes, size), axis)


def _cosize(modes: Modes) -> int:
    if all(type(e) is int and type(s) is int for e, s in modes):
        return 1 + sum((e - 1) * abs(s) for e, s in modes)
    return values.simplify(1 + sum((sympy.sympify(e) - 1) * values.absval(s) for e, s in modes))


def _shape_div(a: int, b: int) -> int:
    if _eq(b, 0):
        raise AxeError("composition: zero stride in the right operand")
    if values.prove_divides(b, a) is True:
        return _div(a, b)
    if values.prove_divides(a, b) is True:
        return 1
    raise AxeError(f"composition is not admissible: {a} and {b} do not divide one another")


def _compose_mode(a: Modes, be: int, bs: int) -> Modes:
    out: Modes = []
    rest_e, rest_s = be, bs
    for e, s in a[:-1]:
        if _eq(rest_e, 1):
            break
        e1 = _shape_div(e, rest_s)
        take = e1 if _le(e1, rest_e) else rest_e
        if not _eq(take, 1):
            out.append((take, _mul(rest_s, s)))
            if not _divides(take, rest_e):
                raise AxeError(f"composition is not admissible: {rest_e} is not divisible by {take}")
            rest_e = _div(rest_e, take)
        rest_s = _shape_div(rest_s, e)
    if not _eq(rest_e, 1):
        out.append((rest_e, _mul(rest_s, a[-1][1])))
    return out or [(1, 0)]


def compose(a, b):
    """``a ∘ b``: the value of ``b`` (on its one axis) used as ``a``'s flat logical index.

    Defined where ``b``'s values lie in ``[0, size(a))``; CuTe's admissibility (divisibility of the
    strides against ``a``'s extents, and ``a`` linear on ``b``'s image — checked exhaustively for
    ``size(b) <= 65536``) is required, else ``AxeError``. The result is on ``a``'s axis.

    >>> str(compose(from_cute((4, 8), (8, 1)), from_cute(4, 2)))
    'S[(2,2):(1,16)]'
    """
    am, axis = _modes(a, "compose (left)")
    bm, _ = _modes(b, "compose (right)")
    return _to_axe(_compose(am, bm, a, b), axis)


def _compose(am: Modes, bm: Modes, a=None, b=None) -> Modes:
    am = _coalesce(am)
    out: Modes = []
    for e, s in bm:
        if e == 1:
            continue
        out.extend(_compose_mode(am, e, s))
    out = out or [(1, 0)]
    if len(am) > 1 and not _non_overlapping(bm):
        _verify_composition(a, b, am, bm, out)
    return out


def _non_overlapping(modes: Modes) -> bool:
    """Sorted by stride, each mode starts at or past the previous one's end (no shared digits)."""
    ms = [(s, e) for e, s in _sorted_by_stride([(e, s) for e, s in modes if e != 1])]
    return all(_le(_mul(s0, e0), s1) for (s0, e0), (s1, _) in zip(ms, ms[1:])) and \
        all(not values.is_negative(s) and not _eq(s, 0) for s, _ in ms)


_VERIFY_LIMIT = 1 << 16


def _eval(modes: Modes, i: int) -> int:
    v = 0
    for e, s in modes:
        v += (i % e) * s
        i //= e
    return v


def _verify_composition(a, b, am, bm, rm):
    """Mode-wise composition equals a(b(i)) only where a is linear on b's image: check it.

    Needed only when b's modes overlap (when they do not, each lands on its own digits of a).
    """
    n = _size(bm)
    if type(n) is not int:
        raise values.UnprovableError(f"cannot prove that composing {a} with {b} is admissible (overlapping modes "
                                "with symbolic extents)")
    if n > _VERIFY_LIMIT:
        return
    size_a = _size(am)
    for i in range(n):
        x = _eval(bm, i)
        if x < size_a and _eval(rm, i) != _eval(am, x):
            raise AxeError(
                f"composition of {a} with {b} is not admissible: the right operand's modes do not map to "
                f"separate modes of the left one (at index {i})")


def _right_inverse(modes: Modes) -> Modes:
    places, p = [], 1
    for e, _ in modes:
        places.append(p)
        p = _mul(p, e)
    todo = [(e, s, pl) for (e, s), pl in zip(modes, places) if e != 1]
    out: Modes = []
    cur = 1
    while True:
        hit = next((m for m in todo if _eq(m[1], cur)), None)
        if hit is None:
            break
        todo.remove(hit)
        out.append((hit[0], hit[2]))
        cur = _mul(hit[0], hit[1])
    return out or [(1, 0)]


def right_inverse(layout):
    """The largest R with ``layout(R(i)) == i`` for every ``i`` in ``[0, size(R))``.

    >>> str(right_inverse(from_cute((2, 3, 4), (3, 4, 1))))
    'S[(3,4):(2,6)]'
    """
    modes, axis = _modes(layout, "right_inverse")
    return _to_axe(_right_inverse(modes), axis)


def left_inverse(layout):
    """An L with ``L(layout(i)) == i`` for every ``i``; needs an injective, complementable layout.

    >>> inv = left_inverse(from_cute((4, 2), (2, 1)))
    >>> [next(iter(inv.apply(next(iter(from_cute((4, 2), (2, 1)).apply(i)))["m"])))["m"] for i in range(8)]
    [0, 1, 2, 3, 4, 5, 6, 7]
    """
    modes, axis = _modes(layout, "left_inverse")
    modes = [(e, s) for e, s in modes if e != 1]
    if not modes:
        return _to_axe([(1, 0)], axis)
    comp = _complement(modes, _cosize(modes))
    both = modes + [(e, s) for e, s in comp if e != 1]
    inv = _right_inverse(both)
    if not _le(_cosize(modes), _size(inv)):
        raise AxeError(f"left_inverse: layout {layout} is not injective or has no complement")
    return _to_axe(inv, axis)


def logical_divide(layout, tiler):
    """``compose(layout, (tiler, complement(tiler, size(layout))))``: tiles first, then the rest.

    As a flat function: index ``i`` walks a tile (``tiler``'s domain) fastest, then the tiles.

    >>> str(logical_divide(from_cute(16, 1), from_cute(4, 1)))
    'S[(4,4):(4,1)]'
    """
    lm, axis = _modes(layout, "logical_divide")
    tm, _ = _modes(tiler, "logical_divide (tiler)")
    full = tm + _complement(tm, _size(lm))
    return _to_axe(_compose(lm, full, layout, tiler), axis)


def logical_product(layout, tiler):
    """``(layout, compose(complement(layout, size(layout) * cosize(tiler)), tiler))``.

    >>> str(logical_product(from_cute((2, 5), (5, 1)), from_cute(4, 1)))
    'S[(4,5,2):(10,1,5)]'
    """
    lm, axis = _modes(layout, "logical_product")
    tm, _ = _modes(tiler, "logical_product (tiler)")
    comp = _complement(lm, _size(lm) * _cosize(tm))
    return _to_axe(lm + _compose(comp, tm, layout, tiler), axis)
