"""Warpgroup emulation of ``wgmma.mma_async.m64nNk16`` (f16/bf16 inputs from shared memory, f32 accumulators
in registers), for checking the sm_90a lowering on the CPU.

The operands are read through their shared-memory layouts (the swizzled tiles the TMA and the wgmma
descriptors agree on, ``axe.presets.nvidia.tma_smem_tile``); which thread and register hold each
accumulator comes from ``axe.presets.nvidia.wgmma_accumulator`` (checked against CUTLASS).

>>> import numpy as np
>>> rows, cols = accumulator_table(8)
>>> rows.shape, int(rows[1, 0, 2]), int(cols[1, 0, 2])         # warp 1, lane 0, register 2
((4, 32, 4), 24, 0)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from axe.presets import nvidia


@lru_cache(maxsize=64)
def accumulator_table(n: int):
    """``(rows, cols)``, each (4 warps, 32 lanes, n/2 registers): the accumulator element each holds."""
    layout = nvidia.wgmma_accumulator(n)
    rows = np.zeros((4, 32, n // 2), np.int64)
    cols = np.zeros((4, 32, n // 2), np.int64)
    for r in range(64):
        for c in range(n):
            co = layout.apply_base(r, c, shape=(64, n))
            rows[co["warp"], co["lane"], co["reg"]] = r
            cols[co["warp"], co["lane"], co["reg"]] = c
    return rows, cols


@lru_cache(maxsize=256)
def operand_addresses(layout, shape: tuple, k0: int, rows: int, row0: int = 0) -> np.ndarray:
    """(rows, 16) element addresses of rows ``[row0, row0 + rows)``, k-slice ``[k0, k0 + 16)`` of a shared tile."""
    out = np.zeros((rows, 16), np.int64)
    for r in range(rows):
        for kk in range(16):
            out[r, kk] = layout.apply_base(row0 + r, k0 + kk, shape=shape)["m"]
    return out


def wgmma(acc: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``acc`` (groups, 4, 32, n/2) f32 += A (groups, 64, 16) @ B (groups, n, 16)^T, placed as wgmma places it."""
    n = b.shape[1]
    d = np.matmul(a.astype(np.float32), np.swapaxes(b.astype(np.float32), 1, 2))      # (groups, 64, n)
    rows, cols = accumulator_table(n)
    return acc + d[:, rows, cols]
