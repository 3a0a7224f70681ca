"""CUDA schedule for register tensors to and from global memory in vectors of 2, 4 or 8 elements.

``copy_registers_vectorized`` (CUDA, cta/warpgroup/warp scope): a register tensor stored to, or loaded
from, a row-major global tensor. When each thread holds its elements in groups of ``v`` registers
``(v*g, ..., v*g + v - 1)`` that are neighbours along the last dim, and the layouts prove every group's
address a multiple of ``v``, each group is one access of ``v`` elements -- 16, 8 or 4 bytes: the widest
that holds. The accumulators of mma/wgmma pair their registers (columns ``2t, 2t + 1``: 8-byte f32
stores); a row-per-warp layout with four consecutive columns per lane (``S[(R,8,32,4):(...,4@reg,1@lane,
1@reg)]``) moves 16 bytes at a time. Whether the registers group is checked on the layout's ownership
table; the alignment from the lowering context's divisors (constants, loop variables, stated multiples,
the kernel's divisibility specialisation), like the other vector copies.

>>> import dsl
>>> "copy_registers_vectorized" in [s.name for s in dsl.schedules_for("copy", "warpgroup", "cuda")]
True
"""

from __future__ import annotations

import numpy as np

from axe.owner_table import base_coords
from lowering import ir
from lowering.ir import arith

from .. import operands
from ..irutil import when
from .predicates import partition_ok
from .registry import schedule

_BYTES = {"f32": 4, "i32": 4, "f16": 2, "bf16": 2}


def register_groups(layout, shape: tuple, v: int) -> str | None:
    """None when each thread's registers ``v*g .. v*g + v - 1`` hold neighbours along the last dim (in
    order, within one row), else why not.

    >>> import axe
    >>> register_groups(axe.Layout.parse("S[(8,4,2):(4@lane,1@lane,1@reg)]"), (8, 8), 2) is None
    True
    >>> register_groups(axe.Layout.parse("S[(4,8,32,4):(1@warp,4@reg,1@lane,1@reg)]"), (4, 1024), 4) is None
    True
    >>> register_groups(axe.Layout.parse("S[(2,8,4):(1@reg,4@lane,1@lane)]"), (16, 4), 2)
    'registers 2g..2g+1 of a thread are not neighbours along the last dim'
    """
    if layout.replica:
        return "the register tensor is replicated"
    if "reg" not in layout.axes:
        return "each thread holds one element"
    why = f"registers {v}g..{v}g+{v - 1} of a thread are not neighbours along the last dim"
    axes = tuple(operands.thread_axes(layout)) + ("reg",)
    table = base_coords(layout, axes)
    lead = np.flatnonzero(table[:, -1] % v == 0)
    if v * len(lead) != len(table) or (lead % shape[-1] > shape[-1] - v).any():
        return why
    for j in range(1, v):
        want = table[lead].copy()
        want[:, -1] += j
        if not (table[lead + j] == want).all():
            return why
    return None


def paired_registers(layout, shape: tuple) -> str | None:
    """``register_groups(layout, shape, 2)``, with the older message."""
    why = register_groups(layout, shape, 2)
    return why and why.replace("2g..2g+1", "2r and 2r+1")


def _sides(op):
    """(register view, global view, whether the copy stores the registers)."""
    dst, src = op.operands
    return (src, dst, True) if operands.kind(src) == "distributed" else (dst, src, False)


def _plan(op, ctx):
    """``(v, owns, [(first register, global buffer, global index)])`` with ``v`` the widest group (2, 4 or 8
    elements, at most 16 bytes) the layouts allow; ``(reason, None, None)`` when none does."""
    regs, mem, _ = _sides(op)
    shape, b = operands.static_shape(regs.buffer), _BYTES[regs.buffer.dtype]
    why, refs = None, None
    for v in (16 // b, 8 // b, 4 // b):
        if v < 2:
            continue
        why = register_groups(regs.buffer.layout, shape, v)
        if why:
            continue
        if refs is None:    # what the thread owns, once, and only for a layout that groups at all
            owns, slots = operands.owned_slots(regs.buffer.layout, shape, ctx.threads, scope=op.scope)
            refs = [(reg, *operands.ref(mem, full)) for reg, full in slots]
        groups = [g for g in refs if g[0] % v == 0]
        if any(ctx.divisor(gi) % v for _, _, gi in groups):
            why = (f"a group's address is not provably a multiple of {v} elements (specialise the row pitch on "
                   f"a multiple of 16)")
            continue
        return v, owns, groups
    return why, None, None


def _ok(op, ctx):
    if getattr(ctx, "target", "cpu") != "cuda":
        return "CUDA only"
    if op.op != "copy":
        return "copies"
    dst, src = op.operands
    kinds = (operands.kind(dst), operands.kind(src))
    if "distributed" not in kinds:
        return "a register tensor to or from global memory"
    regs, mem, _ = _sides(op)
    if mem.buffer.scope != "global" or mem.buffer.layout is not None:
        return "a register tensor to or from a row-major global tensor"
    if regs.buffer.dtype not in _BYTES or mem.buffer.dtype != regs.buffer.dtype:
        return "2- or 4-byte elements of the same dtype on both sides"
    if tuple(regs.shape) != operands.static_shape(regs.buffer) or any(o != 0 for o in regs.offsets):
        return "the whole register tensor"
    ok = partition_ok(op)
    if ok is not True:
        return ok
    v = _plan(op, ctx)[0]
    return True if isinstance(v, int) else v


def lower(op, ctx) -> tuple:
    regs, _, store = _sides(op)
    v, owns, groups = _plan(op, ctx)
    body = []
    for reg, gb, gi in groups:
        args = (gb, gi, regs.buffer, arith.const(reg)) if store else (regs.buffer, arith.const(reg), gb, gi)
        body.append(ir.Evaluate(ir.Call("copy_vec", (*args, arith.const(v)), "i32", loc=op.loc), loc=op.loc))
    return when(owns, body, op.loc)


schedule("copy", scope="any", target="cuda", name="copy_registers_vectorized", priority=60, when=_ok)(lower)
