"""Whole-warp emulation of ``mma.sync.aligned.m16n8k16`` (f16 or bf16 inputs, f32 accumulate) with numpy.

Fragments are per-thread local buffers; which (lane, reg) holds which matrix element comes from the
Axe preset layouts ``axe.presets.nvidia.mma_m16n8k16`` (the PTX ISA tables).

>>> rows, cols = fragment_table("C")
>>> rows.shape, int(rows[5, 3]), int(cols[5, 3])
((32, 4), 9, 3)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from axe.presets import nvidia

SHAPES = {"A": (16, 16), "B": (16, 8), "C": (16, 8)}


@cache
def fragment_table(operand: str):
    """``(rows, cols)``, each (32, regs): the matrix element held by ``lane`` in register ``reg``."""
    shape = SHAPES[operand]
    layout = nvidia.mma_m16n8k16(operand)
    regs = shape[0] * shape[1] // 32
    rows, cols = np.full((32, regs), -1), np.full((32, regs), -1)
    for r in range(shape[0]):
        for c in range(shape[1]):
            for coord in layout.apply(r, c, shape=shape):
                rows[coord["lane"], coord["reg"]] = r
                cols[coord["lane"], coord["reg"]] = c
    return rows, cols


def mma_m16n8k16(d_frag: np.ndarray, a_frag: np.ndarray, b_frag: np.ndarray) -> np.ndarray:
    """D = A @ B + D for every warp; fragments are (warps, 32, regs) arrays, returns D's fragments.

    >>> a = np.zeros((1, 32, 8), np.float16); b = np.zeros((1, 32, 4), np.float16)
    >>> float(mma_m16n8k16(np.ones((1, 32, 4), np.float32), a, b).sum())
    128.0
    """
    w = a_frag.shape[0]
    mats = {}
    for op, frag in (("A", a_frag), ("B", b_frag), ("C", d_frag)):
        rows, cols = fragment_table(op)
        m = np.zeros((w,) + SHAPES[op], np.float32)
        m[:, rows, cols] = frag
        mats[op] = m
    d = np.matmul(mats["A"], mats["B"]) + mats["C"]
    rows, cols = fragment_table("C")
    return d[:, rows, cols].astype(np.float32)
