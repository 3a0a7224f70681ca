"""What lowering needs to know about operator operands: their kind, where element ``coords`` lives, and the
thread coordinates a layout's thread axes take in the running thread.

Kinds: ``memory`` (global or shared storage, row-major or through a memory layout), ``private`` (a
per-thread array: local without thread axes), ``distributed`` (a register tensor spread over thread axes
by its layout; storage slot = the ``reg`` coordinate), ``device`` (a global tensor sharded over devices).

>>> from lowering import ir
>>> b = ir.Buffer("a", "f32", 32, "global", (ir.Const(4, "i32"), ir.Const(8, "i32")))
>>> v = ir.TensorView(b, (1, 0), (2, 8))
>>> kind(v), ref(v, (ir.Const(1, "i32"), ir.Const(3, "i32")))[1]
('memory', Const(value=19, dtype='i32'))
"""

from __future__ import annotations

import axe
from lowering import ir
from lowering.ir import arith
from lowering.ir.address import axis_expr

from .owned import owned

THREAD_AXES = ("tx", "lane", "warp", "warpgroup")  # inside a CTA; ``cta`` (rank in the cluster) spans CTAs
SCOPE_THREADS = {"thread": 1, "warp": 32, "warpgroup": 128}


def layout_axes(layout) -> tuple:
    """The axes a layout (or swizzled layout) uses."""
    return layout.layout.axes if isinstance(layout, axe.SwizzleLayout) else layout.axes


def kind(v: ir.TensorView) -> str:
    b = v.buffer
    if b.scope in ("global", "shared"):
        if b.layout is not None and any(axe.Axis.get(a).kind == axe.DEVICE for a in layout_axes(b.layout)):
            return "device"
        return "memory"
    if b.layout is not None and thread_axes(b.layout):
        return "distributed"
    return "private"


def thread_scope_ok(op):
    """Schedule predicate for loops run by each thread alone: thread scope, per-thread arrays or memory."""
    if op.scope != "thread":
        return f"runs at thread scope, not {op.scope}"
    if any(kind(v) not in ("memory", "private") for v in op.operands):
        return "operands must be per-thread arrays or memory at thread scope"
    return True


def thread_axes(layout) -> tuple:
    """The thread axes a layout uses (``tx``, ``lane``, ``warp``, ``warpgroup``), in layout order."""
    return tuple(a for a in layout_axes(layout) if a != "reg" and axe.Axis.get(a).kind == axe.THREAD)


def _warp_in_warpgroup(layout, scope) -> bool:
    return "warpgroup" in layout.axes or scope == "warpgroup"


def thread_coord(axis: str, layout, cluster: int = 1, scope: str | None = None) -> ir.Expr:
    """The running thread's coordinate on ``axis``. ``warp`` counts warps in the CTA, or in the warpgroup
    when the layout also uses ``warpgroup`` or the operator runs at warpgroup ``scope`` (each warpgroup
    then holds its own tensor); ``cta`` is the CTA's rank in its cluster (1-d clusters)."""
    if axis == "cta":
        return arith.mod(ir.ThreadIdx("cta.x"), cluster)
    if axis == "warp" and _warp_in_warpgroup(layout, scope):
        return arith.mod(ir.ThreadIdx("warp"), 4)
    if axis in THREAD_AXES:
        return ir.ThreadIdx(axis)
    raise ValueError(axis)


def thread_extent(axis: str, threads: int, cluster: int = 1) -> int:
    """How many values ``axis`` takes in a CTA of ``threads`` threads (``cta``: CTAs in the cluster)."""
    return {"tx": threads, "lane": min(32, threads), "warp": max(1, threads // 32),
            "warpgroup": max(1, threads // 128), "cta": cluster}[axis]


def static_shape(b: ir.Buffer) -> tuple | None:
    out = []
    for d in b.shape:
        if not isinstance(d, ir.Const):
            return None
        out.append(d.value)
    return tuple(out)


def full_coords(v: ir.TensorView, coords) -> tuple:
    """Coordinates in the whole buffer of ``coords`` in the view."""
    return tuple(arith.add(o if isinstance(o, ir.Expr) else arith.const(o), c) for o, c in zip(v.offsets, coords))


def ref(v: ir.TensorView, coords) -> tuple:
    """``(buffer, flat index)`` of element ``coords`` of the view, in the running thread's storage."""
    b = v.buffer
    full = full_coords(v, coords)
    k = kind(v)
    if b.layout is None:
        return b, arith.linearize(full, b.shape)
    axis = "m" if k == "memory" else "reg"
    return b, axis_expr(b.layout, static_shape(b), full, axis)


def broadcast_coords(src_shape, dst_coords) -> tuple:
    """numpy broadcasting: ``src`` coordinates of destination coordinates (size-1 dims read index 0)."""
    extra = len(dst_coords) - len(src_shape)
    return tuple(arith.ZERO if s == 1 else c for s, c in zip(src_shape, dst_coords[extra:]))


def canonical_owner(layout, shape, coords, env: dict) -> ir.Expr:
    """True in the one thread that holds element ``coords`` canonically (its replica-free coordinates): the
    thread that writes a replicated element, so that no two threads write it."""
    cond = ir.Const(True, "bool")
    for a, coord in env.items():
        cond = arith.land(cond, arith.cmp("==", coord, axis_expr(layout, tuple(shape), coords, a)))
    return cond


def thread_env(layout, threads: int, cluster: int = 1, scope: str | None = None) -> tuple:
    """``(env, extents)``: the IR coordinate and the number of values of each thread axis of ``layout``
    for an operator at ``scope`` (see ``thread_coord``)."""
    axes = thread_axes(layout)
    ext = {a: thread_extent(a, threads, cluster) for a in axes}
    if "warp" in ext and _warp_in_warpgroup(layout, scope):
        ext["warp"] = min(4, ext["warp"])
    return {a: thread_coord(a, layout, cluster, scope) for a in axes}, ext


def owned_slots(layout, shape, threads: int, cluster: int = 1, scope: str | None = None):
    """``(owns, [(reg slot, logical coords)])`` of the running thread (see ``lowering.owned``)."""
    env, ext = thread_env(layout, threads, cluster, scope)
    return owned(layout, tuple(shape), env, ext)

