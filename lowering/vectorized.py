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

from dsl import arith as A
from dsl import ir
from dsl.schedule import schedule
from dsl.sync import SCOPE_THREADS, scope_rank

from . import operands as O
from . import stmatrix as _stmatrix  # noqa: F401  (the register -> shared copies: copy_stmatrix)

VECTOR_BYTES = 16
_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "i32": 4, "i64": 8, "bool": 1}


def _row_strides(v: ir.TensorView):
    """Element strides of each dim of the buffer (IR or ints), or None when not a strided row-major-like
    buffer whose innermost dim is contiguous."""
    b = v.buffer
    if b.layout is None:
        strides, acc = [], A.ONE
        for d in reversed(b.shape):
            strides.append(acc)
            acc = A.mul(acc, d)
        return tuple(reversed(strides))
    shape = O.static_shape(b)
    try:
        g, seps = b.layout.group(shape)
    except Exception:  # a layout that does not group by the shape is not a strided buffer
        return None
    out = []
    for d in range(len(shape)):
        its = [it for it in g.shard[seps[d]:seps[d + 1]] if it.extent != 1]
        if len(its) > 1 or b.layout.replica or b.layout.offset.get("m", 0):
            return None
        out.append(A.const(its[0].stride if its else 0))
    return tuple(out)


def _vector(op) -> int:
    return VECTOR_BYTES // _BYTES[op.operands[0].buffer.dtype]


def _contiguous_chunks(v: ir.TensorView, vec: int, ctx):
    """None when every aligned ``vec``-element chunk along the innermost dim of ``v`` is contiguous and starts
    on a 16-byte boundary; otherwise the reason."""
    import math

    import axe

    b = v.buffer
    layout = b.layout
    if layout is None:
        st = _row_strides(v)
        if not all(ctx.multiple_of(x, vec) for x in st[:-1]):
            return f"the row stride of {b.name!r} is not known to be a multiple of {vec} elements"
    else:
        inner = layout.layout if isinstance(layout, axe.SwizzleLayout) else layout
        if isinstance(layout, axe.SwizzleLayout) and layout.swizzle.base < int(math.log2(vec)):
            return f"the swizzle of {b.name!r} moves pieces smaller than {VECTOR_BYTES} bytes"
        if inner.replica or inner.offset.get("m", 0) % vec:
            return f"the layout of {b.name!r} has replicas or an unaligned offset"
        g, seps = inner.group(O.static_shape(b))
        last = [it for it in g.shard[seps[-2]:seps[-1]] if it.extent != 1]
        if not last or last[-1].stride != 1 or last[-1].extent % vec:
            return f"{b.name!r} is not contiguous in runs of {vec} elements along its innermost dim"
        if any(it.stride % vec for it in g.shard if it is not last[-1] and it.extent != 1):
            return f"a stride of {b.name!r}'s layout is not a multiple of {vec} elements"
    off = v.offsets[-1]
    if not ctx.multiple_of(A.const(off), vec):
        return f"the region of {b.name!r} does not start on a {VECTOR_BYTES}-byte boundary"
    return None


def _ok(op, ctx):
    if getattr(ctx, "backend", "cpu") != "cuda":
        return "CUDA only"
    if op.op != "copy" or op.scope not in SCOPE_THREADS:
        return "copies at cta, warpgroup or warp scope"
    if any(O.kind(v) != "memory" for v in op.operands):
        return "both operands must be global or shared memory"
    v = _vector(op)
    dst = op.operands[0]
    if dst.shape[-1] % v:
        return f"the innermost extent {dst.shape[-1]} is not a multiple of {v} elements (16 bytes)"
    for t in op.operands:
        why = _contiguous_chunks(t, v, ctx)
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
    coords = A.delinearize(var, outer)
    coords = coords[:-1] + (A.mul(coords[-1], v),)
    async_ = src.buffer.scope == "global" and dst.buffer.scope == "shared"
    name = "cp_async" if async_ else "copy_vec"
    (db, di), (sb, si) = O.ref(dst, coords), O.ref(src, coords)
    call = ir.Call(name, (db, di, sb, si, A.const(v)), "i32", loc=op.loc)
    body = (ir.Evaluate(call, loc=op.loc),)
    out = [ir.For(var, rank, A.const(n), A.const(count), body, loc=op.loc)]
    if async_:
        out.append(ir.Evaluate(ir.Call("cp_async_wait_all", (), "i32", loc=op.loc), loc=op.loc))
    return tuple(out)


schedule("copy", scope="any", backend="cuda", name="copy_vectorized", when=_ok)(lower)
