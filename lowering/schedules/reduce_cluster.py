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

from lowering import ir
from lowering.ir import arith

from .. import operands
from ..irutil import when
from .exchange import cluster_ok, holder_rank, stage
from .reduce import IDENTITY, combine
from .registry import schedule


def lower(op, ctx) -> tuple:
    dst, src = op.operands
    kind, dims = op.attr("kind"), op.attr("dims")
    cl = int(ctx.cluster[0])
    s_shape, d_shape = operands.static_shape(src.buffer), operands.static_shape(dst.buffer)
    n = 1
    for d in s_shape:
        n *= d
    scratch = ir.Buffer(f"csum{ir.tag(op)}", src.buffer.dtype, n, "shared", (arith.const(n),))
    out = [ir.Alloc(scratch, loc=op.loc), *stage(src, ctx, True, scratch, arith.ZERO, cl),
           ir.Barrier("cluster", loc=op.loc)]
    d_owns, d_slots = operands.owned_slots(dst.buffer.layout, d_shape, ctx.threads, cl)
    keep = len(d_shape) == len(s_shape)

    def source(oc, red):
        """Source coordinates of output ``oc`` at position ``red`` of the reduced dims."""
        rit, kit = iter(red), iter(oc)
        return tuple(arith.const(next(rit)) if d in dims else (oc[d] if keep else next(kit))
                     for d in range(len(s_shape)))

    reads = []
    for reg, oc in d_slots:
        acc = ir.Const(IDENTITY[kind](dst.buffer.dtype), dst.buffer.dtype)
        for red in itertools.product(*[range(s_shape[d]) for d in dims]):
            full = source(oc, red)
            v = ir.Call("dsmem_load", (scratch, holder_rank(src.buffer.layout, s_shape, full, cl),
                                       arith.linearize(full, s_shape)), src.buffer.dtype, loc=op.loc)
            acc = combine(kind, acc, v)
        reads.append(ir.Store(dst.buffer, arith.const(reg), acc, loc=op.loc))
    out += [*when(d_owns, reads, op.loc), ir.Barrier("cluster", loc=op.loc)]
    return tuple(out)


schedule("reduce", scope="any", name="reduce_cluster", priority=20, when=cluster_ok)(lower)
