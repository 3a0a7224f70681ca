"""Every preset against the PTX ISA's element -> (thread, register) formulas, written out here."""

from __future__ import annotations

import pytest

import axe
from axe.presets import nvidia, trainium


def table(layout, shape, axes=("lane", "reg")):
    out = {}
    for r in range(shape[0]):
        for c in range(shape[1]):
            (pt,) = layout.apply(r, c, shape=shape)
            out[(r, c)] = tuple(pt[a] for a in axes)
    return out


def ptx(formula, nregs):
    """Element (row, col) -> (lane, reg) from PTX's per-register row/col formulas."""
    out = {}
    for lane in range(32):
        g, t = lane >> 2, lane % 4
        for i in range(nregs):
            out[formula(g, t, i)] = (lane, i)
    return out


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_mma_m16n8k16(dtype):
    a = ptx(lambda g, t, i: (g + 8 * (i in (2, 3, 6, 7)), 2 * t + (i & 1) + 8 * (i >= 4)), 8)
    b = ptx(lambda g, t, i: (2 * t + (i & 1) + 8 * (i >= 2), g), 4)
    c = ptx(lambda g, t, i: (g + 8 * (i >= 2), 2 * t + (i & 1)), 4)
    assert table(nvidia.mma_m16n8k16("A", dtype), (16, 16)) == a
    assert table(nvidia.mma_m16n8k16("B", dtype), (16, 8)) == b
    assert table(nvidia.mma_m16n8k16("C", dtype), (16, 8)) == c
    assert table(nvidia.mma_m16n8k16("D", dtype), (16, 8)) == c


def test_mma_m16n8k8_tf32():
    a = ptx(lambda g, t, i: (g + 8 * (i in (1, 3)), t + 4 * (i >= 2)), 4)
    b = ptx(lambda g, t, i: (t + 4 * i, g), 2)
    assert table(nvidia.mma_m16n8k8_tf32("A"), (16, 8)) == a
    assert table(nvidia.mma_m16n8k8_tf32("B"), (8, 8)) == b


@pytest.mark.parametrize("dtype", ["s8", "u8", "e4m3", "e5m2"])
def test_mma_m16n8k32_8bit(dtype):
    a = ptx(lambda g, t, i: (g + 8 * (4 <= i < 8 or i >= 12), 4 * t + (i & 3) + 16 * (i >= 8)), 16)
    b = ptx(lambda g, t, i: (4 * t + (i & 3) + 16 * (i >= 4), g), 8)
    assert table(nvidia.mma_m16n8k32("A", dtype), (16, 32)) == a
    assert table(nvidia.mma_m16n8k32("B", dtype), (32, 8)) == b


@pytest.mark.parametrize("num", [1, 2, 4])
@pytest.mark.parametrize("trans", [False, True])
def test_ldmatrix(num, trans):
    L = nvidia.ldmatrix(num, trans)
    for j in range(num):
        for lane in range(32):
            for e in range(2):
                row, col = lane // 4, 2 * (lane % 4) + e
                if trans:
                    row, col = col, row
                (pt,) = L.apply(j, row, col, shape=(num, 8, 8))
                assert (pt["lane"], pt["reg"]) == (lane, 2 * j + e)


