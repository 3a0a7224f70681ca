"""Copies between register tensors whose layouts put elements in different threads: the thread-level
transitions. Like device-level transitions (``axe/transitions.py``), the two layouts alone decide
what moves where:

- ``copy_shuffle`` (warp scope, both layouts over lanes and registers): destination slot ``j`` of every
  lane reads one source slot ``k`` from the lane that owns its element: ``dst[j] = shfl_idx(src[k], lane')``
  with ``lane'`` computed from the source layout; legal when ``k`` is the same in every lane.
- ``copy_via_shared`` (warp, warpgroup or cta scope, any layouts): the canonical owners write the
  elements to shared memory, barrier, the new owners read them, barrier.

>>> import dsl
>>> [s.name for s in dsl.schedules_for("copy", "warp", "cpu")][:2]
['copy_shuffle', 'copy_via_shared']
"""

from __future__ import annotations

import numpy as np

from axe.owner_table import base_coords
from lowering import ir
from lowering.ir import arith
from lowering.ir.address import axis_expr

from .. import operands
from ..irutil import when
from .predicates import same_owner
from .registry import schedule


def _both_registers(op):
    if op.op != "copy":
        return "only copies exchange data between threads"
    dst, src = op.operands
    if operands.kind(dst) != "distributed" or operands.kind(src) != "distributed":
        return "both operands must be register tensors distributed over threads"
    if any(not isinstance(o, int) for v in op.operands for o in v.offsets):
        return "register regions must have static offsets"
    if same_owner(op, 0) is True:
        return "each thread already holds what it needs (copy_partition applies)"
    return True


def _spans_ctas(op) -> bool:
    return any("cta" in operands.thread_axes(v.buffer.layout) for v in op.operands)


# -- shuffles --------------------------------------------------------------------------------------------
def _slots(op):
    """``({destination slot: source slot}, None)`` when every lane reads the same source slot for a given
    destination slot (what a shuffle needs), else ``(None, reason)``."""
    dst, src = op.operands
    d_shape, s_shape = operands.static_shape(dst.buffer), operands.static_shape(src.buffer)
    dreg = base_coords(dst.buffer.layout, ("reg",))[:, 0]
    sreg = base_coords(src.buffer.layout, ("reg",))[:, 0]
    coords = np.indices(tuple(dst.shape)).reshape(len(dst.shape), -1)
    dx = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, dst.offsets)), d_shape)
    sx = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, src.offsets)), s_shape)
    out: dict = {}
    for r, k in zip(dreg[dx].tolist(), sreg[sx].tolist()):
        if out.setdefault(r, k) != k:
            return None, f"destination slot {r} needs source slot {out[r]} in one lane and {k} in another"
    return out, None


def _shuffle_ok(op):
    if op.scope != "warp":
        return f"runs at warp scope, not {op.scope}"
    ok = _both_registers(op)
    if ok is not True:
        return ok
    if _spans_ctas(op):
        return "the layouts spread over the CTAs of a cluster (copy_via_dsmem at cluster scope)"
    for v in op.operands:
        if set(operands.thread_axes(v.buffer.layout)) != {"lane"}:
            return f"{v.buffer.name!r} must be spread over lanes only"
    dst = op.operands[0]
    if tuple(dst.shape) != operands.static_shape(dst.buffer):
        return "the destination must be a whole register tensor"
    owns, _ = operands.owned_slots(dst.buffer.layout, dst.shape, 32)
    if not (isinstance(owns, ir.Const) and owns.value is True):
        return "every lane must own destination elements (all lanes take part in a shuffle)"
    _, why = _slots(op)
    return why or True


def lower_shuffle(op, kernel) -> tuple:
    dst, src = op.operands
    d_shape, s_shape = operands.static_shape(dst.buffer), operands.static_shape(src.buffer)
    _, slots = operands.owned_slots(dst.buffer.layout, d_shape, 32)
    ks, _ = _slots(op)
    out = []
    tmp = ir.Buffer(f"xchg{ir.tag(op)}", dst.buffer.dtype, dst.buffer.size, "local",
                    (arith.const(int(dst.buffer.size)),))
    out.append(ir.Alloc(tmp, loc=op.loc))
    for reg, coords in slots:
        scoords = tuple(arith.add(arith.sub(c, do), so) for c, do, so in zip(coords, dst.offsets, src.offsets))
        lane = axis_expr(src.buffer.layout, s_shape, scoords, "lane")
        value = ir.Call("shfl_idx", (ir.Load(src.buffer, arith.const(ks[reg]), loc=op.loc), lane), src.buffer.dtype,
                        loc=op.loc)
        out.append(ir.Store(tmp, arith.const(reg), value, loc=op.loc))
    for reg, _ in slots:  # write after all reads: dst may alias src
        out.append(ir.Store(dst.buffer, arith.const(reg), ir.Load(tmp, arith.const(reg)), loc=op.loc))
    return tuple(out)


# -- through shared memory -------------------------------------------------------------------------------
_BARRIER = {"warp": "warp", "warpgroup": "warpgroup", "cta": "cta"}


def _shared_ok(op):
    if op.scope not in _BARRIER:
        return f"runs at warp, warpgroup or cta scope, not {op.scope}"
    ok = _both_registers(op)
    if ok is not True:
        return ok
    if _spans_ctas(op):
        return "the layouts spread over the CTAs of a cluster (copy_via_dsmem at cluster scope)"
    limit = {"warp": {"lane"}, "warpgroup": {"lane", "warp"}}.get(op.scope)
    for v in op.operands:
        axes = set(operands.thread_axes(v.buffer.layout))
        if limit is not None and not axes <= limit:
            return f"{v.buffer.name!r} spreads over {sorted(axes - limit)}, beyond one {op.scope}"
    return True


