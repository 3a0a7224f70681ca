"""Canonical form of a layout (paper §3.3, App. A).

D rules: D0 drops extent-1 iters; D1 fuses adjacent same-axis iters with s_i = e_{i+1} s_{i+1}.
(O, R) rules per axis: C0 drops extent-1 replicas; C1 flips negative replica strides into the
offset; C2 absorbs a replica of stride q*sigma into one of stride sigma when q <= e (their sum is
one contiguous run). Replicas are then sorted, so equal maps give equal forms under the gap
condition (Thm A.14).

A rule whose result could not be written as layout text (a value beyond 64 bits, a numeral or
exponent a symbolic value cannot spell) is not applied, so ``str`` of a canonical form always parses
back. Layouts built by the public constructors fit in 64 bits (``Layout._check_fits``), so for them
this never withholds a rule on ints.
"""

from __future__ import annotations

import bisect

import sympy

from . import values
from .axis import Offset
from .iter import Iter

_LIMIT = values.LIMIT


def canonical_shard(shard: tuple) -> tuple:
    """Apply D0 and D1 until neither fires."""
    out: list[Iter] = []
    prev = None
    for it in shard:
        e = it.extent
        if e == 1:
            continue
        if prev is not None and (prev.axis is it.axis or prev.axis == it.axis):
            s, ps = it.stride, prev.stride
            if type(e) is int and type(s) is int and type(ps) is int and type(prev.extent) is int:
                if ps == e * s and prev.extent * e <= _LIMIT:
                    prev = out[-1] = Iter._make(prev.extent * e, s, it.axis)
                    continue
            elif values.same(ps, values.mul(e, s)):
                fused = values.mul(prev.extent, e)
                if values.printable(fused):
                    prev = out[-1] = Iter._make(fused, s, it.axis)
                    continue
        out.append(it)
        prev = it
    return tuple(out)


def canonical_replica(replica: tuple, offset: dict) -> tuple:
    """C0, C1, C2 per axis; returns the sorted replica iters and updates ``offset`` in place."""
    by_axis: dict = {}
    for it in replica:
        if it.extent == 1 or (type(it.stride) is int and it.stride == 0):  # C0 (a stride-0 iter adds only 0)
            continue
        s = it.stride
        if values.is_negative(s):  # C1
            name = it.axis.name
            moved = values.add(offset.get(name, 0), values.mul(values.add(it.extent, -1), s))
            if values.printable(moved):
                offset[name] = moved
                it = Iter._make(it.extent, values.neg(s), it.axis)
        by_axis.setdefault(it.axis.name, []).append(it)
    out = []
    for name in sorted(by_axis):
        out.extend(_absorb(by_axis[name]))
    return tuple(out)


