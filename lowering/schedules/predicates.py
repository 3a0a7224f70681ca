"""Predicates several schedule families share: what kind each operand is, which register tensor drives an
element-wise operator, whether the threads computing an element hold its register sources, and whether a
row offset into a swizzled tile is a whole swizzle atom.

>>> from lowering import ir
>>> import axe
>>> n = (ir.Const(32, "i32"),)
>>> reg = ir.Buffer("r", "f32", 1, "local", n, axe.Layout.parse("S[32:1@lane]"))
>>> mem = ir.Buffer("g", "f32", 32, "global", n)
>>> op = ir.OpCall("copy", (ir.TensorView(mem, (0,), (32,)), ir.TensorView(reg, (0,), (32,))), "warp")
>>> operand_kinds(op), driving_operand(op), partition_ok(op)
(['memory', 'distributed'], (1, None), True)
"""

from __future__ import annotations

import math

import numpy as np

import axe
from axe.owner_table import base_coords, replica_vectors
from lowering import ir
from lowering.ir import arith

from .. import operands

VECTOR_BYTES = 16   # the widest vector access: 16-byte loads/stores and cp.async


def operand_kinds(op):
    """Each operand's kind (``operands.kind``): memory, distributed (registers over threads), private, device."""
    return [operands.kind(v) for v in op.operands]


def no_device_operands(op):
    """True, or why not: operands sharded over devices are for kernel-scope collectives."""
    if "device" in operand_kinds(op):
        return "operands sharded over devices take kernel-scope collectives (see lowering/split.py)"
    return True


def driving_operand(op):
    """(index of the driving operand, reason or None)."""
    kinds = operand_kinds(op)
    if kinds[0] == "distributed":
        return 0, None
    dist = [i for i, k in enumerate(kinds) if k == "distributed"]
    if op.op in ("copy", "pointwise") and len(dist) == 1 and tuple(op.operands[dist[0]].shape) == \
            tuple(op.operands[0].shape) and kinds[0] == "memory":
        return dist[0], None
    if not dist:
        return None, "no operand is a register tensor distributed over threads"
    return None, "a register tensor source needs a register destination or a same-shape memory destination"


def same_owner(op, drv: int):
    """Every thread that computes an element holds each register source's element too (checked for all
    elements at once with ownership tables)."""
    dst = op.operands[0]
    d = op.operands[drv]
    d_axes = operands.thread_axes(d.buffer.layout)
    d_shape = operands.static_shape(d.buffer)
    coords = np.indices(tuple(dst.shape)).reshape(len(dst.shape), -1)
    d_flat = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, d.offsets)), d_shape)
    for i, s in enumerate(op.operands[1:], 1):
        if i == drv or operands.kind(s) != "distributed":
            continue
        s_axes = operands.thread_axes(s.buffer.layout)
        if not set(s_axes) <= set(d_axes):
            return (f"register source {s.buffer.name!r} is spread over {s_axes}, the driving tensor over {d_axes}: "
                    f"its elements live in other threads (exchange them with dsl.copy through shared memory)")
        if any(not isinstance(o, int) for o in s.offsets):
            return f"register source {s.buffer.name!r} has a region with dynamic offsets"
        s_shape = operands.static_shape(s.buffer)
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


def partition_ok(op):
    """Whether an element-wise operator can be driven by its register tensor (``*_partition``), or why not."""
    if op.scope not in ("cta", "warpgroup", "warp"):
        return f"runs at cta, warpgroup or warp scope, not {op.scope}"
    ok = no_device_operands(op)
    if ok is not True:
        return ok
    if "private" in operand_kinds(op):
        return "per-thread arrays are operands of thread-scope operators"
    drv, why = driving_operand(op)
    if why:
        return why
    d = op.operands[drv]
    if any(not isinstance(o, int) for o in d.offsets):
        return "the driving register tensor's region must have static offsets"
    limit = {"warp": {"lane"}, "warpgroup": {"lane", "warp"}}.get(op.scope)
    axes = set(operands.thread_axes(d.buffer.layout))
    if any("cta" in operands.thread_axes(v.buffer.layout) for v in op.operands if operands.kind(v) == "distributed"):
        return "a register tensor spread over the CTAs of a cluster takes cluster-scope operators"
    if limit is not None and not axes <= limit:
        return f"layout of {d.buffer.name!r} spreads over {sorted(axes - limit)}, beyond one {op.scope}"
    return same_owner(op, drv)


def rows_aligned(v: ir.TensorView, ctx) -> bool:
    """Whether a row offset into a swizzled tile is a multiple of 8 rows (a whole swizzle atom), so that
    the rows from there on are laid out (and swizzled) as a tile of their own."""
    return ctx.multiple_of(arith.const(v.offsets[0]), 8)


def row_strides(v: ir.TensorView):
    """Element strides of each dim of the buffer (IR or ints), or None when not a strided row-major-like
    buffer whose innermost dim is contiguous."""
    b = v.buffer
    if b.layout is None:
        strides, acc = [], arith.ONE
        for d in reversed(b.shape):
            strides.append(acc)
            acc = arith.mul(acc, d)
        return tuple(reversed(strides))
    shape = operands.static_shape(b)
    try:
        g, seps = b.layout.group(shape)
    except Exception:  # a layout that does not group by the shape is not a strided buffer
        return None
    out = []
    for d in range(len(shape)):
        its = [it for it in g.shard[seps[d]:seps[d + 1]] if it.extent != 1]
        if len(its) > 1 or b.layout.replica or b.layout.offset.get("m", 0):
            return None
        out.append(arith.const(its[0].stride if its else 0))
    return tuple(out)


def contiguous_chunks(v: ir.TensorView, vec: int, ctx):
    """None when every aligned ``vec``-element chunk along the innermost dim of ``v`` is contiguous and starts
    on a 16-byte boundary; otherwise the reason."""
    b = v.buffer
    layout = b.layout
    if layout is None:
        st = row_strides(v)
        if not all(ctx.multiple_of(x, vec) for x in st[:-1]):
            return f"the row stride of {b.name!r} is not known to be a multiple of {vec} elements"
    else:
        inner = layout.layout if isinstance(layout, axe.SwizzleLayout) else layout
        if isinstance(layout, axe.SwizzleLayout) and layout.swizzle.base < int(math.log2(vec)):
            return f"the swizzle of {b.name!r} moves pieces smaller than {VECTOR_BYTES} bytes"
        if inner.replica or inner.offset.get("m", 0) % vec:
            return f"the layout of {b.name!r} has replicas or an unaligned offset"
        g, seps = inner.group(operands.static_shape(b))
        last = [it for it in g.shard[seps[-2]:seps[-1]] if it.extent != 1]
        if not last or last[-1].stride != 1 or last[-1].extent % vec:
            return f"{b.name!r} is not contiguous in runs of {vec} elements along its innermost dim"
        if any(it.stride % vec for it in g.shard if it is not last[-1] and it.extent != 1):
            return f"a stride of {b.name!r}'s layout is not a multiple of {vec} elements"
    off = v.offsets[-1]
    if not ctx.multiple_of(arith.const(off), vec):
        return f"the region of {b.name!r} does not start on a {VECTOR_BYTES}-byte boundary"
    return None
