"""NVIDIA fragment layouts from the PTX ISA, as Axe layouts over (lane, reg) or (warp, lane, reg).

Conventions: the logical shape is the matrix as PTX writes it — A is (M, K), B is (K, N), C/D is
(M, N) — unflattened row-major. ``reg`` is the index of the element within the thread's fragment in
PTX order (``a0, a1, ...``), ``lane`` the lane in the warp and, for warpgroup-wide ``wgmma``
fragments, ``warp`` the warp within the warpgroup. With PTX's ``groupID = lane >> 2`` and
``threadID_in_group = lane % 4``, each layout below is that section's element -> (thread, register)
table.
"""

from __future__ import annotations

from ..errors import AxeError
from ..iter import Iter
from ..layout import Layout
from ..swizzle import SwizzleLayout, smem_swizzle
from ..tile import tile
from .tmem import tcgen05_ld, tcgen05_ld_32x32b, tmem_accumulator

__all__ = [
    "ldmatrix", "mma_m16n8k8", "mma_m16n8k8_tf32", "mma_m16n8k16", "mma_m16n8k32", "tcgen05_ld", "tcgen05_ld_32x32b",
    "tma_smem_tile", "tmem_accumulator", "wgmma_a_fragment", "wgmma_accumulator",
]

_MMA_16816 = {
    # a_i: row g + 8*((i >> 1) & 1), col 2t + (i & 1) + 8*(i >> 2)
    "A": "S[(2,8,2,4,2):(2@reg,4@lane,4@reg,1@lane,1@reg)]",
    # b_i: row 2t + (i & 1) + 8*(i >> 1), col g
    "B": "S[(2,4,2,8):(2@reg,1@lane,1@reg,4@lane)]",
    # c_i: row g + 8*(i >> 1), col 2t + (i & 1)
    "C": "S[(2,8,4,2):(2@reg,4@lane,1@lane,1@reg)]",
}
_MMA_1688 = {
    # a_i: row g + 8*(i >> 1), col 2t + (i & 1): the C/D layout, over a (16, 8) A
    "A": "S[(2,8,4,2):(2@reg,4@lane,1@lane,1@reg)]",
    # b_i: row 2t + i, col g
    "B": "S[(4,2,8):(1@lane,1@reg,4@lane)]",
    "C": _MMA_16816["C"],
}
_MMA_1688_TF32 = {
    # a_i: row g + 8*(i & 1), col t + 4*(i >> 1)
    "A": "S[(2,8,2,4):(1@reg,4@lane,2@reg,1@lane)]",
    # b_i: row t + 4*i, col g
    "B": "S[(2,4,8):(1@reg,1@lane,4@lane)]",
    "C": _MMA_16816["C"],
}
_MMA_16832_8BIT = {
    # a_i: row g + 8*((i >> 2) & 1), col 4t + (i & 3) + 16*(i >> 3)
    "A": "S[(2,8,2,4,4):(4@reg,4@lane,8@reg,1@lane,1@reg)]",
    # b_i: row 4t + (i & 3) + 16*(i >> 2), col g
    "B": "S[(2,4,4,8):(4@reg,1@lane,1@reg,4@lane)]",
    "C": _MMA_16816["C"],
}

_DTYPES_16816 = {"f16", "bf16"}
_DTYPES_1688 = _DTYPES_16816 | {"tf32"}
_DTYPES_16832 = {"s8", "u8", "e4m3", "e5m2"}


def _operand(table: dict, operand: str, what: str) -> Layout:
    key = {"D": "C"}.get(operand, operand)
    if key not in table:
        raise AxeError(f"{what}: operand must be one of A, B, C, D, got {operand!r}")
    return Layout.parse(table[key])


def mma_m16n8k16(operand: str, dtype: str = "f16") -> Layout:
    """``mma.sync.aligned.m16n8k16`` fragment of ``operand`` (A: 16x16, B: 16x8, C/D: 16x8).

    ``dtype`` is the A/B type (f16 or bf16); the C/D layout is the same for f16 and f32 accumulators.

    >>> sorted((c["lane"], c["reg"]) for c in mma_m16n8k16("A").apply(9, 10, shape=(16, 16)))
    [(5, 6)]
    """
    if dtype not in _DTYPES_16816:
        raise AxeError(f"mma_m16n8k16: dtype must be one of {sorted(_DTYPES_16816)}, got {dtype!r}")
    return _operand(_MMA_16816, operand, "mma_m16n8k16")