@pytest.mark.parametrize("n", list(range(8, 257, 8)))
def test_wgmma_accumulator(n):
    L = nvidia.wgmma_accumulator(n)
    want = {}
    for w in range(4):
        for lane in range(32):
            g, t = lane >> 2, lane % 4
            for i in range(n // 2):
                row = 16 * w + g + 8 * ((i >> 1) & 1)
                col = 8 * (i >> 2) + 2 * t + (i & 1)
                want[(row, col)] = (w, lane, i)
    assert table(L, (64, n), ("warp", "lane", "reg")) == want


def test_trainium():
    L = trainium.sbuf((256, 512))
    assert L.apply(130, 7, shape=(256, 512)) == {axe.Coord(P=2, F=519)}
    assert trainium.sbuf((64, 32)).span("P") == 64
    assert trainium.psum((128, 512)).size == 128 * 512


@pytest.mark.parametrize("bad", [
    lambda: nvidia.mma_m16n8k16("E"), lambda: nvidia.mma_m16n8k16("A", "f32"), lambda: nvidia.ldmatrix(3),
    lambda: nvidia.wgmma_accumulator(12), lambda: nvidia.wgmma_accumulator(264),
    lambda: nvidia.mma_m16n8k32("A", "f16"),
    lambda: trainium.sbuf((200, 4)), lambda: trainium.psum((128, 1024)), lambda: trainium.sbuf(5),
])
def test_preset_errors(bad):
    with pytest.raises(axe.AxeError):
        bad()


def tma_swizzle(byte_addr, nbytes):
    """TMA/GMMA swizzle of a shared-memory byte address: the 16-byte chunk index (bits 4..6) is XORed with
    the 128-byte row index (bits 7..9), using 1/2/3 bits for the 32/64/128-byte modes."""
    nbits = {32: 1, 64: 2, 128: 3}[nbytes]
    return byte_addr ^ (((byte_addr >> 7) & ((1 << nbits) - 1)) << 4)


@pytest.mark.parametrize("nbytes,bits", [(128, 16), (64, 16), (32, 16), (128, 8), (64, 8), (32, 8), (128, 32),
                                         (64, 32), (32, 32)])
@pytest.mark.parametrize("major", ["K", "MN"])
@pytest.mark.parametrize("atoms", [(1, 1), (2, 3)])
def test_tma_smem_tiles(nbytes, bits, major, atoms):
    w = nbytes * 8 // bits  # elements in one swizzled row
    esize = bits // 8
    rows, cols = (8 * atoms[0], w * atoms[1]) if major == "K" else (w * atoms[0], 8 * atoms[1])
    L = nvidia.tma_smem_tile(rows, cols, bits, nbytes, major)
    addrs = []
    for r in range(rows):
        for c in range(cols):
            # atoms of 8 x w (K-major) or w x 8 (MN-major) elements, stacked down the rows first
            if major == "K":
                atom = (c // w) * (rows // 8) + r // 8
                plain = atom * 8 * w + (r % 8) * w + c % w
            else:
                atom = (c // 8) * (rows // w) + r // w
                plain = atom * 8 * w + (c % 8) * w + r % w
            (pt,) = L.apply(r, c, shape=(rows, cols))
            assert pt["m"] * esize == tma_swizzle(plain * esize, nbytes)
            addrs.append(pt["m"])
    assert sorted(addrs) == list(range(rows * cols))  # a bijection onto the tile's elements


def test_tensor_memory():
    acc = nvidia.tmem_accumulator(128, 256)
    assert acc.apply(5, 7, shape=(128, 256)) == {axe.Coord(tlane=5, tcol=7)}
    ld = nvidia.tcgen05_ld_32x32b(16)
    for r in range(128):
        for c in range(16):
            (pt,) = ld.apply(r, c, shape=(128, 16))
            assert (pt["warp"], pt["lane"], pt["reg"]) == (r // 32, r % 32, c)
    with pytest.raises(axe.AxeError):
        nvidia.tmem_accumulator(32, 8)
    with pytest.raises(axe.AxeError):
        nvidia.tma_smem_tile(10, 64)


@pytest.mark.parametrize("dtype,k", [("f16", 16), ("bf16", 16), ("tf32", 8), ("s8", 32), ("e5m2", 32)])
def test_wgmma_a_fragment(dtype, k):
    """PTX: warp w of the warpgroup holds rows 16w..16w+15 as the mma.sync A fragment of the same type."""
    want = {}
    for w in range(4):
        for lane in range(32):
            g, t = lane >> 2, lane % 4
            for i in range(64 * k // 128):
                if k == 16:
                    row, col = g + 8 * ((i >> 1) & 1), 2 * t + (i & 1) + 8 * (i >> 2)
                elif k == 8:
                    row, col = g + 8 * (i & 1), t + 4 * (i >> 1)
                else:
                    row, col = g + 8 * ((i >> 2) & 1), 4 * t + (i & 3) + 16 * (i >> 3)
                want[(16 * w + row, col)] = (w, lane, i)
    assert table(nvidia.wgmma_a_fragment(dtype), (64, k), ("warp", "lane", "reg")) == want
    with pytest.raises(axe.AxeError, match="wgmma_a_fragment"):
        nvidia.wgmma_a_fragment("f64")
