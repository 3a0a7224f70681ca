"""``reduce`` (sum / max / min over chosen dims): thread-local loops, then across lanes by ``shfl_xor``
butterflies, then across warps through shared memory, all derived from the operands' layouts.

``reduce_partition`` (warp, warpgroup or cta scope; register source and destination):

1. every thread sets its destination slots to the identity;
2. every thread folds each source slot it owns into the destination slot of the same output element
   (the layouts must put both in the same thread);
3. for each lane bit the reduced dims vary along, ``v = op(v, shfl_xor(v, 1 << bit))`` on every slot
   (full-warp shuffles: the schedule declines when the CTA ends in a partial warp);
4. if the reduced dims also vary along warps: one lane per (warp, output) writes its partial to shared
   memory, barrier, every owner combines the partials of its warp group, barrier.

Whether this computes exactly the reduction is decided at compile time by running the plan on index
sets for every thread (each source element must reach every owner of its output exactly once for
``sum``); if not, the schedule declines and says why.

>>> import dsl
>>> [s.name for s in dsl.schedules_for("reduce", "warp", "cpu")][-2:]
['reduce_thread', 'reduce_partition']
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

import axe
from lowering import ir
from lowering.ir import arith
from lowering.ir.address import axis_expr

from .. import operands
from ..irutil import loop_nest, when
from .registry import schedule

IDENTITY = {"sum": lambda t: 0.0 if ir.is_float(t) else 0,
            "max": lambda t: -np.inf if ir.is_float(t) else int(np.iinfo(_INT[t]).min),
            "min": lambda t: np.inf if ir.is_float(t) else int(np.iinfo(_INT[t]).max)}
_INT = {"i8": np.int8, "i32": np.int32, "i64": np.int64, "bool": np.int8}
_COMBINE = {"sum": "+", "max": "max", "min": "min"}


def combine(kind: str, a: ir.Expr, b: ir.Expr) -> ir.Expr:
    return ir.BinOp(_COMBINE[kind], a, b)


def out_coords(op: ir.OpCall, coords):
    """Destination coordinates of source coordinates (reduced dims dropped, or zero when kept as 1)."""
    dims = op.attr("dims")
    dst, src = op.operands
    if len(dst.shape) == len(src.shape):
        return tuple(arith.ZERO if i in dims else c for i, c in enumerate(coords))
    kept = tuple(c for i, c in enumerate(coords) if i not in dims)
    return kept if kept else (arith.ZERO,)


def _out_flat(op, x_coords) -> int:
    dims = op.attr("dims")
    dst, src = op.operands
    oc = [0 if i in dims else c for i, c in enumerate(x_coords)] if len(dst.shape) == len(src.shape) else \
        [c for i, c in enumerate(x_coords) if i not in dims] or [0]
    flat = 0
    for c, d in zip(oc, dst.shape):
        flat = flat * d + c
    return flat


# -- thread scope --------------------------------------------------------------------------------------
def lower_thread(op, kernel) -> tuple:
    dst, src = op.operands
    kind = op.attr("kind")
    tag = ir.tag(op)
    ident = ir.Const(IDENTITY[kind](dst.buffer.dtype), dst.buffer.dtype)
    dv = [ir.Var(f"o{tag}_{d}", "i32") for d in range(len(dst.shape))]
    b, i = operands.ref(dst, tuple(dv))
    init = loop_nest(dv, dst.shape, ir.Store(b, i, ident, loc=op.loc), op.loc)
    sv = [ir.Var(f"r{tag}_{d}", "i32") for d in range(len(src.shape))]
    db, di = operands.ref(dst, out_coords(op, tuple(sv)))
    sb, si = operands.ref(src, tuple(sv))
    acc = loop_nest(sv, src.shape, ir.Store(db, di, combine(kind, ir.Load(db, di, loc=op.loc),
                                                              ir.Load(sb, si, loc=op.loc)), loc=op.loc), op.loc)
    return (init, acc)


# -- across threads ------------------------------------------------------------------------------------
def _bits(layout, shape, dims, threads, replicas: bool = False) -> tuple:
    """(lane bits, warp bits) along which the reduced dims vary (and, with ``replicas``, the source's
    replicas: only canonical copies are counted, the others contribute the identity), or a reason."""
    g, seps = layout.group(tuple(shape))
    lane, warp = set(), set()
    wg = "warpgroup" in layout.axes
    groups = [(d, g.shard[seps[d]:seps[d + 1]]) for d in dims]
    if replicas:
        groups.append(("replica", layout.replica))
    for d, its in groups:
        for it in its:
            a, e, s = it.axis.name, it.extent, it.stride
            if a in ("reg",) or e == 1 or s == 0 or axe.Axis.get(a).kind != axe.THREAD:
                continue
            if s < 0 or s & (s - 1) or e & (e - 1):
                return f"reduced dim {d} spreads over {a} with stride {s} and extent {e} (powers of two needed)"
            lo, n = int(math.log2(s)), int(math.log2(e))
            for bit in range(lo, lo + n):
                if a == "lane":
                    lane.add(bit)
                elif a == "warp":
                    warp.add(bit)
                elif a == "tx":
                    (lane if bit < 5 else warp).add(bit if bit < 5 else bit - 5)
                else:
                    return f"reduced dim {d} spreads over {a}: reductions across {a}s are not supported"
    if wg and warp:
        return "reductions across warps of a layout that also uses warpgroup are not supported"
    return tuple(sorted(lane)), tuple(sorted(warp))


def _thread_coords(t: int, layout) -> dict:
    w = t // 32
    return {"tx": t, "lane": t % 32, "warp": w % 4 if "warpgroup" in layout.axes else w, "warpgroup": t // 128}


@lru_cache(maxsize=256)
def _holdings(layout, shape: tuple, threads: int) -> dict:
    """thread -> list of (flat logical index, reg slot, is canonical owner) it holds."""
    axes = operands.thread_axes(layout)
    table: dict = {}
    for x in range(int(layout.size)):
        base = layout.apply_base(x)
        for c in layout.apply(x):
            key = tuple(c.get(a, 0) for a in axes)
            canon = all(c.get(a, 0) == base.get(a, 0) for a in axes)
            table.setdefault(key, []).append((x, c.get("reg", 0), canon))
    out = {}
    for t in range(threads):
        tc = _thread_coords(t, layout)
        out[t] = table.get(tuple(tc[a] for a in axes), [])
    return out


def _plan(op, threads: int):
    """Check the four-step plan on index sets; returns (lane bits, warp bits, needs guard) or a reason."""
    dst, src = op.operands
    kind = op.attr("kind")
    dims = op.attr("dims")
    ls, ld = src.buffer.layout, dst.buffer.layout
    sshape, dshape = operands.static_shape(src.buffer), operands.static_shape(dst.buffer)
    if tuple(src.shape) != sshape or tuple(dst.shape) != dshape:
        return "reductions of register tensor regions are not supported (reduce the whole tensor)"
    guard = kind == "sum" and any(it.axis.name != "reg" for it in ls.replica)
    bits = _bits(ls, sshape, dims, threads, guard)
    if isinstance(bits, str):
        return bits
    lane_bits, warp_bits = bits
    if lane_bits and threads % 32:
        return (f"lane shuffles need whole warps, but the CTA has {threads} threads: its last warp has "
                f"{threads % 32} lanes, and a full-mask shfl_xor names lanes that do not exist (use a multiple "
                f"of 32 threads)")
    src_h, dst_h = _holdings(ls, sshape, threads), _holdings(ld, dshape, threads)
    want: dict = {}
    for x in range(int(ls.size)):
        want.setdefault(_out_flat(op, np.unravel_index(x, sshape)), []).append(x)
    # step 1
    state = {}
    for t in range(threads):
        slots = {reg: o for o, reg, _ in dst_h[t]}
        acc = {reg: [] for reg in slots}
        for x, _reg, canon in src_h[t]:
            if guard and not canon:
                continue
            o = _out_flat(op, np.unravel_index(x, sshape))
            hits = [r for r, oo in slots.items() if oo == o]
            if not hits:
                return (f"thread {t} holds source element {np.unravel_index(x, sshape)} but not its output "
                        f"{np.unravel_index(o, dshape)} in {dst.buffer.name!r}: give the destination the "
                        f"source's layout with the reduced dims made replicas (dsl.reduce_layout)")
            acc[hits[0]].append(x)
        state[t] = {r: (slots[r], acc[r]) for r in slots}
    # step 3: lane butterflies
    for b in lane_bits:
        new = {}
        for t in range(threads):
            u = t ^ (1 << b)
            if u >= threads:
                return f"lane butterfly over bit {b} leaves the CTA ({threads} threads)"
            new[t] = {}
            for r, (o, xs) in state[t].items():
                if r not in state[u] or state[u][r][0] != o:
                    return (f"lanes {t % 32} and {u % 32} hold different outputs in slot {r} of "
                            f"{dst.buffer.name!r}; a shuffle cannot combine them")
                new[t][r] = (o, xs + state[u][r][1])
        state = new
    # step 4: across warps through shared memory
    if warp_bits:
        mask = sum(1 << b for b in lane_bits)
        table: dict = {}
        for t in range(threads):
            if t % 32 & mask:
                continue
            for _r, (o, xs) in state[t].items():
                key = (t // 32, o)
                if key in table and sorted(table[key]) != sorted(xs):
                    return f"two lanes of warp {t // 32} hold different partials of output {o}"
                table.setdefault(key, xs)
        new = {}
        for t in range(threads):
            new[t] = {}
            for r, (o, _) in state[t].items():
                xs = []
                for m in _subsets(warp_bits):
                    w = (t // 32) & ~sum(1 << b for b in warp_bits) | m
                    if (w, o) not in table:
                        return f"warp {w} holds no partial of output {o}"
                    xs += table[(w, o)]
                new[t][r] = (o, xs)
        state = new
    for t in range(threads):
        for r, (o, xs) in state[t].items():
            ok = sorted(xs) == want[o] if kind == "sum" else set(xs) == set(want[o])
            if not ok:
                return (f"the plan would give thread {t} slot {r} (output {np.unravel_index(o, dshape)}) "
                        f"{len(xs)} of its {len(want[o])} source elements")
    return lane_bits, warp_bits, guard


def _subsets(bits):
    out = [0]
    for b in bits:
        out += [m | 1 << b for m in out]
    return out


def _partition_ok(op, kernel):
    if op.scope not in ("warp", "warpgroup", "cta"):
        return f"runs at warp, warpgroup or cta scope, not {op.scope}"
    if any(operands.kind(v) != "distributed" for v in op.operands):
        return "source and destination must be register tensors distributed over threads"
    if any("cta" in operands.thread_axes(v.buffer.layout) for v in op.operands):
        return "reductions across the CTAs of a cluster are not supported yet"
    p = _plan(op, _threads(op, kernel))
    return p if isinstance(p, str) else True


def _threads(op, kernel) -> int:
    return {"warp": min(32, kernel.threads), "warpgroup": min(128, kernel.threads)}.get(op.scope, kernel.threads)


def lower_partition(op, kernel) -> tuple:
    threads = _threads(op, kernel)
    lane_bits, warp_bits, guard = _plan(op, threads)
    dst, src = op.operands
    kind = op.attr("kind")
    ld, ls = dst.buffer.layout, src.buffer.layout
    sshape, dshape = operands.static_shape(src.buffer), operands.static_shape(dst.buffer)
    out = []
    # 1. identity in every destination slot
    ident = ir.Const(IDENTITY[kind](dst.buffer.dtype), dst.buffer.dtype)
    for r in range(int(dst.buffer.size)):
        out.append(ir.Store(dst.buffer, arith.const(r), ident, loc=op.loc))
    # 2. fold the thread's own source slots
    owns, slots = operands.owned_slots(ls, sshape, kernel.threads, scope=op.scope)
    env, _ = operands.thread_env(ls, kernel.threads, scope=op.scope)
    folds = []
    for reg, coords in slots:
        _, di = operands.ref(dst, out_coords(op, coords))
        st = ir.Store(dst.buffer, di, combine(kind, ir.Load(dst.buffer, di), ir.Load(src.buffer, arith.const(reg))),
                      loc=op.loc)
        cond = operands.canonical_owner(ls, sshape, coords, env) if guard else ir.Const(True, "bool")
        folds += when(cond, (st,), op.loc)
    out += when(owns, folds, op.loc)
    # 3. lane butterflies
    dst_own, dslots = operands.owned_slots(ld, dshape, kernel.threads, scope=op.scope)
    for b in lane_bits:
        for r, _ in dslots:
            v = ir.Load(dst.buffer, arith.const(r))
            other = ir.Call("shfl_xor", (v, arith.const(1 << b)), dst.buffer.dtype)
            out.append(ir.Store(dst.buffer, arith.const(r), combine(kind, v, other), loc=op.loc))
    # 4. across warps
    if warp_bits:
        n_w = max(1, kernel.threads // 32)
        n_o = int(np.prod(dshape))
        tag = ir.tag(op)
        red = ir.Buffer(f"red{tag}", dst.buffer.dtype, n_w * n_o, "shared", (arith.const(n_w), arith.const(n_o)))
        out.append(ir.Alloc(red, loc=op.loc))
        writes, reads = [], []
        for r, oc in dslots:
            o = arith.linearize(oc, dshape)
            st = ir.Store(red, arith.add(arith.mul(ir.ThreadIdx("warp"), n_o), o), ir.Load(dst.buffer, arith.const(r)),
                          loc=op.loc)
            writer = arith.cmp("==", ir.ThreadIdx("lane"), axis_expr(ld, dshape, oc, "lane"))
            writes.append(ir.If(writer, (st,), loc=op.loc))
            wbase = ir.BinOp("&", ir.ThreadIdx("warp"), arith.const(~sum(1 << b for b in warp_bits)))
            acc = None
            for m in _subsets(warp_bits):
                w = ir.BinOp("|", wbase, arith.const(m)) if m else wbase
                v = ir.Load(red, arith.add(arith.mul(w, n_o), o), loc=op.loc)
                acc = v if acc is None else combine(kind, acc, v)
            reads.append(ir.Store(dst.buffer, arith.const(r), acc, loc=op.loc))
        own = dst_own
        out.append(ir.If(own, tuple(writes), loc=op.loc) if not (isinstance(own, ir.Const) and own.value is True)
                   else writes)
        # the scratch has a row per warp of the CTA, so warpgroups reducing at once use rows of their own and
        # synchronise among themselves
        sync = "warpgroup" if op.scope == "warpgroup" else "cta"
        out.append(ir.Barrier(sync, loc=op.loc))
        out.append(reads if isinstance(dst_own, ir.Const) and dst_own.value is True
                   else ir.If(dst_own, tuple(reads), loc=op.loc))
        out.append(ir.Barrier(sync, loc=op.loc))
    flat = []
    for s in out:
        flat.extend(s if isinstance(s, list) else [s])
    return tuple(flat)


schedule("reduce", scope="any", name="reduce_partition", priority=0, when=_partition_ok)(lower_partition)
schedule("reduce", scope="any", name="reduce_thread", priority=10, when=operands.thread_scope_ok)(lower_thread)
