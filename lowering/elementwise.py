"""Element-wise operators (``copy``, ``fill``, ``pointwise``) for any layouts, driven by ``partition``.

Every element-wise operator is ``dst[x] = f(src_0[x'], src_1[x''], ...)`` with ``x'`` the broadcast of
``x``. The schedules differ only in which thread computes which ``x``:

- ``*_partition``: a register tensor (distributed over thread axes) drives: each thread walks its own
  slots, ``layout.partition(thread axes)`` giving each slot's logical index in closed form. The other
  operands are memory (address from their layout) or register tensors that hold the element in the same
  thread (checked at compile time). When the driver is a source and the destination is memory, only the
  canonical owner of a replicated element stores it (no duplicate writes).
- ``*_strided``: no register tensor: the threads of the scope stride over the destination (thread t of
  T takes t, t + T, ...).
- ``*_thread``: thread scope: the thread walks every element (nested loops), for per-thread arrays and
  memory.

>>> import dsl
>>> [s.name for s in dsl.schedules_for("copy", "cta", "cpu")][-3:]
['copy_thread', 'copy_strided', 'copy_partition']
"""

from __future__ import annotations

import numpy as np

from dsl import arith as A
from dsl import ir
from dsl.operators import arg
from dsl.schedule import schedule
from dsl.sync import SCOPE_THREADS, scope_rank

from . import operands as O
from .irutil import loop_nest, substitute, when
from .owner_table import base_coords, replica_vectors


def template(op: ir.OpCall) -> ir.Expr:
    """The element function of ``op`` over placeholders ``_0, _1, ...`` (one per source)."""
    if op.op == "copy":
        return arg(0, op.operands[1].buffer.dtype)
    if op.op == "fill":
        v = op.attr("value")
        return v if v.dtype == op.operands[0].buffer.dtype else ir.Cast(op.operands[0].buffer.dtype, v)
    return op.attr("fn")


def _kinds(op):
    return [O.kind(v) for v in op.operands]


def body_for(op: ir.OpCall, coords) -> ir.Stmt:
    """The store of destination element ``coords`` (IR) with every source read through its own layout."""
    dst, *srcs = op.operands
    loads = {}
    for i, s in enumerate(srcs):
        buf, idx = O.ref(s, O.broadcast_coords(s.shape, coords))
        loads[f"_{i}"] = ir.Load(buf, idx, loc=op.loc)
    value = substitute(template(op), loads)
    buf, idx = O.ref(dst, coords)
    if value.dtype != buf.dtype:
        value = ir.Cast(buf.dtype, value)
    return ir.Store(buf, idx, value, loc=op.loc)


def _no_device(op):
    if "device" in _kinds(op):
        return "operands sharded over devices take kernel-scope collectives (see lowering/split.py)"
    return True


# -- driver: a register tensor -----------------------------------------------------------------------------
def _driver(op):
    """(index of the driving operand, reason or None)."""
    kinds = _kinds(op)
    if kinds[0] == "distributed":
        return 0, None
    dist = [i for i, k in enumerate(kinds) if k == "distributed"]
    if op.op in ("copy", "pointwise") and len(dist) == 1 and tuple(op.operands[dist[0]].shape) == \
            tuple(op.operands[0].shape) and kinds[0] == "memory":
        return dist[0], None
    if not dist:
        return None, "no operand is a register tensor distributed over threads"
    return None, "a register tensor source needs a register destination or a same-shape memory destination"


