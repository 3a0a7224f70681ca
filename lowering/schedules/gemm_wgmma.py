"""sm_90a GEMM schedule: ``wgmma.mma_async.m64nNk16`` on operands in 128-byte-swizzled shared tiles.

``gemm_wgmma`` (CUDA, one warpgroup): C (64, N) is a register tensor laid out as the wgmma accumulator
(``axe.presets.nvidia.wgmma_accumulator(N)``), A (64, K) and B (N, K) (``transpose_b=True``: both
K-major) live in shared memory laid out as the TMA writes them with a 128-byte swizzle
(``axe.presets.nvidia.tma_smem_tile(rows, K)``), which is exactly what a wgmma shared-memory descriptor
with 128-byte swizzle reads (8-row atoms 1024 bytes apart). The schedule makes the shared writes visible
to the async proxy, fences the accumulators, issues one wgmma per 16-deep k step (each operand's
descriptor starting at the unswizzled address of its k column), commits and waits.

On the CPU the same IR runs through a warpgroup emulation (``backends/cpu/wgmma.py``); on a machine
without a GPU that is how this schedule is checked.

>>> import dsl
>>> "gemm_wgmma" in [s.name for s in dsl.schedules_for("gemm", "cta", "cuda")]
True
"""

from __future__ import annotations

import axe
from axe.presets import nvidia
from lowering import ir
from lowering.ir import arith

from .. import operands
from ..irutil import statements
from .predicates import rows_aligned
from .registry import schedule


def _tile_ok(v: ir.TensorView, rows: int, what: str, ctx):
    """``v`` is ``rows`` rows (all columns) of a 128-byte-swizzled K-major shared tile, from a row that starts
    a swizzle atom: a whole tile, or one stage (or one warpgroup's rows) of a taller one."""
    b = v.buffer
    if b.scope != "shared" or b.dtype not in ("f16", "bf16"):
        return f"{what} must be an f16/bf16 shared tensor"
    shape = operands.static_shape(b)
    if shape is None or len(shape) != 2 or v.shape[1] != shape[1] or v.offsets[1] != 0:
        return f"{what} must be all columns of a 2-d shared tensor"
    if v.shape[0] != rows or shape[1] % 64:
        return f"{what} must be ({rows}, K) with K a multiple of 64, got {tuple(v.shape)}"
    want = nvidia.tma_smem_tile(shape[0], shape[1], 16, 128, "K")
    if not isinstance(b.layout, axe.SwizzleLayout) or b.layout != want:
        return f"{what} must be laid out as the 128-byte-swizzled K-major tile {want}"
    if not rows_aligned(v, ctx):
        return f"{what}'s first row must be a provable multiple of 8 (a whole swizzle atom)"
    return True


def accumulator(groups: int, n: int) -> axe.Layout:
    """The (64 * groups, n) accumulator of ``groups`` warpgroups (``nvidia.wgmma_accumulator``).

    >>> accumulator(1, 8) == nvidia.wgmma_accumulator(8)
    True
    """
    return nvidia.wgmma_accumulator(n, warpgroups=groups)


def _ok(op, ctx):
    if getattr(ctx, "target", "cpu") != "cuda" or not ctx.arch_at_least(9, "a") or ctx.arch_at_least(10):
        return "CUDA sm_90a only (wgmma; Blackwell has tcgen05 instead)"
    if op.scope not in ("cta", "warpgroup"):
        return "cta or warpgroup scope"
    if op.attr("transpose_a", False) or not op.attr("transpose_b", False):
        return "A (64, K) and B (N, K) must both be K-major (transpose_b=True)"
    c, a, b = op.operands
    if operands.kind(c) != "distributed" or c.buffer.dtype != "f32" or \
            tuple(c.shape) != operands.static_shape(c.buffer):
        return "C must be a whole f32 register tensor"
    n = c.shape[1]
    groups = c.shape[0] // 64
    if c.shape[0] % 64 or n % 8 or not 8 <= n <= 256:
        return f"C must be (64 x warpgroups, N) with N a multiple of 8 up to 256, got {tuple(c.shape)}"
    want_threads = 128 * groups if op.scope == "cta" else 128
    if ctx.threads != want_threads and not (op.scope == "warpgroup" and groups == 1):
        return f"C has {groups} warpgroups' rows; the CTA must have {128 * groups} threads, it has {ctx.threads}"
    if c.buffer.layout != accumulator(groups, n):
        return f"C must be laid out as the wgmma accumulator over {groups} warpgroup(s) {accumulator(groups, n)}"
    if a.buffer.dtype != b.buffer.dtype:
        return "A and B must have the same dtype"
    for v, rows, what in ((a, 64 * groups, "A"), (b, n, "B")):
        ok = _tile_ok(v, rows, what, ctx)
        if ok is not True:
            return ok
    return True


def lower(op, ctx) -> tuple:
    c, a, b = op.operands
    n = c.shape[1]
    k = a.shape[1]
    out = []
    if not op.attr("accumulate", True):
        out += [ir.Store(c.buffer, arith.const(r), ir.Const(0.0, "f32"), loc=op.loc) for r in range(n // 2)]
    call = lambda name, *args: ir.Evaluate(ir.Call(name, args, "i32", loc=op.loc), loc=op.loc)  # noqa: E731
    if any(_written_by_threads(v.buffer, ctx.kernel.body) for v in (a, b)):
        # ordinary stores of the scope's threads: visible to the async proxy, and all of them done
        out += [call("fence_proxy_async"), ir.Barrier("warpgroup" if op.scope == "warpgroup" else "cta", loc=op.loc)]
    out.append(call("wgmma_fence"))
    row = arith.const(a.offsets[0])
    if c.shape[0] > 64:     # each warpgroup's rows of A
        row = arith.add(row, arith.mul(ir.ThreadIdx("warpgroup"), 64))
    for k0 in range(0, k, 16):
        out.append(call("wgmma_m64nk16", c.buffer, a.buffer, row, arith.const(k0), b.buffer, arith.const(b.offsets[0]),
                        arith.const(k0), arith.const(n)))
    out.append(call("wgmma_commit"))
    if not op.attr("async", False):   # dsl.gemm_async leaves the group in flight until dsl.gemm_wait
        out.append(call("wgmma_wait", arith.ZERO))
    return tuple(out)


def _written_by_threads(buf: ir.Buffer, stmts) -> bool:
    """Whether threads store into ``buf`` themselves anywhere in the kernel (before lowering). Tiles filled
    only by ``dsl.copy_async`` are written by the TMA, or by a fallback that fences and arrives on the
    mbarrier the consumer waits on: then a wgmma needs neither a proxy fence nor a barrier of its own."""
    return any(isinstance(s, ir.Store) and s.buffer.name == buf.name
               or isinstance(s, ir.OpCall) and s.operands and s.operands[0].buffer.name == buf.name
               and not (s.op == "copy" and s.attr("barrier") is not None) for s in statements(stmts))


schedule("gemm", scope="any", target="cuda", name="gemm_wgmma", priority=30, when=_ok)(lower)
