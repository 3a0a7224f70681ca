"""The elements a thread owns under a layout, as IR: ``axe.partition`` without sympy.

For a register tensor distributed over thread axes, each thread needs (a) whether it holds anything and
(b) for each of its local slots, the logical coordinates it holds there, as integer expressions of its
thread ids. ``axe.Partition`` computes the same in sympy (and is the reference the tests compare with);
here the digits of each owner axis are read off with ``//`` and ``%`` on IR, constants fold as they are
built, and conditions that the thread-id ranges already guarantee are dropped.

>>> import axe
>>> from lowering import ir
>>> L = axe.Layout.parse("S[(8,4,2):(4@lane,1@lane,1@reg)]")        # 8x8: lane holds 2 per row
>>> owns, slots = owned(L, (8, 8), {"lane": ir.ThreadIdx("lane")}, {"lane": 32})
>>> owns, len(slots), slots[1][0]
(Const(value=True, dtype='bool'), 2, 1)
"""

from __future__ import annotations

from functools import lru_cache

from lowering import ir
from lowering.ir import arith
from lowering.ir.errors import DslError


@lru_cache(maxsize=512)
def _structure(layout, shape: tuple, axes: tuple):
    """Grouped iters with (dim, place in dim), owner digits per axis, local iters."""
    g, seps = layout.group(shape)
    pos_dim = {}
    for d in range(len(shape)):
        place = 1
        for p in range(seps[d + 1] - 1, seps[d] - 1, -1):
            pos_dim[p] = (d, place)
            place *= g.shard[p].extent
    digits = {}
    for a in axes:
        ds = [(it.stride, it.extent, p) for p, it in enumerate(g.shard) if it.axis.name == a and it.extent != 1]
        ds += [(it.stride, it.extent, None) for it in g.replica if it.axis.name == a and it.extent != 1]
        digits[a] = ds
    local = [p for p, it in enumerate(g.shard) if it.axis.name not in axes]
    return g, pos_dim, digits, local


def owned(layout, shape, env: dict, extents: dict):
    """``(owns, [(reg slot, coords), ...])`` for the running thread; ``env`` maps each thread axis the
    layout uses to its IR coordinate and ``extents`` to the number of values it takes."""
    shape = tuple(shape)
    axes = tuple(env)
    g, pos_dim, digits, local = _structure(layout, shape, axes)
    values: dict = {}
    conds = []
    for a in axes:
        base = g.offset.get(a, 0)
        ds = []
        for stride, extent, p in digits[a]:
            if stride < 0:  # d*s == (e-1)*s + d'*|s| with d' = e-1-d
                base += (extent - 1) * stride
            ds.append((abs(stride), extent, p, stride < 0))
        ds.sort(key=lambda d: d[0])
        rel = arith.sub(env[a], base)
        hi = extents[a] - 1 - base  # largest value rel takes
        if not ds:
            if not (base == 0 and extents[a] == 1):
                conds.append(arith.cmp("==", rel, 0))
            continue
        if base > 0:
            conds.append(arith.cmp(">=", rel, 0))
        first = ds[0][0]
        if first != 1:
            conds.append(arith.cmp("==", arith.mod(rel, first), 0))
        for j, (s, e, p, flipped) in enumerate(ds):
            q = arith.floordiv(rel, s)
            if j + 1 < len(ds):
                radix = ds[j + 1][0] // s
                if ds[j + 1][0] % s or radix < e:
                    raise DslError(f"the owner part of {layout} on axis {a!r} is not a mixed radix")
                q = arith.mod(q, radix)
                if radix > e:
                    conds.append(arith.cmp("<", q, e))
            elif hi // s >= e:
                conds.append(arith.cmp("<", q, e))
            if p is not None:
                values[p] = arith.sub(e - 1, q) if flipped else q
    owns = ir.Const(True, "bool")
    for c in conds:
        owns = arith.land(owns, c)
    n_local = 1
    for p in local:
        n_local *= g.shard[p].extent
    slots = []
    for k in range(n_local):
        vals = dict(values)
        rem, reg = k, g.offset.get("reg", 0)
        for p in reversed(local):
            it = g.shard[p]
            d = rem % it.extent
            rem //= it.extent
            vals[p] = arith.const(d)
            if it.axis.name == "reg":
                reg += d * it.stride
        coords = [arith.ZERO] * len(shape)
        for p, v in vals.items():
            d, place = pos_dim[p]
            coords[d] = arith.add(coords[d], arith.mul(v, place))
        slots.append((reg, tuple(coords)))
    return owns, slots