def mma_m16n8k8(operand: str, dtype: str = "f16") -> Layout:
    """``mma.sync.aligned.m16n8k8`` fragment of ``operand`` (A: 16x8, B: 8x8, C/D: 16x8).

    ``dtype`` is the A/B type: ``"f16"`` or ``"bf16"`` (PTX "Matrix Fragments for mma.m16n8k8",
    .f16/.bf16), or ``"tf32"``, which is :func:`mma_m16n8k8_tf32`. The C/D layout is the same for
    f16 and f32 accumulators (an f16 pair shares a 32-bit register but keeps two ``reg`` indices)
    and for every ``dtype``: ``c_i`` at row ``g + 8*(i >> 1)``, col ``2t + (i & 1)``.

    For f16/bf16 two 16-bit elements share each 32-bit register, so a thread's A elements are pairs
    of adjacent columns: ``a_i`` at row ``g + 8*(i >> 1)``, col ``2t + (i & 1)`` (A is laid out like
    C), and ``b_i`` at row ``2t + i``, col ``g``. With tf32 every element is a 32-bit register of
    its own and the PTX layout differs: ``a_i`` at row ``g + 8*(i & 1)``, col ``t + 4*(i >> 1)``,
    ``b_i`` at row ``t + 4*i``. The names differ because the tf32 preset came first, under a name
    that says its layout is the tf32 one; this function takes ``(operand, dtype)`` like
    :func:`mma_m16n8k16`, and ``mma_m16n8k8(op, "tf32")`` returns the same layout as
    ``mma_m16n8k8_tf32(op)``.

    >>> str(mma_m16n8k8("B"))
    'S[(4,2,8):(1@lane,1@reg,4@lane)]'
    >>> sorted((c["lane"], c["reg"]) for c in mma_m16n8k8("A", "bf16").apply(9, 5, shape=(16, 8)))
    [(6, 3)]
    >>> str(mma_m16n8k8("B", "tf32")) == str(mma_m16n8k8_tf32("B"))
    True
    """
    if not isinstance(dtype, str) or dtype not in _DTYPES_1688:
        raise AxeError(f"mma_m16n8k8: dtype must be one of {sorted(_DTYPES_1688)}, got {dtype!r}")
    if not isinstance(operand, str):
        raise AxeError(f"mma_m16n8k8: operand must be one of A, B, C, D, got {operand!r}")
    # tf32 is mma_m16n8k8_tf32's table; going through it directly keeps this function's name in errors
    return _operand(_MMA_1688_TF32 if dtype == "tf32" else _MMA_1688, operand, "mma_m16n8k8")


def mma_m16n8k8_tf32(operand: str) -> Layout:
    """``mma.sync.aligned.m16n8k8`` with ``.tf32`` inputs (A: 16x8, B: 8x8, C/D: 16x8 f32).

    Also ``mma_m16n8k8(operand, "tf32")``. Not the f16/bf16 layout of :func:`mma_m16n8k8`: a tf32
    element fills a 32-bit register, so ``a_i`` sits at row ``g + 8*(i & 1)``, col ``t + 4*(i >> 1)``
    and ``b_i`` at row ``t + 4*i``, col ``g`` (f16/bf16 pack column pairs ``2t, 2t+1`` into one
    register). The C/D layout is the shared one.

    >>> str(mma_m16n8k8_tf32("B"))
    'S[(2,4,8):(1@reg,1@lane,4@lane)]'
    """
    return _operand(_MMA_1688_TF32, operand, "mma_m16n8k8_tf32")


def mma_m16n8k32(operand: str, dtype: str = "s8") -> Layout:
    """``mma.sync.aligned.m16n8k32`` with 8-bit inputs (s8/u8/e4m3/e5m2; A: 16x32, B: 32x8, C/D: 16x8).

    >>> mma_m16n8k32("A").size
    512
    """
    if dtype not in _DTYPES_16832:
        raise AxeError(f"mma_m16n8k32: dtype must be one of {sorted(_DTYPES_16832)}, got {dtype!r}")
    return _operand(_MMA_16832_8BIT, operand, "mma_m16n8k32")


def ldmatrix(num: int = 1, trans: bool = False) -> Layout:
    """``ldmatrix.sync.aligned.m8n8.x{num}[.trans].b16``: ``num`` 8x8 b16 matrices, shape (num, 8, 8).

    Register ``2*j + e`` of a thread holds element ``e`` of its ``j``-th 32-bit register (matrix ``j``).
    Without ``.trans`` lane ``4*row + col//2`` holds (row, col); with it, lane ``4*col + row//2``.

    >>> str(ldmatrix(4))
    'S[(4,8,4,2):(2@reg,4@lane,1@lane,1@reg)]'
    """
    if num not in (1, 2, 4):
        raise AxeError(f"ldmatrix: num must be 1, 2 or 4, got {num!r}")
    if trans:
        return Layout.parse(f"S[({num},4,2,8):(2@reg,1@lane,1@reg,4@lane)]")
    return Layout.parse(f"S[({num},8,4,2):(2@reg,4@lane,1@lane,1@reg)]")


