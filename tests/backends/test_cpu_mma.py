"""The CPU backend's mma.sync m16n8k16 emulation against the PTX ISA fragment formulas, written out here."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.cpu.mma import mma_m16n8k16


def _ptx_tables():
    a = np.zeros((32, 8, 2), int)
    b = np.zeros((32, 4, 2), int)
    c = np.zeros((32, 4, 2), int)
    for lane in range(32):
        g, t = lane >> 2, lane % 4
        for i in range(8):
            a[lane, i] = (g + 8 * ((i >> 1) & 1), 2 * t + (i & 1) + 8 * (i >> 2))
        for i in range(4):
            b[lane, i] = (2 * t + (i & 1) + 8 * (i >> 1), g)
            c[lane, i] = (g + 8 * (i >> 1), 2 * t + (i & 1))
    return a, b, c


@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
@settings(max_examples=25, deadline=None)
def test_mma_matches_ptx_formulas(seed, warps):
    rng = np.random.default_rng(seed)
    A = rng.integers(-4, 5, (warps, 16, 16)).astype(np.float16)
    B = rng.integers(-4, 5, (warps, 16, 8)).astype(np.float16)
    C = rng.integers(-9, 10, (warps, 16, 8)).astype(np.float32)
    ta, tb, tc = _ptx_tables()
    fa = A[:, ta[..., 0], ta[..., 1]]
    fb = B[:, tb[..., 0], tb[..., 1]]
    fc = C[:, tc[..., 0], tc[..., 1]]
    fd = mma_m16n8k16(fc, fa, fb)
    D = A.astype(np.float32) @ B.astype(np.float32) + C
    assert np.array_equal(fd, D[:, tc[..., 0], tc[..., 1]])  # small integers: exact in f32
