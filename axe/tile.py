"""Tile (Kronecker-like product, Alg. 2), its inverse tile_of (Alg. 3, App. D), direct sum (App. F).

All three live on the interleaved domain ``(S_A[0], S_B[0], S_A[1], S_B[1], ...)``.
"""

from __future__ import annotations

import sympy

from . import values
from .axis import Offset
from .canonical import canonical_shard
from .errors import AxeError
from .group import _shape, group_iters
from .iter import Iter
from .layout import Layout

_make_iter = Iter._make


def _grouped(layout, shape, what):
    if not isinstance(layout, Layout):
        raise AxeError(f"{what} must be a Layout, got {type(layout).__name__}")
    iters, seps = group_iters(layout.shard, shape, what)
    return [iters[seps[i]:seps[i + 1]] for i in range(len(shape))]


def _shapes(a_shape, b_shape, a_name, b_name):
    a_shape, b_shape = _shape(a_shape), _shape(b_shape)
    if len(a_shape) != len(b_shape):
        raise AxeError(f"{a_name} shape {a_shape} and {b_name} shape {b_shape} must have the same rank")
    return a_shape, b_shape


def _scale(it: Iter, sigma: dict) -> Iter:
    w = sigma.get(it.axis.name, 1)
    if w == 1:
        return it
    s = it.stride
    return _make_iter(it.extent, s * w if type(s) is int and type(w) is int else values.prod([s, w]), it.axis)


def _fit(a, b):
    """``(size, total)`` for ``Layout._checked`` of a layout made of ``a``'s and ``b``'s iters and offsets,
    from their checked totals; None when unknown (``_checked`` then counts)."""
    try:
        sa, ta = a._fit
        sb, tb = b._fit
        return (sa * sb, ta + tb)
    except AttributeError:
        return None


def tile(outer, inner, outer_shape, inner_shape):
    """The tiled layout ``outer ⊗ inner``: inner gives intra-tile placement, outer places tiles.

    ``f(x, y) = f_outer(x) ⊙ span(inner) + f_inner(y)`` on the interleaved domain.

    >>> import axe
    >>> A, B = axe.Layout.parse("S[(2,3):(3,1)]"), axe.Layout.parse("S[(8,8):(8,1)]")
    >>> str(axe.tile(A, B, (2, 3), (8, 8)))
    'S[(2,8,3,8):(192,8,64,1)]'
    """
    outer_shape, inner_shape = _shapes(outer_shape, inner_shape, "outer", "inner")
    a_blocks = _grouped(outer, outer_shape, "outer layout")
    b_blocks = _grouped(inner, inner_shape, "inner layout")
    sigma = inner.span()
    shard: list[Iter] = []
    for ab, bb in zip(a_blocks, b_blocks):
        shard.extend(_scale(it, sigma) for it in ab)
        shard.extend(bb)
    replica = tuple(_scale(it, sigma) for it in outer.replica) + inner.replica
    try:  # bounds for the 64-bit check from the operands' checked totals (strides scale by at most max sigma)
        so, to = outer._fit
        si, ti = inner._fit
        fit = (so * si, to * max(sigma.values(), default=1) + ti)
    except (AttributeError, TypeError):  # unchecked operands, or symbolic spans: _checked counts
        fit = None
    if not outer.offset:
        return Layout._make(tuple(shard), replica, inner.offset)._checked(fit)
    off = {k: values.prod([v, sigma.get(k, 1)]) for k, v in outer.offset.items()}
    offset = Offset(off) + Offset(inner.offset)
    return Layout._make(tuple(shard), replica, Offset({k: offset[k] for k in sorted(offset)}))._checked(fit)