def wgmma_accumulator(n: int, warpgroups: int = 1) -> Layout:
    """The ``wgmma.mma_async.m64nNk16`` f32 accumulator D over a warpgroup: shape (64, n).

    Warp ``w`` of the warpgroup owns rows ``16w..16w+15``; register ``d_i`` with ``i = 4j + 2h + b``
    holds row ``16w + 8h + groupID`` and column ``8j + 2*threadID_in_group + b``.

    >>> str(wgmma_accumulator(256))
    'S[(4,2,8,32,4,2):(1@warp,2@reg,4@lane,4@reg,1@lane,1@reg)]'

    With ``warpgroups`` > 1 the shape is (64 * warpgroups, n): warpgroup ``g`` holds rows ``64g..64g+63``
    (``warp`` then counts warps inside the warpgroup).

    >>> str(wgmma_accumulator(8, warpgroups=2))
    'S[(2,4,2,32,2):(1@warpgroup,1@warp,2@reg,1@lane,1@reg)]'
    """
    if type(n) is not int or not 8 <= n <= 256 or n % 8:
        raise AxeError(f"wgmma_accumulator: N must be a multiple of 8 in [8, 256], got {n!r}")
    one = Layout.parse(f"S[(4,2,8,{n // 8},4,2):(1@warp,2@reg,4@lane,4@reg,1@lane,1@reg)]")
    if type(warpgroups) is not int or warpgroups < 1:
        raise AxeError(f"wgmma_accumulator: warpgroups must be a positive int, got {warpgroups!r}")
    if warpgroups == 1:
        return one
    return tile(Layout.parse(f"S[({warpgroups},1):(1@warpgroup,1@reg)]"), one, (warpgroups, 1), (64, n)).canonicalize()


def wgmma_a_fragment(dtype: str = "f16") -> Layout:
    """The A operand of ``wgmma.mma_async.m64nNk*`` taken from registers, over a warpgroup.

    Shape (64, K) with K = 16 for f16/bf16, 8 for tf32 and 32 for 8-bit types: warp ``w`` holds rows
    ``16w..16w+15`` in the layout of the matching ``mma.sync`` A fragment (``a0, a1, ...`` in PTX order).

    >>> str(wgmma_a_fragment("f16"))
    'S[(4,2,8,2,4,2):(1@warp,2@reg,4@lane,4@reg,1@lane,1@reg)]'
    """
    if dtype in _DTYPES_16816:
        per_warp = mma_m16n8k16("A", dtype)
    elif dtype == "tf32":
        per_warp = mma_m16n8k8_tf32("A")
    elif dtype in _DTYPES_16832:
        per_warp = mma_m16n8k32("A", dtype)
    else:
        known = sorted(_DTYPES_16816 | _DTYPES_16832 | {"tf32"})
        raise AxeError(f"wgmma_a_fragment: dtype must be one of {known}, got {dtype!r}")
    return Layout([Iter(4, 1, "warp"), *per_warp.shard])


def tma_smem_tile(rows: int, cols: int, dtype_bits: int = 16, swizzle_bytes: int = 128, major: str = "K"):
    """A (rows, cols) shared-memory tile as the TMA writes it with a 32/64/128-byte swizzle.

    ``major="K"``: ``cols`` is contiguous (K-major operand); atoms of 8 rows x ``swizzle_bytes`` are
    stacked down the rows first, then across. ``major="MN"``: ``rows`` is contiguous; atoms of
    ``swizzle_bytes`` x 8 columns are stacked down the rows first. Returns an :class:`axe.SwizzleLayout`.

    >>> str(tma_smem_tile(64, 64))
    'Sw<3,3,3> o S[(8,8,64):(512,64,1)]'
    """
    sw = smem_swizzle(swizzle_bytes, dtype_bits)
    width = swizzle_bytes * 8 // dtype_bits  # elements in one swizzled row
    for n, what in ((rows, "rows"), (cols, "cols")):
        if type(n) is not int or n < 1:
            raise AxeError(f"tma_smem_tile: {what} must be a positive int, got {n!r}")
    if major == "K":
        if cols % width or rows % 8:
            raise AxeError(f"tma_smem_tile: a K-major tile needs cols % {width} == 0 and rows % 8 == 0, "
                           f"got ({rows}, {cols})")
        text = f"S[({rows // 8},8,{cols // width},{width}):({8 * width},{width},{rows * width},1)]"
    elif major == "MN":
        if rows % width or cols % 8:
            raise AxeError(f"tma_smem_tile: an MN-major tile needs rows % {width} == 0 and cols % 8 == 0, "
                           f"got ({rows}, {cols})")
        text = f"S[({rows // width},{width},{cols // 8},8):({8 * width},1,{rows * 8},{width})]"
    else:
        raise AxeError(f"tma_smem_tile: major must be 'K' or 'MN', got {major!r}")
    plain = Layout.parse(text)
    return SwizzleLayout(Layout([it for it in plain.shard if it.extent != 1] or plain.shard[:1]), sw)
