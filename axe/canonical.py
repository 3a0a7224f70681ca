"""Canonical form of a layout (paper §3.3, App. A).

D rules: D0 drops extent-1 iters; D1 fuses adjacent same-axis iters with s_i = e_{i+1} s_{i+1}.
(O, R) rules per axis: C0 drops extent-1 replicas; C1 flips negative replica strides into the
offset; C2 absorbs a replica of stride q*sigma into one of stride sigma when q <= e (their sum is
one contiguous run). Replicas are then sorted, so equal maps give equal forms under the gap
condition (Thm A.14).
"""

from __future__ import annotations

import sympy

from . import values
from .axis import Offset
from .iter import Iter


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
            if (ps == e * s) if (type(e) is int and type(s) is int and type(ps) is int) \
                    else values.same(ps, values.mul(e, s)):
                prev = out[-1] = Iter._make(values.mul(prev.extent, e), s, it.axis)
                continue
        out.append(it)
        prev = it
    return tuple(out)


def canonical_replica(replica: tuple, offset: dict) -> tuple:
    """C0, C1, C2 per axis; returns the sorted replica iters and updates ``offset`` in place."""
    by_axis: dict = {}
    for it in replica:
        if it.extent == 1:  # C0
            continue
        s = it.stride
        if values.is_negative(s):  # C1
            name = it.axis.name
            offset[name] = values.add(offset.get(name, 0), values.mul(it.extent - 1 if type(it.extent) is int
                                                           else it.extent - 1, s))
            it = Iter._make(it.extent, values.neg(s), it.axis)
        by_axis.setdefault(it.axis.name, []).append(it)
    out = []
    for name in sorted(by_axis):
        out.extend(_absorb(by_axis[name]))
    return tuple(out)


def _absorb(iters: list) -> list:
    """C2 to saturation on one axis: (e_i, sigma) + (e_j, q sigma), 1 <= q <= e_i -> one iter."""
    iters = list(iters)
    changed = True
    while changed:
        changed = False
        iters.sort(key=_sort_key)
        for i in range(len(iters)):
            for j in range(len(iters)):
                if i == j:
                    continue
                a, b = iters[i], iters[j]
                q = _quotient(b.stride, a.stride)
                if q is None:
                    continue
                if values.prove_le(1, q) is True and values.prove_le(q, a.extent) is True:
                    merged = Iter._make(values.add(a.extent, values.mul(q, values.add(b.extent, -1))), a.stride, a.axis)
                    iters = [x for k, x in enumerate(iters) if k not in (i, j)] + [merged]
                    changed = True
                    break
            if changed:
                break
    iters.sort(key=_sort_key)
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
