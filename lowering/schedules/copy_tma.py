"""sm_90 copies global -> shared with the Tensor Memory Accelerator (``cp.async.bulk.tensor``).

``copy_tma`` (CUDA, sm_90+, cta scope): the destination is a K-major swizzled tile as the TMA writes it
(``axe.presets.nvidia.tma_smem_tile``, 32/64/128-byte swizzle), the source a region of a 2-d row-major
global tensor. One elected thread initialises an mbarrier, announces the bytes and issues one TMA load
per swizzle-wide column block (box = swizzle width x rows, at the region's coordinates; rows past the
tensor's end are zero-filled by the TMA); every thread waits on the mbarrier. The tensor map (a 128-byte
``CUtensorMap``) is built at launch from the argument's pointer, shape and strides (``backends/cuda/run.py``)
and passed as a ``__grid_constant__`` parameter; the emitter records which maps a kernel needs.

The CPU backend runs ``tma_load`` as a copy of the box through the tile's layout.

>>> import dsl
>>> "copy_tma" in [s.name for s in dsl.schedules_for("copy", "cta", "cuda")]
True
"""

from __future__ import annotations

import axe
from axe.presets import nvidia
from lowering import ir
from lowering.ir import arith, sync

from .. import operands
from .predicates import rows_aligned
from .registry import schedule

_SWIZZLE = {1: 32, 2: 64, 3: 128}            # swizzle bits -> bytes


def _tile(v: ir.TensorView):
    """(swizzle bytes, rows, cols) when ``v`` is all columns of a run of rows of a K-major TMA tile (a whole
    tile, or one stage of a tile holding several stages one above the other), else None."""
    b = v.buffer
    lay = b.layout
    if not isinstance(lay, axe.SwizzleLayout) or b.dtype not in ("f16", "bf16"):
        return None
    shape = operands.static_shape(b)
    if shape is None or len(shape) != 2 or v.shape[1] != shape[1] or v.offsets[1] != 0 \
            or not isinstance(v.shape[0], int):
        return None
    sw = _SWIZZLE.get(lay.swizzle.bits)
    try:
        if sw is None or lay != nvidia.tma_smem_tile(shape[0], shape[1], 16, sw, "K"):
            return None
    except axe.AxeError:
        return None
    return sw, v.shape[0], shape[1]


def _ok(op, ctx):
    if getattr(ctx, "target", "cpu") != "cuda" or not ctx.arch_at_least(9):
        return "CUDA sm_90+ only (TMA)"
    if op.op != "copy":
        return "copies"
    dst, src = op.operands
    if op.scope not in ("cta", "warpgroup", "warp"):
        return f"runs at cta, warpgroup or warp scope, not {op.scope}"
    if dst.buffer.scope != "shared" or _tile(dst) is None:
        return "the destination must be all columns of a K-major swizzled shared tile (nvidia.tma_smem_tile)"
    if not rows_aligned(dst, ctx):
        return "the destination's first row must be a provable multiple of 8 (a whole swizzle atom)"
    if src.buffer.scope != "global" or src.buffer.layout is not None or len(src.buffer.shape) != 2:
        return "the source must be a region of a 2-d row-major global tensor"
    if not ctx.multiple_of(src.buffer.shape[1], 8):
        return "the global row pitch must be a multiple of 16 bytes (TMA); specialise on a multiple of 16"
    if not op.attr("async", False) and op.scope != "cta":
        return "a synchronous TMA copy runs at cta scope (its mbarrier is the CTA's); use dsl.copy_async"
    sw, rows, cols = _tile(dst)
    if rows > 256:
        return f"a TMA box has at most 256 rows, got {rows}"
    return True


def lower(op, ctx) -> tuple:
    dst, src = op.operands
    sw, rows, cols = _tile(dst)
    width = sw // 2
    tag = ir.tag(op)
    r0 = arith.const(src.offsets[0])
    c0 = arith.const(src.offsets[1])
    call = lambda name, *args: ir.Evaluate(ir.Call(name, args, "i32", loc=op.loc), loc=op.loc)  # noqa: E731
    asynchronous = op.attr("async", False)
    if asynchronous:  # dsl.copy_async: completes on the user's mbarrier; dsl.wait waits for it
        mbar, idx = op.attr("barrier"), op.attr("barrier_index")
    else:
        mbar, idx = ir.Buffer(f"mbar{tag}", "i64", 1, "shared", (arith.ONE,)), arith.ZERO
    d0 = arith.const(dst.offsets[0])
    loads = [call("mbar_expect_tx", mbar, idx, arith.const(rows * cols * 2))]
    for j in range(cols // width):
        loads.append(call("tma_load", dst.buffer, d0, arith.const(j * width), src.buffer, arith.add(c0, j * width), r0,
                          arith.const(width), arith.const(rows), mbar, idx, arith.const(sw)))
    elect = sync.elect(op.scope)     # one thread of the scope issues the copies
    if asynchronous:
        return (ir.If(elect, tuple(loads), loc=op.loc),)
    bar = ir.Barrier(op.scope, loc=op.loc)
    return (ir.Alloc(mbar, loc=op.loc),
            ir.If(elect, (call("mbar_init", mbar, idx, arith.ONE),), loc=op.loc), bar,
            ir.If(elect, tuple(loads), loc=op.loc),
            call("mbar_wait", mbar, idx, arith.ZERO), bar,
            ir.If(elect, (call("mbar_inval", mbar, idx),), loc=op.loc))


schedule("copy", scope="any", target="cuda", name="copy_tma", priority=90, when=_ok, asynchronous=True)(lower)
