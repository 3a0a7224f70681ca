"""CUDA schedules for memory-to-memory copies: 16-byte vector accesses, and ``cp.async`` for global to
shared memory (sm_80+), where the layouts prove contiguity and alignment.

A copy qualifies when, in both operands, the innermost dim is contiguous (stride 1) and a whole number of
16-byte vectors long, and every row starts on a 16-byte boundary: the row strides and the region offsets
are multiples of the vector length, which the lowering context proves from constants, loop variables
(start and step) and the kernel's divisibility specialisation of scalar parameters. The scope's threads
then stride over vectors instead of elements. ``dsl.copy`` stays synchronous: a ``cp.async`` loop is
followed by ``cp.async.wait_all``; the barrier that makes the data visible to other threads is the
user's, as for any copy into shared memory.

The CPU backend runs these intrinsics too (as plain vector copies), so the CUDA lowering is tested
against numpy without a GPU.

>>> import dsl
>>> "copy_vectorized" in [s.name for s in dsl.schedules_for("copy", "cta", "cuda")]
True
"""

from __future__ import annotations

from lowering import ir
from lowering.ir import arith
from lowering.ir.sync import SCOPE_THREADS, scope_rank

from .. import operands
from .predicates import VECTOR_BYTES, contiguous_chunks
from .registry import schedule

_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "i32": 4, "i64": 8, "bool": 1}


def _vector(op) -> int:
    return VECTOR_BYTES // _BYTES[op.operands[0].buffer.dtype]


def _ok(op, ctx):
    if getattr(ctx, "target", "cpu") != "cuda":
        return "CUDA only"
    if op.op != "copy" or op.scope not in SCOPE_THREADS:
        return "copies at cta, warpgroup or warp scope"
    if any(operands.kind(v) != "memory" for v in op.operands):
        return "both operands must be global or shared memory"
    v = _vector(op)
    dst = op.operands[0]
    if dst.shape[-1] % v:
        return f"the innermost extent {dst.shape[-1]} is not a multiple of {v} elements (16 bytes)"
    for t in op.operands:
        why = contiguous_chunks(t, v, ctx)
        if why:
            return why
    return True


def lower(op, ctx) -> tuple:
    dst, src = op.operands
    v = _vector(op)
    rank, count = scope_rank(op.scope, ctx.threads)
    outer = tuple(dst.shape[:-1]) + (dst.shape[-1] // v,)
    n = 1
    for d in outer:
        n *= d
    var = ir.Var(f"vec{ir.tag(op)}", "i32")
    coords = arith.delinearize(var, outer)
    coords = coords[:-1] + (arith.mul(coords[-1], v),)
    async_ = src.buffer.scope == "global" and dst.buffer.scope == "shared"
    name = "cp_async" if async_ else "copy_vec"
    (db, di), (sb, si) = operands.ref(dst, coords), operands.ref(src, coords)
    call = ir.Call(name, (db, di, sb, si, arith.const(v)), "i32", loc=op.loc)
    body = (ir.Evaluate(call, loc=op.loc),)
    out = [ir.For(var, rank, arith.const(n), arith.const(count), body, loc=op.loc)]
    if async_:
        out.append(ir.Evaluate(ir.Call("cp_async_wait_all", (), "i32", loc=op.loc), loc=op.loc))
    return tuple(out)


schedule("copy", scope="any", target="cuda", name="copy_vectorized", priority=80, when=_ok)(lower)