def _same_owner(op, drv: int):
    """Every thread that computes an element holds each register source's element too (checked for all
    elements at once with ownership tables)."""
    dst = op.operands[0]
    d = op.operands[drv]
    d_axes = O.thread_axes(d.buffer.layout)
    d_shape = O.static_shape(d.buffer)
    coords = np.indices(tuple(dst.shape)).reshape(len(dst.shape), -1)
    d_flat = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, d.offsets)), d_shape)
    for i, s in enumerate(op.operands[1:], 1):
        if i == drv or O.kind(s) != "distributed":
            continue
        s_axes = O.thread_axes(s.buffer.layout)
        if not set(s_axes) <= set(d_axes):
            return (f"register source {s.buffer.name!r} is spread over {s_axes}, the driving tensor over {d_axes}: "
                    f"its elements live in other threads (exchange them with dsl.copy through shared memory)")
        if any(not isinstance(o, int) for o in s.offsets):
            return f"register source {s.buffer.name!r} has a region with dynamic offsets"
        s_shape = O.static_shape(s.buffer)
        extra = len(dst.shape) - len(s.shape)
        sc = [np.zeros_like(coords[0]) if e == 1 else coords[extra + k] for k, e in enumerate(s.shape)]
        s_flat = np.ravel_multi_index(tuple(c + o for c, o in zip(sc, s.offsets)), s_shape)
        need = base_coords(d.buffer.layout, s_axes)[d_flat]
        have = base_coords(s.buffer.layout, s_axes)[s_flat]
        d_reps, s_reps = replica_vectors(d.buffer.layout, s_axes), replica_vectors(s.buffer.layout, s_axes)
        for r in d_reps:
            target = need + r
            ok = np.zeros(len(target), bool)
            for q in s_reps:
                ok |= (have + q == target).all(axis=1)
            if not ok.all():
                bad = int(np.argmin(ok))
                at = tuple(int(c[bad]) for c in coords)
                return (f"element {at} of {s.buffer.name!r} is held by threads {tuple(have[bad])} (on {s_axes}) but "
                        f"computed by {tuple(target[bad])} (layouts differ)")
    return True


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _partition_ok(op):
    if op.scope not in ("cta", "warpgroup", "warp"):
        return f"runs at cta, warpgroup or warp scope, not {op.scope}"
    ok = _no_device(op)
    if ok is not True:
        return ok
    if "private" in _kinds(op):
        return "per-thread arrays are operands of thread-scope operators"
    drv, why = _driver(op)
    if why:
        return why
    d = op.operands[drv]
    if any(not isinstance(o, int) for o in d.offsets):
        return "the driving register tensor's region must have static offsets"
    limit = {"warp": {"lane"}, "warpgroup": {"lane", "warp"}}.get(op.scope)
    axes = set(O.thread_axes(d.buffer.layout))
    if any("cta" in O.thread_axes(v.buffer.layout) for v in op.operands if O.kind(v) == "distributed"):
        return "a register tensor spread over the CTAs of a cluster takes cluster-scope operators"
    if limit is not None and not axes <= limit:
        return f"layout of {d.buffer.name!r} spreads over {sorted(axes - limit)}, beyond one {op.scope}"
    return _same_owner(op, drv)


def lower_partition(op: ir.OpCall, kernel) -> tuple:
    drv, _ = _driver(op)
    d = op.operands[drv]
    layout = d.buffer.layout
    shape = O.static_shape(d.buffer)
    owns, slots = O.owned_slots(layout, shape, kernel.threads, scope=op.scope)
    env, _ = O.thread_env(layout, kernel.threads, scope=op.scope)
    in_region = any(o != 0 for o in d.offsets) or tuple(d.shape) != shape
    body = []
    for _, full in slots:
        coords = tuple(A.sub(c, o) for c, o in zip(full, d.offsets))
        cond = ir.Const(True, "bool")
        if in_region:
            for c, o, e in zip(full, d.offsets, d.shape):
                cond = A.land(cond, A.land(A.cmp(">=", c, o), A.cmp("<", c, o + e)))
        if drv != 0:  # a source drives a memory store: only the canonical owner writes
            cond = A.land(cond, O.canonical_owner(layout, shape, full, env))
        body += when(cond, (body_for(op, coords),), op.loc)
    return when(owns, body, op.loc)



# -- no register tensor: the scope's threads stride over the destination --------------------------------


def _strided_ok(op):
    if op.scope not in SCOPE_THREADS:
        return f"runs at cta, warpgroup or warp scope, not {op.scope}"
    ok = _no_device(op)
    if ok is not True:
        return ok
    kinds = _kinds(op)
    if any(k != "memory" for k in kinds):
        return "every operand must be a global or shared tensor (region)"
    return True


def lower_strided(op: ir.OpCall, kernel) -> tuple:
    dst = op.operands[0]
    rank, count = scope_rank(op.scope, kernel.threads)
    var = ir.Var(f"e{ir.tag(op)}", "i32")
    coords = A.delinearize(var, tuple(dst.shape))
    return (ir.For(var, rank, A.const(_size(dst.shape)), A.const(count), (body_for(op, coords),), loc=op.loc),)


# -- thread scope: loops -------------------------------------------------------------------------------
def _thread_ok(op):
    if op.scope != "thread":
        return f"runs at thread scope, not {op.scope}"
    ok = _no_device(op)
    if ok is not True:
        return ok
    if "distributed" in _kinds(op):
        return "a register tensor distributed over threads is an operand of warp/cta-scope operators"
    return True


def lower_thread(op: ir.OpCall, kernel) -> tuple:
    dst = op.operands[0]
    tag = ir.tag(op)
    vs = [ir.Var(f"i{tag}_{d}", "i32") for d in range(len(dst.shape))]
    return (loop_nest(vs, dst.shape, body_for(op, tuple(vs)), op.loc),)


for _op in ("copy", "fill", "pointwise"):
    schedule(_op, scope="any", name=f"{_op}_partition", when=_partition_ok)(lower_partition)
    schedule(_op, scope="any", name=f"{_op}_strided", when=_strided_ok)(lower_strided)
    schedule(_op, scope="any", name=f"{_op}_thread", when=_thread_ok)(lower_thread)
