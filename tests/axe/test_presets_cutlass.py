"""Oracle: the NVIDIA fragment presets against CUTLASS's own (thread, value) layouts.

The ``MMA_Traits`` (mma.sync, wgmma) and ``Copy_Traits`` (ldmatrix) layouts are read from the CUTLASS
headers shipped in the installed ``cutlass_library`` package and evaluated with pycute, so this checks the
presets against a second, independent transcription of the PTX ISA.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from axe.presets import nvidia

pytestmark = pytest.mark.oracle
pycute = pytest.importorskip("pycute")


@pytest.fixture(scope="module")
def headers():
    lib = pytest.importorskip("cutlass_library", reason="nvidia-cutlass not installed")
    root = Path(lib.__file__).parent / "source/include/cute/atom"
    if not root.exists():
        pytest.skip("CUTLASS headers not shipped with cutlass_library")
    return {p.name: p.read_text() for p in root.glob("*_traits_sm*.hpp")}


def cute_layout(text: str, **params: int):
    """``Layout<Shape <...>, Stride<...>>`` C++ text -> pycute.Layout (``Int<N/8>`` etc. via ``params``)."""
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"Int<([^<>]*)>", lambda m: str(eval(m.group(1), {}, params)), text)  # noqa: S307
    assert text.startswith("Layout<") and text.endswith(">"), text
    text = text[len("Layout<"):-1].replace("Shape<", "(").replace("Stride<", "(").replace(">", ",)")
    text = re.sub(r"_(\d+)", r"\1", text)
    shape, stride = eval(text, {})  # noqa: S307 - digits, commas and parentheses only
    return pycute.Layout(shape, stride)


def alias(headers, name: str) -> str:
    for text in headers.values():
        m = re.search(r"using " + name + r"\s*=\s*(Layout<.*?>)\s*;", text, re.S)
        if m:
            return m.group(1)
    raise AssertionError(f"{name} not found in the CUTLASS headers")


def traits_member(headers, struct: str, member: str) -> str:
    """The text of ``using member = ...;`` in ``struct`` (following ``: MMA_Traits<Base>`` if needed)."""
    for text in headers.values():
        m = re.search(r"struct " + re.escape(struct) + r"\s*(:\s*MMA_Traits<(\w+)>)?\s*\{(.*?)\n\};", text, re.S)
        if not m:
            continue
        body = m.group(3)
        u = re.search(r"using " + member + r"\s*=\s*(.*?);", body, re.S)
        if u:
            value = u.group(1).strip()
            return value if value.startswith("Layout<") else alias(headers, value.split("::")[-1].split("<")[0])
        if m.group(2):
            return traits_member(headers, f"MMA_Traits<{m.group(2)}>", member)
    raise AssertionError(f"{struct}::{member} not found")


def owner_table(layout, shape, axes):
    out = {}
    for r in range(shape[0]):
        for c in range(shape[1]):
            (pt,) = layout.apply(r, c, shape=shape)
            out[tuple(pt[a] for a in axes)] = (r, c)
    return out


def mma_table(tv, rows, cols, nthr, nval, transpose=False):
    """(thread, value) -> (row, col) from a CUTLASS TV layout onto a column-major (rows, cols) tile."""
    out = {}
    for t in range(nthr):
        for v in range(nval):
            idx = tv(t, v)
            rc = (idx % rows, idx // rows)
            out[(t, v)] = rc[::-1] if transpose else rc
    return out


MMA = [
    # preset, traits struct, A (M,K), B as CUTLASS (N,K) -> ours (K,N), C (M,N)
    (lambda op: nvidia.mma_m16n8k16(op, "f16"), "SM80_16x8x16_F16F16F16F16_TN", 16, 8, 16),
    (lambda op: nvidia.mma_m16n8k16(op, "bf16"), "SM80_16x8x16_F32BF16BF16F32_TN", 16, 8, 16),
    (lambda op: nvidia.mma_m16n8k8_tf32(op), "SM80_16x8x8_F32TF32TF32F32_TN", 16, 8, 8),
    (lambda op: nvidia.mma_m16n8k32(op, "s8"), "SM80_16x8x32_S32S8S8S32_TN", 16, 8, 32),
    (lambda op: nvidia.mma_m16n8k32(op, "e4m3"), "SM89_16x8x32_F32E4M3E4M3F32_TN", 16, 8, 32),
]


@pytest.mark.parametrize("preset,struct,M,N,K", MMA, ids=[m[1] for m in MMA])
def test_mma_sync_fragments(headers, preset, struct, M, N, K):
    st = f"MMA_Traits<{struct}>"
    a = cute_layout(traits_member(headers, st, "ALayout"))
    b = cute_layout(traits_member(headers, st, "BLayout"))
    c = cute_layout(traits_member(headers, st, "CLayout"))
    assert owner_table(preset("A"), (M, K), ("lane", "reg")) == mma_table(a, M, K, 32, M * K // 32)
    assert owner_table(preset("B"), (K, N), ("lane", "reg")) == mma_table(b, N, K, 32, N * K // 32, transpose=True)
    assert owner_table(preset("C"), (M, N), ("lane", "reg")) == mma_table(c, M, N, 32, M * N // 32)


def _split_warp(table):
    """CUTLASS warpgroup thread index -> (warp, lane)."""
    return {(t // 32, t % 32, v): rc for (t, v), rc in table.items()}


@pytest.mark.parametrize("n", list(range(8, 257, 8)))
def test_wgmma_accumulator(headers, n):
    c = cute_layout(alias(headers, "CLayout_64xN"), N=n)
    want = _split_warp(mma_table(c, 64, n, 128, n // 2))
    assert owner_table(nvidia.wgmma_accumulator(n), (64, n), ("warp", "lane", "reg")) == want


@pytest.mark.parametrize("dtype,k,name", [("f16", 16, "ALayout_64x16"), ("bf16", 16, "ALayout_64x16"),
                                          ("tf32", 8, "ALayout_64x8"), ("e4m3", 32, "ALayout_64x32"),
                                          ("s8", 32, "ALayout_64x32")])
def test_wgmma_a_from_registers(headers, dtype, k, name):
    a = cute_layout(alias(headers, name))
    want = _split_warp(mma_table(a, 64, k, 128, 64 * k // 128))
    assert owner_table(nvidia.wgmma_a_fragment(dtype), (64, k), ("warp", "lane", "reg")) == want


@pytest.mark.parametrize("num,trans,op", [(1, False, "SM75_U32x1_LDSM_N"), (2, False, "SM75_U32x2_LDSM_N"),
                                          (4, False, "SM75_U32x4_LDSM_N"), (1, True, "SM75_U16x2_LDSM_T"),
                                          (2, True, "SM75_U16x4_LDSM_T"), (4, True, "SM75_U16x8_LDSM_T")])
def test_ldmatrix(headers, num, trans, op):
    text = headers["copy_traits_sm75.hpp"]
    body = re.search(r"struct Copy_Traits<" + op + r">\s*\{(.*?)\};", text, re.S).group(1)
    dst = cute_layout(re.search(r"using DstLayout = (Layout<.*?>)\s*;", body, re.S).group(1))
    want = {}
    for lane in range(32):
        for e in range(2 * num):  # b16 element e of the thread's destination registers
            bit = dst(lane, 16 * e)
            assert all(dst(lane, 16 * e + k) == bit + k for k in range(16))
            # source bits: the row addressed by thread s holds 128 bits = 8 b16 elements; 8 rows per matrix
            matrix, row, col = bit // 1024, (bit // 128) % 8, (bit % 128) // 16
            want[(lane, e)] = (matrix, row, col)
    L = nvidia.ldmatrix(num, trans)
    got = {}
    for j in range(num):
        for r in range(8):
            for c in range(8):
                (pt,) = L.apply(j, r, c, shape=(num, 8, 8))
                got[(pt["lane"], pt["reg"])] = (j, r, c)
    assert got == want
