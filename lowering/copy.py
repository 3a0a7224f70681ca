"""Built-in copy schedules: partition-driven (distributed local <-> row-major region) and CTA-strided."""

from __future__ import annotations

import sympy

from dsl import ir
from dsl.schedule import schedule

from .sym_to_ir import to_ir

THREAD_IDS = {"tx": "tx", "lane": "lane", "warp": "warp", "warpgroup": "warpgroup"}


def _distributed(v: ir.TensorView) -> bool:
    return v.buffer.scope == "local" and v.layout is not None


def _thread_axes(layout) -> tuple:
    return tuple(a for a in layout.axes if a != "reg")


def _partition_ok(op: ir.OpCall):
    dst, src = op.operands
    dist = [v for v in (dst, src) if _distributed(v)]
    if len(dist) != 1:
        return "needs exactly one distributed local operand (alloc_local with a layout)"
    other = src if dist[0] is dst else dst
    if other.buffer.scope not in ("global", "shared") or other.layout is not None:
        return "the other operand must be a row-major global or shared region"
    bad = [a for a in _thread_axes(dist[0].layout) if a not in THREAD_IDS]
    if bad:
        return f"layout uses axes {bad} that are not thread axes of a CTA"
    if tuple(dist[0].shape) != tuple(other.shape):
        return f"shapes differ: {dist[0].shape} vs {other.shape}"
    return True


def region_address(v: ir.TensorView, flat, env: dict) -> ir.Expr:
    """IR address of logical row-major index ``flat`` (sympy) of region ``v`` in its (row-major) buffer."""
    coords, rest = [], 1
    for d in reversed(v.shape):
        coords.append(sympy.Mod(sympy.floor(flat / rest), d))
        rest *= d
    addr = None
    for k, c in enumerate(reversed(coords)):
        off = v.offsets[k]
        e = to_ir(c + off, env) if isinstance(off, int) else ir.BinOp("+", off, to_ir(c, env))
        addr = e if addr is None else ir.BinOp("+", ir.BinOp("*", addr, v.buffer.shape[k]), e)
    return addr


_SYMS = {a: sympy.Symbol(a, integer=True, nonnegative=True) for a in THREAD_IDS}
_ENV = {a: ir.ThreadIdx(k) for a, k in THREAD_IDS.items()}


@schedule("copy", scope="cta", backend="any", when=_partition_ok)
def copy_partition(op: ir.OpCall, ctx) -> tuple:
    """Each thread moves the elements it owns: ``layout.partition(thread axes)`` gives, per local slot k,
    the logical index (a closed form in the thread ids) and the register slot."""
    dst, src = op.operands
    dist, other = (dst, src) if _distributed(dst) else (src, dst)
    p = dist.layout.partition(_thread_axes(dist.layout))
    coords = {a: _SYMS[a] for a in _thread_axes(dist.layout)}
    owns = to_ir(p.owns(**coords), _ENV)
    body = []
    for k in range(int(p.num_local)):
        slot = ir.Const(int(p.local.apply_base(k)["reg"]), "i32")
        addr = region_address(other, p.logical_index(k, **coords), _ENV)
        if dist is dst:
            body.append(ir.Store(dst.buffer, slot, ir.Load(src.buffer, addr, loc=op.loc), loc=op.loc))
        else:
            body.append(ir.Store(dst.buffer, addr, ir.Load(src.buffer, slot, loc=op.loc), loc=op.loc))
    if isinstance(owns, ir.Const) and owns.value is True:
        return tuple(body)
    return (ir.If(owns, tuple(body), loc=op.loc),)


def _strided_ok(op: ir.OpCall):
    dst, src = op.operands
    for v in (dst, src):
        if v.buffer.scope not in ("global", "shared") or v.layout is not None:
            return "both operands must be row-major global or shared regions"
    if tuple(dst.shape) != tuple(src.shape):
        return f"shapes differ: {dst.shape} vs {src.shape}"
    return True


@schedule("copy", scope="cta", backend="any", when=_strided_ok)
def copy_cta_strided(op: ir.OpCall, ctx) -> tuple:
    """Thread tx of the CTA copies elements tx, tx + threads, ... of the region (row-major)."""
    dst, src = op.operands
    size = 1
    for d in dst.shape:
        size *= d
    e = sympy.Symbol(f"e{id(op) % 10000}", integer=True, nonnegative=True)
    var = ir.Var(e.name, "i32")
    env = dict(_ENV, **{e.name: var})
    body = (ir.Store(dst.buffer, region_address(dst, e, env), ir.Load(src.buffer, region_address(src, e, env),
                                                                       loc=op.loc),
                     loc=op.loc),)
    return (ir.For(var, ir.ThreadIdx("tx"), ir.Const(size, "i32"), ir.Const(ctx.threads, "i32"), body, loc=op.loc),)
