"""Whole-warp emulation of ``ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16``.

Lane ``8*j + i`` gives the address of row ``i`` of matrix ``j`` (8 consecutive 16-bit elements); which
lane and register receive each element comes from the Axe preset ``axe.presets.nvidia.ldmatrix`` (checked
against CUTLASS's copy traits), as the mma emulation uses the mma fragment presets.

>>> import numpy as np
>>> smem = np.arange(64, dtype=np.uint16)          # one 8x8 matrix, row r at 8r
>>> rows = np.arange(32) % 8 * 8                    # lanes 0-7 address the rows (others ignored)
>>> out = ldmatrix(smem, rows[None], 1, False)      # (warps, 32, 2)
>>> out[0, 5].tolist()                              # lane 5: row 1, cols 2 and 3
[10, 11]
"""

from __future__ import annotations

from functools import cache

import numpy as np

from axe.presets import nvidia


@cache
def _table(num: int, trans: bool):
    """``(lane, reg)`` arrays of shape (num, 8, 8): where element (matrix, row, col) lands."""
    layout = nvidia.ldmatrix(num, trans)
    lane = np.zeros((num, 8, 8), np.int64)
    reg = np.zeros((num, 8, 8), np.int64)
    for j in range(num):
        for r in range(8):
            for c in range(8):
                co = layout.apply_base(j, r, c, shape=(num, 8, 8))
                lane[j, r, c], reg[j, r, c] = co["lane"], co["reg"]
    return lane, reg


def ldmatrix(smem: np.ndarray, rows: np.ndarray, num: int, trans: bool) -> np.ndarray:
    """``smem``: the flat shared buffer of each warp's CTA, indexed by ``rows`` ((warps, 32) element index
    of the row each lane addresses). Returns (warps, 32, 2*num): each lane's registers."""
    w = rows.shape[0]
    addr = rows[:, :8 * num].reshape(w, num, 8)                     # lane 8j + i -> row i of matrix j
    mats = smem[addr[..., None] + np.arange(8)]                      # (w, num, 8, 8)
    lane, reg = _table(num, trans)
    out = np.zeros((w, 32, 2 * num), smem.dtype)
    out[:, lane, reg] = mats
    return out
