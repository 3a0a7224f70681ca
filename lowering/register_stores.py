"""CUDA schedule for stores of register tensors to global memory in pairs: an epilogue's 8-byte stores.

``copy_registers_paired`` (CUDA, cta/warpgroup/warp scope): when every thread holds its elements in
register pairs ``(2r, 2r + 1)`` that are neighbours along the last dim (the mma and wgmma accumulators
do: columns ``2t, 2t + 1``), and the layouts prove every pair's address even, each pair is one store of
two elements (``float2`` for f32, one 32-bit word for f16/bf16) instead of two. Whether the registers
pair up is checked on the layout's ownership table; the alignment from the lowering context's divisors
(constants, loop variables, the kernel's divisibility specialisation), like the other vector copies.

>>> import dsl
>>> "copy_registers_paired" in [s.name for s in dsl.schedules_for("copy", "warpgroup", "cuda")]
True
"""

from __future__ import annotations

import numpy as np

from dsl import arith as A
from dsl import ir
from dsl.schedule import schedule

from . import operands as O
from .elementwise import _partition_ok
from .irutil import when
from .owner_table import base_coords


def paired_registers(layout, shape: tuple) -> str | None:
    """None when each thread's registers ``2r`` and ``2r + 1`` hold neighbours along the last dim, else why
    not.

    >>> import axe
    >>> paired_registers(axe.Layout.parse("S[(8,4,2):(4@lane,1@lane,1@reg)]"), (8, 8)) is None
    True
    >>> paired_registers(axe.Layout.parse("S[(2,8,4):(1@reg,4@lane,1@lane)]"), (16, 4))
    'registers 2r and 2r+1 of a thread are not neighbours along the last dim'
    """
    if layout.replica:
        return "the register tensor is replicated"
    if "reg" not in layout.axes:
        return "each thread holds one element"
    axes = tuple(O.thread_axes(layout)) + ("reg",)
    table = base_coords(layout, axes)
    even = np.flatnonzero(table[:, -1] % 2 == 0)
    if 2 * len(even) != len(table) or (even % shape[-1] == shape[-1] - 1).any():
        return "registers 2r and 2r+1 of a thread are not neighbours along the last dim"
    want = table[even].copy()
    want[:, -1] += 1
    if not (table[even + 1] == want).all():
        return "registers 2r and 2r+1 of a thread are not neighbours along the last dim"
    return None


def _pairs(op, ctx):
    """``(owns, [(reg, dst buffer, dst index)])`` for the even register of every pair the thread holds."""
    dst, src = op.operands
    owns, slots = O.owned_slots(src.buffer.layout, O.static_shape(src.buffer), ctx.threads, scope=op.scope)
    return owns, [(reg, *O.ref(dst, full)) for reg, full in slots if reg % 2 == 0]


def _ok(op, ctx):
    if getattr(ctx, "backend", "cpu") != "cuda":
        return "CUDA only"
    if op.op != "copy":
        return "copies"
    dst, src = op.operands
    if O.kind(src) != "distributed" or dst.buffer.scope != "global" or dst.buffer.layout is not None:
        return "a register tensor into a row-major global tensor"
    if src.buffer.dtype not in ("f32", "i32", "f16", "bf16"):
        return "2- or 4-byte elements"
    if tuple(src.shape) != O.static_shape(src.buffer) or any(o != 0 for o in src.offsets):
        return "the whole register tensor"
    ok = _partition_ok(op)
    if ok is not True:
        return ok
    why = paired_registers(src.buffer.layout, O.static_shape(src.buffer))
    if why:
        return why
    if any(ctx.divisor(di) % 2 for _, _, di in _pairs(op, ctx)[1]):
        return "a pair's address is not provably even (specialise the row pitch on a multiple of 16)"
    return True


def lower(op, ctx) -> tuple:
    src = op.operands[1]
    owns, pairs = _pairs(op, ctx)
    body = [ir.Evaluate(ir.Call("copy_vec", (db, di, src.buffer, A.const(reg), A.const(2)), "i32", loc=op.loc),
                        loc=op.loc) for reg, db, di in pairs]
    return when(owns, body, op.loc)


schedule("copy", scope="any", backend="cuda", name="copy_registers_paired", when=_ok)(lower)
