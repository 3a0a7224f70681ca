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

from lowering import ir
from lowering.ir import arith
from lowering.ir.sync import SCOPE_THREADS, scope_rank

from .. import operands
from ..irutil import loop_nest, substitute, when
from .predicates import driving_operand, no_device_operands, operand_kinds, partition_ok
from .registry import schedule


def template(op: ir.OpCall) -> ir.Expr:
    """The element function of ``op`` over placeholders ``_0, _1, ...`` (one per source)."""
    if op.op == "copy":
        return ir.template_arg(0, op.operands[1].buffer.dtype)
    if op.op == "fill":
        v = op.attr("value")
        return v if v.dtype == op.operands[0].buffer.dtype else ir.Cast(op.operands[0].buffer.dtype, v)
    return op.attr("fn")


def body_for(op: ir.OpCall, coords) -> ir.Stmt:
    """The store of destination element ``coords`` (IR) with every source read through its own layout."""
    dst, *srcs = op.operands
    loads = {}
    for i, s in enumerate(srcs):
        buf, idx = operands.ref(s, operands.broadcast_coords(s.shape, coords))
        loads[f"_{i}"] = ir.Load(buf, idx, loc=op.loc)
    value = substitute(template(op), loads)
    buf, idx = operands.ref(dst, coords)
    if value.dtype != buf.dtype:
        value = ir.Cast(buf.dtype, value)
    return ir.Store(buf, idx, value, loc=op.loc)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def lower_partition(op: ir.OpCall, kernel) -> tuple:
    drv, _ = driving_operand(op)
    d = op.operands[drv]
    layout = d.buffer.layout
    shape = operands.static_shape(d.buffer)
    owns, slots = operands.owned_slots(layout, shape, kernel.threads, scope=op.scope)
    env, _ = operands.thread_env(layout, kernel.threads, scope=op.scope)
    in_region = any(o != 0 for o in d.offsets) or tuple(d.shape) != shape
    body = []
    for _, full in slots:
        coords = tuple(arith.sub(c, o) for c, o in zip(full, d.offsets))
        cond = ir.Const(True, "bool")
        if in_region:
            for c, o, e in zip(full, d.offsets, d.shape):
                cond = arith.land(cond, arith.land(arith.cmp(">=", c, o), arith.cmp("<", c, o + e)))
        if drv != 0:  # a source drives a memory store: only the canonical owner writes
            cond = arith.land(cond, operands.canonical_owner(layout, shape, full, env))
        body += when(cond, (body_for(op, coords),), op.loc)
    return when(owns, body, op.loc)


# -- no register tensor: the scope's threads stride over the destination --------------------------------


def _strided_ok(op):
    if op.scope not in SCOPE_THREADS:
        return f"runs at cta, warpgroup or warp scope, not {op.scope}"
    ok = no_device_operands(op)
    if ok is not True:
        return ok
    kinds = operand_kinds(op)
    if any(k != "memory" for k in kinds):
        return "every operand must be a global or shared tensor (region)"
    return True


def lower_strided(op: ir.OpCall, kernel) -> tuple:
    dst = op.operands[0]
    rank, count = scope_rank(op.scope, kernel.threads)
    var = ir.Var(f"e{ir.tag(op)}", "i32")
    coords = arith.delinearize(var, tuple(dst.shape))
    return (ir.For(var, rank, arith.const(_size(dst.shape)), arith.const(count), (body_for(op, coords),), loc=op.loc),)


# -- thread scope: loops -------------------------------------------------------------------------------
def _thread_ok(op):
    if op.scope != "thread":
        return f"runs at thread scope, not {op.scope}"
    ok = no_device_operands(op)
    if ok is not True:
        return ok
    if "distributed" in operand_kinds(op):
        return "a register tensor distributed over threads is an operand of warp/cta-scope operators"
    return True


def lower_thread(op: ir.OpCall, kernel) -> tuple:
    dst = op.operands[0]
    tag = ir.tag(op)
    vs = [ir.Var(f"i{tag}_{d}", "i32") for d in range(len(dst.shape))]
    return (loop_nest(vs, dst.shape, body_for(op, tuple(vs)), op.loc),)


for _op in ("copy", "fill", "pointwise"):
    schedule(_op, scope="any", name=f"{_op}_partition", priority=0, when=partition_ok)(lower_partition)
    schedule(_op, scope="any", name=f"{_op}_strided", priority=10, when=_strided_ok)(lower_strided)
    schedule(_op, scope="any", name=f"{_op}_thread", priority=20, when=_thread_ok)(lower_thread)