def _absorb(iters: list) -> list:
    """C2 to saturation on one axis: (e_i, sigma) + (e_j, q sigma), 1 <= q <= e_i -> one iter.

    Iters with positive int strides and extents take one pass in increasing stride order (each absorbs,
    in that order, the larger strides it can: the result is the saturation, in O(n^2) at worst). The others
    (symbolic, or a negative stride C1 left) are saturated pairwise; their sympy proofs are memoised and
    capped at ``_PROOF_BUDGET`` per axis, after which the rest of C2 is skipped.
    """
    iters = _merge_equal_strides(iters)
    plain = sorted((it for it in iters if type(it.stride) is int and type(it.extent) is int and it.stride > 0),
                   key=_sort_key)
    rest = [it for it in iters if not (type(it.stride) is int and type(it.extent) is int and it.stride > 0)]
    out = []
    taken = [False] * len(plain)
    strides = [it.stride for it in plain]  # increasing, distinct (equal strides merged above)
    where = {st: k for k, st in enumerate(strides)}
    for i, a in enumerate(plain):
        if taken[i]:
            continue
        sigma, e = a.stride, a.extent
        j = i + 1
        while j < len(plain):  # the window of strides in (strides[j-1], e*sigma]: e may grow, so repeat
            hi = bisect.bisect_right(strides, e * sigma, j)
            if hi == j:
                break  # sorted: the rest are farther still
            q_lo = -(-strides[j] // sigma)
            if e - q_lo + 1 < hi - j:  # fewer multiples of sigma than strides in the window: look them up
                ks = [where.get(q * sigma) for q in range(q_lo, e + 1)]
            else:
                ks = [k for k in range(j, hi) if strides[k] % sigma == 0]
            for k in ks:
                if k is not None and not taken[k]:
                    grown = e + strides[k] // sigma * (plain[k].extent - 1)
                    if grown <= _LIMIT:
                        e = grown
                        taken[k] = True
            j = hi
        out.append(a if e == a.extent else Iter._make(e, sigma, a.axis))
    if rest:
        out = _absorb_pairwise(out + rest)
    out.sort(key=_sort_key)
    return out


def _merge_equal_strides(iters: list) -> list:
    """C2 with q = 1, in one pass: iters of the same stride merge, their extents adding (minus one each)."""
    by_stride: dict = {}
    for it in iters:
        by_stride.setdefault(it.stride, []).append(it)
    if len(by_stride) == len(iters):
        return iters
    out = []
    for group in by_stride.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        exts = [it.extent for it in group]
        if all(type(e) is int for e in exts):
            extent = sum(exts) - (len(exts) - 1)
        else:
            extent = values.simplify(sympy.Add(*exts) - (len(exts) - 1))
        if values.printable(extent):
            out.append(Iter._make(extent, group[0].stride, group[0].axis))
        else:
            out.extend(group)
    return out


_PROOF_BUDGET = 400  # symbolic pair checks per axis in C2 (each may run sympy.simplify)


def _absorb_pairwise(iters: list) -> list:
    memo: dict = {}
    budget = [_PROOF_BUDGET]

    def merged(a, b):
        """The iter C2 makes of ``a`` absorbing ``b``, or None (memoised; symbolic checks spend the budget)."""
        key = (a.stride, a.extent, b.stride, b.extent)
        if key not in memo:
            if not (type(a.stride) is int and type(b.stride) is int and type(a.extent) is int
                    and type(b.extent) is int):
                budget[0] -= 1
            q = _quotient(b.stride, a.stride)
            out = None
            if q is not None and values.prove_le(1, q) is True and values.prove_le(q, a.extent) is True:
                extent = values.add(a.extent, values.mul(q, values.add(b.extent, -1)))
                if values.printable(extent):
                    out = Iter._make(extent, a.stride, a.axis)
            memo[key] = out
        return memo[key]

    changed = True
    while changed and budget[0] > 0:
        changed = False
        iters.sort(key=_sort_key)
        for i in range(len(iters)):
            for j in range(len(iters)):
                if i == j:
                    continue
                if budget[0] <= 0:
                    break
                m = merged(iters[i], iters[j])
                if m is None:
                    continue
                iters = [x for k, x in enumerate(iters) if k not in (i, j)] + [m]
                changed = True
                break
            if changed or budget[0] <= 0:
                break
    return iters


def _quotient(n, d):
    """n / d when it is provably an integer, else None."""
    if type(n) is int and type(d) is int:
        return n // d if n % d == 0 else None
    if values.prove_divides(d, n) is True:
        return values.simplify(sympy.sympify(n) / d)
    return None


def _sort_key(it):
    if type(it.stride) is int and type(it.extent) is int:
        return (it.axis.name, 0, it.stride, it.extent, "")
    return (it.axis.name, 1, 0, 0, f"{it.stride}:{it.extent}")


def canonicalize(layout):
    """The canonical form of ``layout`` (see module docstring), of the same class as ``layout``."""
    shard = canonical_shard(layout.shard)
    old = layout.shard
    same = len(shard) == len(old) and all(a is b for a, b in zip(shard, old))
    if not layout.replica:  # the constructor already dropped zero offsets and sorted the axes
        return layout if same else type(layout)._make(shard, (), layout.offset)
    offset = dict(layout.offset)
    replica = canonical_replica(layout.replica, offset)
    offset = Offset({k: values.simplify(offset[k]) for k in sorted(offset) if offset[k] != 0
                     and values.prove_eq(offset[k], 0) is not True})
    if shard == layout.shard and replica == layout.replica and offset == layout.offset \
            and tuple(offset) == tuple(layout.offset):
        return layout
    return type(layout)._make(shard, replica, offset)
