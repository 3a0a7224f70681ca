"""CUDA schedule ``copy_stmatrix`` (sm_90+): a register tensor of f16/bf16 laid out as mma or wgmma fragments
copied into shared memory with ``stmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16``, the mirror of the
``ldmatrix`` fragment loads of ``gemm_mma_cta`` (e.g. an epilogue storing an f16 accumulator tile).

What stmatrix stores is the ``ldmatrix`` preset read backwards (``axe.presets.nvidia.ldmatrix``): register
``2j + e`` of lane ``l`` goes to matrix ``j`` at row ``l // 4``, column ``2 (l % 4) + e`` (with ``.trans``: row
``2 (l % 4) + e``, column ``l // 4``), and lane ``8j + i`` gives the 16-byte aligned shared address of row
``i`` of matrix ``j``. The schedule proves from the source layout, for every warp and register pair, that the
pair holds an 8x8 block of the tensor in exactly that arrangement (rows along the destination's
non-contiguous dim, 8 elements along its contiguous dim, starting on a multiple of 8), groups consecutive
pairs into x4 / x2 / x1 stores where the blocks' positions depend linearly on the matrix index, and declines
with the reason otherwise (``copy_partition`` then stores element by element).

The destination must be a 2-d shared region with one contiguous dim, the other's stride and the region's
offset along the contiguous dim multiples of 8 elements (what the lowering context proves); no swizzles.
As for any copy into shared memory, the barrier that makes the tile visible to other threads is the user's.

>>> import dsl
>>> "copy_stmatrix" in [s.name for s in dsl.schedules_for("copy", "cta", "cuda")]
True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from axe.owner_table import base_coords
from lowering import ir
from lowering.ir import arith

from .. import operands
from ..irutil import when
from ..owned import owned
from .predicates import row_strides
from .registry import schedule

_LIMIT = {"warp": {"lane"}, "warpgroup": {"lane", "warp"}, "cta": {"lane", "warp", "warpgroup"}}


def _contiguous_dim(v: ir.TensorView, ctx):
    """``(dim, None)``: the dim of the shared region ``v`` along which 8-element runs are contiguous and
    16-byte aligned; or ``(None, reason)``."""

    st = row_strides(v)
    if st is None or len(st) != 2:
        return None, (f"{v.buffer.name!r} is not a 2-d strided shared tensor with a contiguous dim (swizzled or "
                      f"permuted layouts are stored element by element)")
    ones = [d for d in (0, 1) if isinstance(st[d], ir.Const) and st[d].value == 1]
    if not ones:
        return None, f"no dim of {v.buffer.name!r} is contiguous"
    cdim = ones[-1]
    if not ctx.multiple_of(st[1 - cdim], 8):
        return None, f"the stride of dim {1 - cdim} of {v.buffer.name!r} is not a multiple of 8 elements (16 bytes)"
    off = v.offsets[cdim]
    if not ctx.multiple_of(arith.const(off), 8):
        return None, f"the region of {v.buffer.name!r} does not start on a 16-byte boundary along dim {cdim}"
    return cdim, None


def _where(layout, shape: tuple):
    """``(table, None)``: ``table[w, lane, reg]`` = the logical (row, col) held there, ``w`` numbering the
    warps the layout uses; or ``(None, reason)`` unless every lane of every such warp holds the same number
    of elements, each element exactly once."""
    axes = operands.thread_axes(layout)
    if layout.replica:
        return None, "the layout replicates elements (stmatrix writes each register once)"
    if "lane" not in axes or set(axes) - {"lane", "warp", "warpgroup"}:
        return None, f"the layout must spread over lanes (and warps), not {axes}"
    if "warpgroup" in axes and "warp" not in axes:
        return None, "a layout over warpgroups must also name the warp in each"
    bc = base_coords(layout, ("warpgroup", "warp", "lane", "reg"))
    wkeys, w = np.unique(bc[:, :2], axis=0, return_inverse=True)
    w = w.reshape(-1)
    if bc[:, 2].max() >= 32:
        return None, "the layout's lane coordinates go past 31"
    regs = int(bc[:, 3].max()) + 1
    if regs % 2 or len(bc) != len(wkeys) * 32 * regs:
        return None, "every lane of each warp must hold the same even number of elements (register pairs)"
    table = np.full((len(wkeys), 32, regs, 2), -1, np.int64)
    rows, cols = np.unravel_index(np.arange(len(bc)), shape)
    table[w, bc[:, 2], bc[:, 3]] = np.stack([rows, cols], axis=1)
    if (table < 0).any():
        return None, "some (warp, lane, register) holds no element (the layout is not a full fragment tiling)"
    return table, None


def _pair_mode(m: np.ndarray):
    """``m`` (32, 2, 2): what each lane's register pair holds, as (row, contiguous) coordinates of the
    destination. ``(trans, None)`` when the 64 elements are one 8x8 matrix as stmatrix stores it (rows along
    the first coordinate), else ``(None, reason)``."""
    lane = np.arange(32)[:, None]
    e = np.arange(2)[None, :]
    u0, v0 = (int(x) for x in m[0, 0])
    plain = np.stack(np.broadcast_arrays(u0 + lane // 4, v0 + 2 * (lane % 4) + e), axis=-1)
    trans = np.stack(np.broadcast_arrays(u0 + 2 * (lane % 4) + e, v0 + lane // 4), axis=-1)
    if (m == plain).all():
        return False, None
    if (m == trans).all():
        return True, None
    bad = np.argwhere((m != plain).any(axis=-1))[0]
    return None, (f"lane {bad[0]} register {bad[1]} holds {tuple(int(x) for x in m[bad[0], bad[1]])}, where "
                  f"stmatrix puts {tuple(int(x) for x in plain[bad[0], bad[1]])} (nor the .trans arrangement)")


@lru_cache(maxsize=256)
def plan(layout, shape: tuple, cdim: int):
    """``(stores, None)`` with one ``(register offset, num, trans, step1, step2)`` per stmatrix (``step1`` /
    ``step2``: how far matrix ``j``'s block moves per bit 0 / 1 of ``j``, in (row, contiguous) coordinates),
    the same for every warp; or ``(None, reason)``."""
    table, why = _where(layout, shape)
    if why:
        return None, why
    if cdim == 0:
        table = table[..., ::-1]                    # (row, contiguous) coordinates of the destination
    nw, _, regs, _ = table.shape
    modes, bases = [], []
    for p in range(regs // 2):
        found = set()
        for w in range(nw):
            trans, why = _pair_mode(table[w, :, 2 * p:2 * p + 2])
            if why:
                return None, f"registers {2 * p}, {2 * p + 1}: {why}" + (f" (warp {w})" if nw > 1 else "")
            found.add(trans)
        if len(found) != 1:
            return None, f"registers {2 * p}, {2 * p + 1} need .trans in some warps and not in others"
        base = table[:, 0, 2 * p]                   # (warps, 2): where each warp's matrix starts
        if (base[:, 1] % 8).any():
            return None, (f"registers {2 * p}, {2 * p + 1} hold a block starting at {tuple(int(x) for x in base[0])}, "
                          f"off a 16-byte boundary")
        modes.append(found.pop())
        bases.append(base)

    def step(p, q):
        d = bases[q] - bases[p]
        return tuple(int(x) for x in d[0]) if (d == d[0]).all() else None

    stores, p = [], 0
    while p < len(modes):
        for num in (4, 2, 1):
            if p + num > len(modes) or len(set(modes[p:p + num])) != 1:
                continue
            s1 = step(p, p + 1) if num > 1 else (0, 0)
            s2 = step(p, p + 2) if num > 2 else (0, 0)
            if s1 is None or s2 is None or (num == 4 and step(p, p + 3) != tuple(a + b for a, b in zip(s1, s2))):
                continue
            stores.append((2 * p, num, modes[p], s1, s2))
            p += num
            break
    return tuple(stores), None


def _ok(op, ctx):
    if getattr(ctx, "target", "cpu") != "cuda" or not ctx.arch_at_least(9):
        return "CUDA sm_90+ only (stmatrix)"
    if op.op != "copy" or op.scope not in _LIMIT:
        return "copies at warp, warpgroup or cta scope"
    dst, src = op.operands
    if operands.kind(src) != "distributed" or operands.kind(dst) != "memory" or dst.buffer.scope != "shared":
        return "needs a register tensor source and a shared-memory destination"
    if src.buffer.dtype not in ("f16", "bf16") or dst.buffer.dtype != src.buffer.dtype:
        return (f"stmatrix stores 16-bit values as they are: the source is {src.buffer.dtype}, the destination "
                f"{dst.buffer.dtype}")
    shape = operands.static_shape(src.buffer)
    if len(shape) != 2 or any(o != 0 for o in src.offsets) or tuple(src.shape) != shape:
        return "the source must be a whole 2-d register tensor"
    if tuple(dst.shape) != shape:
        return f"the destination region {tuple(dst.shape)} must have the source's shape {shape}"
    axes = set(operands.thread_axes(src.buffer.layout))
    if not axes <= _LIMIT[op.scope]:
        extra = sorted(axes - _LIMIT[op.scope])
        return f"the layout of {src.buffer.name!r} spreads over {extra}, beyond one {op.scope}"
    cdim, why = _contiguous_dim(dst, ctx)
    if why:
        return why
    _, why = plan(src.buffer.layout, shape, cdim)
    return f"{src.buffer.name!r}: {why}" if why else True


def lower(op, ctx) -> tuple:
    dst, src = op.operands
    layout, shape = src.buffer.layout, operands.static_shape(src.buffer)
    cdim, _ = _contiguous_dim(dst, ctx)
    stores, _ = plan(layout, shape, cdim)
    owns, _ = operands.owned_slots(layout, shape, ctx.threads, scope=op.scope)    # who holds what, as copy_partition
    env, ext = operands.thread_env(layout, ctx.threads, scope=op.scope)
    env["lane"] = arith.ZERO
    _, slots = owned(layout, shape, env, ext)
    lane0 = dict(slots)                              # register -> what lane 0 holds there (IR of the warp ids)
    lane = ir.ThreadIdx("lane")
    i = ir.BinOp("&", lane, arith.const(7))
    j = ir.BinOp(">>", lane, arith.const(3))
    bits = (ir.BinOp("&", j, arith.const(1)), ir.BinOp("&", ir.BinOp(">>", j, arith.const(1)), arith.const(1)))
    out = []
    for off, num, trans, s1, s2 in stores:
        x0, y0 = lane0[off]
        u, v = (x0, y0) if cdim == 1 else (y0, x0)
        u = arith.add(u, i)
        for bit, s, used in ((bits[0], s1, num > 1), (bits[1], s2, num > 2)):
            if used:
                u, v = arith.add(u, arith.mul(bit, s[0])), arith.add(v, arith.mul(bit, s[1]))
        _, idx = operands.ref(dst, (u, v) if cdim == 1 else (v, u))
        call = ir.Call("stmatrix", (dst.buffer, idx, src.buffer, arith.const(off), arith.const(num),
                                   ir.Const(trans, "bool")),
                       "i32", loc=op.loc)
        out.append(ir.Evaluate(call, loc=op.loc))
    return when(owns, out, op.loc)


schedule("copy", scope="any", target="cuda", name="copy_stmatrix", priority=70, when=_ok)(lower)
