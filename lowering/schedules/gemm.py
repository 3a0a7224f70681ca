"""``gemm`` (C += op(A)·op(B)) schedules, chosen from the operands' layouts:

- ``gemm_thread``: thread scope, per-thread arrays or memory: three loops.
- ``gemm_mma_warp``: warp scope, A/B/C register tensors whose layouts are tilings of the
  ``mma.sync.m16n8k16`` fragments (``axe.presets.nvidia.mma_m16n8k16``) over registers: one ``mma`` per
  (16x8 output tile, 16-deep k step).
- ``gemm_mma_cta``: cta or warpgroup scope, A and B in memory (any memory layouts), C a register tensor
  tiling the C fragment over warps and registers: ``axe.tile_of`` recovers which warp owns which 16x8
  tiles; each warp loads its A/B fragments from memory (addresses from the fragment layouts and A/B's
  layouts) and issues its mmas.

f16 or bf16 inputs (A and B the same) with f32 accumulation on the tensor-core paths
(``mma.sync...f32.f16.f16.f32`` or ``...f32.bf16.bf16.f32``; the fragments are the same for both), which the
CPU backend emulates bit-faithfully: products exact in f32, f32 sums.

>>> import dsl
>>> sorted(s.name for s in dsl.schedules_for("gemm", "warp", "cpu"))
['gemm_mma_cta', 'gemm_mma_warp', 'gemm_thread']
"""

from __future__ import annotations

from functools import lru_cache

import axe
from axe.operator_layouts import transpose_layout
from axe.presets import nvidia
from lowering import ir
from lowering.ir import arith

from .. import operands
from ..irutil import loop_nest, when
from ..owned import owned
from .predicates import contiguous_chunks
from .registry import schedule

FRAG = {"A": (16, 16), "B": (16, 8), "C": (16, 8)}
REGS = {"A": 8, "B": 4, "C": 4}


def _flags(op):
    return op.attr("transpose_a", False), op.attr("transpose_b", False), op.attr("accumulate", True)


def _coords(view_shape_is_t: bool, i, j):
    return (j, i) if view_shape_is_t else (i, j)


# -- thread scope --------------------------------------------------------------------------------------
def lower_thread(op, kernel) -> tuple:
    c, a, b = op.operands
    ta, tb, accumulate = _flags(op)
    tag = ir.tag(op)
    i, j, k = (ir.Var(f"{n}{tag}", "i32") for n in "ijk")
    m, n = c.shape
    kk = a.shape[0] if ta else a.shape[1]
    cb, ci = operands.ref(c, (i, j))
    ab, ai = operands.ref(a, _coords(ta, i, k))
    bb, bi = operands.ref(b, _coords(tb, k, j))
    t = cb.dtype
    prod = ir.BinOp("*", ir.Cast(t, ir.Load(ab, ai, loc=op.loc)), ir.Cast(t, ir.Load(bb, bi, loc=op.loc)))
    acc = ir.Store(cb, ci, ir.BinOp("+", ir.Load(cb, ci, loc=op.loc), prod), loc=op.loc)
    inner = (loop_nest((k,), (kk,), acc, op.loc),)
    if not accumulate:
        inner = (ir.Store(cb, ci, ir.Const(0.0 if ir.is_float(t) else 0, t), loc=op.loc),) + inner
    return (loop_nest((i, j), (m, n), inner, op.loc),)


# -- fragment matching -----------------------------------------------------------------------------------
def _logical(view, transposed: bool) -> tuple:
    """(layout, shape) of op(X) seen as a (rows, cols) register tensor (transposes swap the dims)."""
    layout, shape = view.buffer.layout, operands.static_shape(view.buffer)
    if transposed:
        return transpose_layout(layout, shape), shape[::-1]
    return layout, shape


