"""``reduce`` across the CTAs of a cluster (the thread-level counterpart of all-reduce / reduce-scatter):
``reduce_cluster`` at cluster scope, for register tensors whose layouts use the ``cta`` axis.

Every CTA stores the source elements it holds canonically in its own shared scratch, cluster barrier, then
each owner of an output element reads that element's sources from the shared memory of whichever CTA
holds them (distributed shared memory) and combines them in a fixed order, cluster barrier. Simple and
general (any layouts); it moves every source element once, which is what a cluster reduction costs anyway.

>>> import dsl
>>> "reduce_cluster" in [s.name for s in dsl.schedules_for("reduce", "cluster", "cpu")]
True
"""

from __future__ import annotations

import itertools

from dsl import arith as A
from dsl import ir
from dsl.address import axis_expr
from dsl.schedule import schedule

from . import operands as O
from .reduce import IDENTITY, combine


def _ok(op, ctx):
    if op.scope != "cluster":
        return f"runs at cluster scope, not {op.scope}"
    if any(O.kind(v) != "distributed" for v in op.operands):
        return "source and destination must be register tensors"
    cl = tuple(ctx.cluster)
    if cl[0] == 1 or any(c != 1 for c in cl[1:]):
        return f"needs a 1-d cluster launch, the kernel has {cl}"
    for v in op.operands:
        if any(o != 0 for o in v.offsets) or tuple(v.shape) != O.static_shape(v.buffer):
            return "operands must be whole register tensors"
    return True


def lower(op, ctx) -> tuple:
    dst, src = op.operands
    kind, dims = op.attr("kind"), op.attr("dims")
    cl = int(ctx.cluster[0])
    s_shape, d_shape = O.static_shape(src.buffer), O.static_shape(dst.buffer)
    n = 1
    for d in s_shape:
        n *= d
    scratch = ir.Buffer(f"csum{abs(hash(op)) % 10000}", src.buffer.dtype, n, "shared", (A.const(n),))
    out = [ir.Alloc(scratch, loc=op.loc)]
    owns, slots = O.owned_slots(src.buffer.layout, s_shape, ctx.threads, cl)
    env, _ = O.thread_env(src.buffer.layout, ctx.threads, cl)
    writes = []
    for reg, coords in slots:
        cond = ir.Const(True, "bool")
        for a, coord in env.items():
            cond = A.land(cond, A.cmp("==", coord, axis_expr(src.buffer.layout, s_shape, coords, a)))
        st = ir.Store(scratch, A.linearize(coords, s_shape), ir.Load(src.buffer, A.const(reg)), loc=op.loc)
        writes.append(st if isinstance(cond, ir.Const) and cond.value is True else ir.If(cond, (st,), loc=op.loc))
    out += [ir.If(owns, tuple(writes), loc=op.loc), ir.Barrier("cluster", loc=op.loc)]
    d_owns, d_slots = O.owned_slots(dst.buffer.layout, d_shape, ctx.threads, cl)
    keep = len(d_shape) == len(s_shape)
    reads = []
    for reg, oc in d_slots:
        acc = ir.Const(IDENTITY[kind](dst.buffer.dtype), dst.buffer.dtype)
        kept = iter(oc)
        for red in itertools.product(*[range(s_shape[d]) for d in dims]):
            rit = iter(red)
            full = tuple(A.const(next(rit)) if d in dims else (oc[d] if keep else next(kept))
                         for d in range(len(s_shape)))
            kept = iter(oc)
            rank = axis_expr(src.buffer.layout, s_shape, full, "cta") if "cta" in src.buffer.layout.axes \
                else A.mod(ir.ThreadIdx("cta.x"), cl)
            v = ir.Call("dsmem_load", (scratch, rank, A.linearize(full, s_shape)), src.buffer.dtype, loc=op.loc)
            acc = combine(kind, acc, v)
        reads.append(ir.Store(dst.buffer, A.const(reg), acc, loc=op.loc))
    out += [ir.If(d_owns, tuple(reads), loc=op.loc), ir.Barrier("cluster", loc=op.loc)]
    return tuple(out)


schedule("reduce", scope="any", name="reduce_cluster", when=_ok)(lower)
