"""Whole-warp emulation of ``ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16`` and of its mirror
``stmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16`` (sm_90), which stores the same registers back to
the same places (CUTLASS's stmatrix traits are its ldmatrix traits with source and destination swapped).

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


@cache
def store_table(num: int, trans: bool):
    """``(matrix, row, col)`` arrays of shape (32, 2*num): the element of the 8x8 matrices that register
    ``reg`` of ``lane`` holds (the inverse of ``_table``)."""
    lane, reg = _table(num, trans)
    out = np.full((3, 32, 2 * num), -1, np.int64)
    for j in range(num):
        for r in range(8):
            for c in range(8):
                out[:, lane[j, r, c], reg[j, r, c]] = (j, r, c)
    return out[0], out[1], out[2]


def stmatrix(smem: np.ndarray, rows: np.ndarray, regs: np.ndarray, num: int, trans: bool) -> None:
    """Store each lane's registers ``regs`` ((warps, 32, 2*num)) into ``smem`` in place: lane ``8*j + i``
    gives the element index (in ``rows``, (warps, 32)) of row ``i`` of matrix ``j``.

    >>> smem = np.zeros(64, np.uint16)
    >>> regs = np.arange(64, dtype=np.uint16).reshape(1, 32, 2)       # lane l holds 2l, 2l+1
    >>> stmatrix(smem, (np.arange(32) % 8 * 8)[None], regs, 1, False)
    >>> smem[8:12].tolist()                                           # row 1: lanes 4 and 5
    [8, 9, 10, 11]
    >>> back = ldmatrix(smem, (np.arange(32) % 8 * 8)[None], 1, False)
    >>> bool((back == regs).all())
    True
    """
    j, r, c = store_table(num, trans)
    w = rows.shape[0]
    addr = rows[np.arange(w)[:, None, None], 8 * j + r] + c               # (w, 32, 2*num)
    smem[addr] = regs