def direct_sum(a, b, a_shape, b_shape):
    """``f(x ‖ y) = f_a(x) + f_b(y)`` on the interleaved domain (no span scaling).

    >>> import axe
    >>> A, B = axe.Layout.parse("S[(2,2):(8,2)]"), axe.Layout.parse("S[(2,2):(4,1)]")
    >>> str(axe.direct_sum(A, B, (2, 2), (2, 2)))
    'S[(2,2,2,2):(8,4,2,1)]'
    """
    a_shape, b_shape = _shapes(a_shape, b_shape, "a", "b")
    a_blocks = _grouped(a, a_shape, "layout a")
    b_blocks = _grouped(b, b_shape, "layout b")
    shard: list[Iter] = []
    for ab, bb in zip(a_blocks, b_blocks):
        shard.extend(ab)
        shard.extend(bb)
    offset = Offset(a.offset) + Offset(b.offset)
    return Layout._make(tuple(shard), a.replica + b.replica,
                        Offset({k: offset[k] for k in sorted(offset)}))._checked(_fit(a, b))


def tile_of(tiled, inner, tiled_shape, inner_shape):
    """The outer layout C with ``tile(C, inner, tiled_shape / inner_shape, inner_shape) == tiled``,
    or ``None`` when ``tiled`` is not a tiling of ``inner`` (Alg. 3 with App. D's offsets/replicas).

    >>> import axe
    >>> T, B = axe.Layout.parse("S[(2,8,3,8):(192,8,64,1)]"), axe.Layout.parse("S[(8,8):(8,1)]")
    >>> str(axe.tile_of(T, B, (16, 24), (8, 8)))
    'S[(2,3):(3,1)]'
    """
    tiled_shape, inner_shape = _shapes(tiled_shape, inner_shape, "tiled", "inner")
    outer_shape = []
    for j, (t, b) in enumerate(zip(tiled_shape, inner_shape)):
        if values.require(values.prove_divides(b, t), f"inner extent {b} divides tiled extent {t} (dim {j})") is False:
            return None
        outer_shape.append(values.exact_div(t, b))
    b_blocks = _grouped(inner, inner_shape, "inner layout")
    fine = []
    for o, b in zip(outer_shape, inner_shape):
        fine += [o, b]
    try:
        iters, seps = group_iters(canonical_shard(tiled.shard), tuple(fine), "tiled layout")
    except AxeError as e:
        if isinstance(e, values.UnprovableError):
            raise
        return None
    w = inner.span()
    shard: list[Iter] = []
    for j, bb in enumerate(b_blocks):
        c_part = iters[seps[2 * j]:seps[2 * j + 1]]
        b_part = iters[seps[2 * j + 1]:seps[2 * j + 2]]
        if canonical_shard(b_part) != canonical_shard(bb):
            return None
        for it in c_part:
            d = _descale(it, w)
            if d is None:
                return None
            shard.append(d)
    # offsets: O_tiled = O_C ⊙ W + O_B
    tc, ic = tiled.canonicalize(), inner.canonicalize()
    off = {}
    for k in set(tc.offset) | set(ic.offset):
        diff = values.simplify(sympy.sympify(tc.offset.get(k, 0)) - ic.offset.get(k, 0))
        q = _exact(diff, w.get(k, 1))
        if q is None:
            return None
        if q != 0:
            off[k] = q
    # replicas: tiled's replicas minus inner's, descaled
    t_rep = list(tc.replica)
    for it in ic.replica:
        if it in t_rep:
            t_rep.remove(it)
    rep = []
    for it in t_rep:
        d = _descale(it, w)
        if d is None:
            return None
        rep.append(d)
    try:
        c = Layout._make(tuple(shard), tuple(rep), Offset({k: off[k] for k in sorted(off)}))
        if tile(c, inner, tuple(outer_shape), inner_shape) != tiled:
            return None
    except AxeError:
        return None
    return c


def _exact(n, d):
    if d == 1:
        return n
    if type(n) is int and type(d) is int:
        return n // d if n % d == 0 else None
    if values.prove_divides(d, n) is True:
        return values.simplify(sympy.sympify(n) / d)
    return None


def _descale(it: Iter, w: dict):
    q = _exact(it.stride, w.get(it.axis.name, 1))
    return None if q is None else Iter._make(it.extent, q, it.axis)