def stage(v: ir.TensorView, ctx, write: bool, scratch, base, cluster: int = 1, scope: str | None = None) -> tuple:
    """One side of an exchange through shared memory: each owner of ``v``'s elements stores them to (or
    loads them from) ``scratch[base + row-major index of the element in the region]``; of replicated
    elements only the canonical owner stores. At warpgroup ``scope`` each warpgroup holds its own ``v``."""
    layout = v.buffer.layout
    shape = operands.static_shape(v.buffer)
    owns, slots = operands.owned_slots(layout, shape, ctx.threads, cluster, scope)
    env, _ = operands.thread_env(layout, ctx.threads, cluster, scope)
    body = []
    for reg, full in slots:
        coords = tuple(arith.sub(c, o) for c, o in zip(full, v.offsets))
        cond = ir.Const(True, "bool")
        if any(o != 0 for o in v.offsets) or tuple(v.shape) != shape:
            for c, e in zip(coords, v.shape):
                cond = arith.land(cond, arith.land(arith.cmp(">=", c, 0), arith.cmp("<", c, e)))
        addr = arith.add(base, arith.linearize(coords, v.shape))
        if write:
            cond = arith.land(cond, operands.canonical_owner(layout, shape, full, env))
            st = ir.Store(scratch, addr, ir.Load(v.buffer, arith.const(reg)))
        else:
            st = ir.Store(v.buffer, arith.const(reg), ir.Load(scratch, addr))
        body += when(cond, (st,))
    return when(owns, body)


def lower_shared(op, kernel) -> tuple:
    dst, src = op.operands
    n = 1
    for d in dst.shape:
        n *= d
    copies, group = 1, arith.ZERO
    if op.scope == "warp":  # each warp exchanges in its own scratch region
        copies, group = max(1, kernel.threads // 32), ir.ThreadIdx("warp")
    elif op.scope == "warpgroup":
        copies, group = max(1, kernel.threads // 128), ir.ThreadIdx("warpgroup")
    scratch = ir.Buffer(f"xchg{ir.tag(op)}", dst.buffer.dtype, n * copies, "shared",
                        (arith.const(n * copies),))
    base = arith.mul(group, n)
    bar = ir.Barrier(_BARRIER[op.scope], loc=op.loc)
    return (ir.Alloc(scratch, loc=op.loc), *stage(src, kernel, True, scratch, base, scope=op.scope), bar,
            *stage(dst, kernel, False, scratch, base, scope=op.scope), bar)


# -- across the CTAs of a cluster: distributed shared memory ---------------------------------------------
def cluster_ok(op, ctx):
    """What a cluster-scope exchange of whole register tensors needs: a 1-d cluster launch."""
    if op.scope != "cluster":
        return f"runs at cluster scope, not {op.scope}"
    if any(operands.kind(v) != "distributed" for v in op.operands):
        return "both operands must be register tensors distributed over threads"
    cl = tuple(ctx.cluster)
    if cl[0] == 1 or any(c != 1 for c in cl[1:]):
        return f"needs a 1-d cluster launch (@dsl.kernel(cluster=(n,))), the kernel has {cl}"
    for v in op.operands:
        if any(o != 0 for o in v.offsets) or tuple(v.shape) != operands.static_shape(v.buffer):
            return "operands must be whole register tensors"
    return True


def holder_rank(layout, shape, coords, cluster: int) -> ir.Expr:
    """The rank in the cluster of the CTA holding element ``coords`` canonically (this CTA if the layout
    does not use the ``cta`` axis)."""
    if "cta" in layout.axes:
        return axis_expr(layout, shape, coords, "cta")
    return arith.mod(ir.ThreadIdx("cta.x"), cluster)


def _dsmem_ok(op, kernel):
    ok = cluster_ok(op, kernel)
    return ok if ok is not True else _both_registers(op)


def lower_dsmem(op, kernel) -> tuple:
    """Every CTA stores the elements it holds canonically in its own shared scratch (row-major by element),
    cluster barrier, each destination owner reads its elements from the shared memory of the CTA that
    holds them (``dsmem_load``: ``mapa`` + ``ld.shared::cluster`` on the GPU), cluster barrier."""
    dst, src = op.operands
    cl = int(kernel.cluster[0])
    n = 1
    for d in dst.shape:
        n *= d
    scratch = ir.Buffer(f"dsm{ir.tag(op)}", dst.buffer.dtype, n, "shared", (arith.const(n),))
    s_shape, d_shape = operands.static_shape(src.buffer), operands.static_shape(dst.buffer)
    out = [ir.Alloc(scratch, loc=op.loc), *stage(src, kernel, True, scratch, arith.ZERO, cl),
           ir.Barrier("cluster", loc=op.loc)]
    owns, slots = operands.owned_slots(dst.buffer.layout, d_shape, kernel.threads, cl)
    reads = []
    for reg, coords in slots:
        rank = holder_rank(src.buffer.layout, s_shape, coords, cl)
        value = ir.Call("dsmem_load", (scratch, rank, arith.linearize(coords, d_shape)), dst.buffer.dtype, loc=op.loc)
        reads.append(ir.Store(dst.buffer, arith.const(reg), value, loc=op.loc))
    out.append(ir.If(owns, tuple(reads), loc=op.loc))
    out.append(ir.Barrier("cluster", loc=op.loc))
    return tuple(out)


schedule("copy", scope="any", name="copy_via_dsmem", priority=30, when=_dsmem_ok)(lower_dsmem)
schedule("copy", scope="any", name="copy_via_shared", priority=40, when=_shared_ok)(lower_shared)
schedule("copy", scope="any", name="copy_shuffle", priority=50, when=_shuffle_ok)(lower_shuffle)