@lru_cache(maxsize=256)
def _tiling(layout, shape: tuple, which: str):
    """The outer layout over the tile grid when ``layout`` tiles the ``which`` fragment, checked
    element by element; or a reason string."""
    frag, fshape = nvidia.mma_m16n8k16(which), FRAG[which]
    if shape[0] % fshape[0] or shape[1] % fshape[1]:
        return f"shape {shape} is not a multiple of the {which} fragment {fshape}"
    try:
        outer = axe.tile_of(layout, frag, shape, fshape)
    except axe.AxeError as e:
        return f"not a tiling of the mma {which} fragment ({str(e).splitlines()[0]})"
    if outer is None:
        return f"layout {layout} is not a tiling of the mma.m16n8k16 {which} fragment {frag}"
    if any(it.axis.name not in ("reg", "warp", "warpgroup") for it in outer.shard + outer.replica) or outer.replica:
        return f"the {which} tiles are spread over {outer.axes}; only warpgroups, warps and registers are supported"
    gshape = (shape[0] // fshape[0], shape[1] // fshape[1])
    for ti in range(gshape[0]):
        for tj in range(gshape[1]):
            base = outer.apply_base(ti, tj, shape=gshape)
            for r in range(fshape[0]):
                for c in range(fshape[1]):
                    f = frag.apply_base(r, c, shape=fshape)
                    got = layout.apply_base(ti * fshape[0] + r, tj * fshape[1] + c, shape=shape)
                    want = {"lane": f["lane"], "reg": base.get("reg", 0) * REGS[which] + f["reg"],
                            "warp": base.get("warp", 0), "warpgroup": base.get("warpgroup", 0)}
                    if any(got.get(k, 0) != v for k, v in want.items()):
                        return f"element ({ti * fshape[0] + r}, {tj * fshape[1] + c}) is not where the fragment puts it"
    return outer


MMA_INPUTS = ("f16", "bf16")


def _mma_types(op):
    c, a, b = op.operands
    if c.buffer.dtype != "f32" or a.buffer.dtype not in MMA_INPUTS or b.buffer.dtype != a.buffer.dtype:
        return (f"mma.m16n8k16 here takes f16 A/B and f32 C, or bf16 A/B and f32 C, got "
                f"{a.buffer.dtype}/{b.buffer.dtype}/{c.buffer.dtype}")
    return True


# -- warp scope: all operands in registers -------------------------------------------------------------
def _warp_ok(op):
    if op.scope != "warp":
        return f"runs at warp scope, not {op.scope}"
    if any(operands.kind(v) != "distributed" for v in op.operands):
        return "A, B and C must be register tensors (fragment layouts over lane and reg)"
    ok = _mma_types(op)
    if ok is not True:
        return ok
    if any(tuple(v.shape) != operands.static_shape(v.buffer) for v in op.operands):
        return "operands must be whole register tensors"
    ta, tb, _ = _flags(op)
    for v, w, t in zip(op.operands, "CAB", (False, ta, tb)):
        out = _tiling(*_logical(v, t), w)
        if isinstance(out, str):
            return f"{v.buffer.name!r}: {out}"
        if "warp" in out.axes:
            return f"{v.buffer.name!r} is spread over warps; use cta scope"
    return True


def _reg(outer, ti, tj, gshape, which):
    return int(outer.apply_base(ti, tj, shape=gshape).get("reg", 0)) * REGS[which]


def lower_warp(op, kernel) -> tuple:
    c, a, b = op.operands
    ta, tb, accumulate = _flags(op)
    oc, oa, ob = (_tiling(*_logical(v, t), w) for v, w, t in zip(op.operands, "CAB", (False, ta, tb)))
    m, n = c.shape
    kk = a.shape[0] if ta else a.shape[1]
    out = []
    if not accumulate:
        out += [ir.Store(c.buffer, arith.const(r), ir.Const(0.0, "f32"), loc=op.loc) for r in range(int(c.buffer.size))]
    for ki in range(kk // 16):
        for mi in range(m // 16):
            for ni in range(n // 8):
                call = ir.Call("mma_m16n8k16", (c.buffer, arith.const(_reg(oc, mi, ni, (m // 16, n // 8), "C")),
                                                a.buffer, arith.const(_reg(oa, mi, ki, (m // 16, kk // 16), "A")),
                                                b.buffer, arith.const(_reg(ob, ki, ni, (kk // 16, n // 8), "B"))),
                               "f32", loc=op.loc)
                out.append(ir.Evaluate(call, loc=op.loc))
    return tuple(out)


# -- cta / warpgroup scope: A, B in memory, C over warps ------------------------------------------------
def _cta_ok(op, kernel):
    if op.scope not in ("cta", "warpgroup", "warp"):
        return f"runs at cta, warpgroup or warp scope, not {op.scope}"
    c, a, b = op.operands
    if operands.kind(c) != "distributed" or operands.kind(a) != "memory" or operands.kind(b) != "memory":
        return "needs A and B in memory (shared or global) and C a register tensor"
    ok = _mma_types(op)
    if ok is not True:
        return ok
    if tuple(c.shape) != operands.static_shape(c.buffer):
        return "C must be a whole register tensor"
    ta, tb, _ = _flags(op)
    kk = a.shape[0] if ta else a.shape[1]
    if kk % 16:
        return f"the k extent {kk} is not a multiple of 16"
    outer = _tiling(c.buffer.layout, tuple(c.shape), "C")
    if isinstance(outer, str):
        return f"{c.buffer.name!r}: {outer}"
    warps = {"warp": 1, "warpgroup": 4}.get(op.scope, max(1, kernel.threads // 32))
    if "warp" in outer.axes and outer.span("warp") > warps:
        return f"C is spread over {outer.span('warp')} warps, the {op.scope} has {warps}"
    return True


def _frag_addresses(which: str, view, transposed: bool, row0, col0):
    """Per fragment register: the IR address (in the running lane) of its element in memory view ``view``."""
    _, slots = operands.owned_slots(nvidia.mma_m16n8k16(which), FRAG[which], 32)
    out = []
    for reg, (r, cc) in slots:
        i, j = arith.add(row0, r), arith.add(col0, cc)
        out.append((reg, operands.ref(view, (j, i) if transposed else (i, j))))
    return out


def _ldmatrix_ok(v, ctx) -> bool:
    """Shared memory whose 8-element rows are contiguous and 16-byte aligned (what ldmatrix reads): strided
    tiles, and swizzled ones whose swizzle moves whole 16-byte chunks (the addresses come through the
    layout, so a swizzle that spreads rows over the banks makes the loads conflict-free)."""

    if v.buffer.scope != "shared" or v.buffer.dtype not in ("f16", "bf16") or len(v.buffer.shape) != 2:
        return False
    return contiguous_chunks(v, 8, ctx) is None


def _lane_parts():
    lane = ir.ThreadIdx("lane")
    return ir.BinOp(">>", lane, arith.const(3)), ir.BinOp("&", lane, arith.const(7))


def _ldmatrix_a(af, off, a, ta, mi, kv, loc):
    """The 16x16 A fragment as ldmatrix.x4: matrix j = (rows 8*(j&1).., k 8*(j>>1)..); lane 8j+r addresses
    row r of matrix j. A stored transposed (k rows, m contiguous) is read with .trans."""
    j, r = _lane_parts()
    m_in = arith.add(arith.mul(ir.BinOp("&", j, arith.const(1)), 8), r if not ta else arith.ZERO)
    k_in = arith.add(arith.mul(ir.BinOp(">>", j, arith.const(1)), 8), r if ta else arith.ZERO)
    row_m, col_k = arith.add(arith.mul(mi, 16), m_in), arith.add(arith.mul(kv, 16), k_in)
    _, idx = operands.ref(a, (col_k, row_m) if ta else (row_m, col_k))
    return ir.Evaluate(ir.Call("ldmatrix", (af, arith.const(off), a.buffer, idx, arith.const(4), ir.Const(ta, "bool")),
                               "i32", loc=loc), loc=loc)


def _ldmatrix_b(bf, off, b, tb, ni, kv, loc):
    """The 16x8 B fragment as ldmatrix.x2: matrix j = k rows 8j..8j+7; B stored (k, n) with n contiguous is
    read with .trans, B stored transposed (n, k) without. Lanes 16-31 repeat lanes 0-15's addresses."""
    j, r = _lane_parts()
    j = ir.BinOp("&", j, arith.const(1))
    k = arith.add(arith.mul(kv, 16), arith.add(arith.mul(j, 8), arith.ZERO if tb else r))
    n = arith.add(arith.mul(ni, 8), r if tb else arith.ZERO)
    _, idx = operands.ref(b, (n, k) if tb else (k, n))
    return ir.Evaluate(ir.Call("ldmatrix", (bf, arith.const(off), b.buffer, idx, arith.const(2),
                                            ir.Const(not tb, "bool")),
                               "i32", loc=loc), loc=loc)


def lower_cta(op, kernel) -> tuple:
    c, a, b = op.operands
    ta, tb, accumulate = _flags(op)
    m, n = c.shape
    kk = a.shape[0] if ta else a.shape[1]
    gshape = (m // 16, n // 8)
    outer = _tiling(c.buffer.layout, tuple(c.shape), "C")
    tag = ir.tag(op)
    if "warp" in outer.axes or "warpgroup" in outer.axes:
        env, ext = operands.thread_env(outer, kernel.threads, scope=op.scope)
        owns, slots = owned(outer, gshape, env, ext)
        tiles = [(coords, reg * 4) for reg, coords in slots]
    else:
        tiles = [((arith.const(ti), arith.const(tj)), int(outer.apply_base(ti, tj, shape=gshape).get("reg", 0)) * 4)
                 for ti in range(gshape[0]) for tj in range(gshape[1])]
        owns = ir.Const(True, "bool")
    rows = list(dict.fromkeys(t[0][0] for t in tiles))
    cols = list(dict.fromkeys(t[0][1] for t in tiles))
    ab = a.buffer.dtype                                       # f16 or bf16 (checked by _mma_types)
    af = ir.Buffer(f"afrag{tag}", ab, 8 * len(rows), "local", (arith.const(8 * len(rows)),))
    bf = ir.Buffer(f"bfrag{tag}", ab, 4 * len(cols), "local", (arith.const(4 * len(cols)),))
    kv = ir.Var(f"kt{tag}", "i32")
    body = []
    ldsm = getattr(kernel, "target", "cpu") == "cuda" and _ldmatrix_ok(a, kernel) and _ldmatrix_ok(b, kernel)
    for s, mi in enumerate(rows):
        if ldsm:
            body.append(_ldmatrix_a(af, 8 * s, a, ta, mi, kv, op.loc))
            continue
        for reg, (buf, idx) in _frag_addresses("A", a, ta, arith.mul(mi, 16), arith.mul(kv, 16)):
            body.append(ir.Store(af, arith.const(8 * s + reg), ir.Load(buf, idx, loc=op.loc), loc=op.loc))
    for s, ni in enumerate(cols):
        if ldsm:
            body.append(_ldmatrix_b(bf, 4 * s, b, tb, ni, kv, op.loc))
            continue
        for reg, (buf, idx) in _frag_addresses("B", b, tb, arith.mul(kv, 16), arith.mul(ni, 8)):
            body.append(ir.Store(bf, arith.const(4 * s + reg), ir.Load(buf, idx, loc=op.loc), loc=op.loc))
    for (mi, ni), creg in tiles:
        call = ir.Call("mma_m16n8k16", (c.buffer, arith.const(creg), af, arith.const(8 * rows.index(mi)),
                                        bf, arith.const(4 * cols.index(ni))), "f32", loc=op.loc)
        body.append(ir.Evaluate(call, loc=op.loc))
    out = [ir.Alloc(af, loc=op.loc), ir.Alloc(bf, loc=op.loc)]
    if not accumulate:
        out += [ir.Store(c.buffer, arith.const(r), ir.Const(0.0, "f32"), loc=op.loc) for r in range(int(c.buffer.size))]
    out.append(ir.For(kv, arith.ZERO, arith.const(kk // 16), arith.ONE, tuple(body), loc=op.loc))
    return when(owns, out, op.loc)


schedule("gemm", scope="any", name="gemm_mma_cta", priority=0, when=_cta_ok)(lower_cta)
schedule("gemm", scope="any", name="gemm_mma_warp", priority=10, when=_warp_ok)(lower_warp)
schedule("gemm", scope="any", name="gemm_thread", priority=20, when=operands.thread_scope_ok)(lower_thread)
