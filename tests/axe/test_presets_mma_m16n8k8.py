"""``nvidia.mma_m16n8k8`` against the PTX ISA's "Matrix Fragments for mma.m16n8k8" formulas, written out
here, and (when nvidia-cutlass and pycute are installed) against CUTLASS's SM80_16x8x8 MMA_Traits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import axe
from axe.presets import nvidia


def table(layout, shape):
    """(row, col) -> (lane, reg) from the layout."""
    out = {}
    for r in range(shape[0]):
        for c in range(shape[1]):
            (pt,) = layout.apply(r, c, shape=shape)
            out[(r, c)] = (pt["lane"], pt["reg"])
    return out


def ptx(formula, nregs):
    """(row, col) -> (lane, reg) from PTX's per-register formulas, over every lane and register."""
    out = {}
    for lane in range(32):
        group_id, tid_in_group = lane >> 2, lane % 4
        for i in range(nregs):
            rc = formula(group_id, tid_in_group, i)
            assert rc not in out, f"two owners for {rc}"
            out[rc] = (lane, i)
    return out


# .f16 / .bf16: A is two .f16x2 registers (a0..a3), B one (b0, b1); C/D four f32 or two .f16x2 (c0..c3).
A_F16 = ptx(lambda g, t, i: (g if i < 2 else g + 8, t * 2 + (i & 0x1)), 4)
B_F16 = ptx(lambda g, t, i: (t * 2 + i, g), 2)
C_ANY = ptx(lambda g, t, i: (g if i < 2 else g + 8, t * 2 + (i & 0x1)), 4)
# .tf32: A is four .b32 registers, B two.
A_TF32 = ptx(lambda g, t, i: (g if i in (0, 2) else g + 8, t if i < 2 else t + 4), 4)
B_TF32 = ptx(lambda g, t, i: (t if i == 0 else t + 4, g), 2)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_f16_bf16_fragments_match_ptx(dtype):
    assert len(A_F16) == 16 * 8 and len(B_F16) == 8 * 8 and len(C_ANY) == 16 * 8
    assert table(nvidia.mma_m16n8k8("A", dtype), (16, 8)) == A_F16
    assert table(nvidia.mma_m16n8k8("B", dtype), (8, 8)) == B_F16
    assert table(nvidia.mma_m16n8k8("C", dtype), (16, 8)) == C_ANY  # f32 and f16 accumulators alike
    assert table(nvidia.mma_m16n8k8("D", dtype), (16, 8)) == C_ANY


def test_default_dtype_is_f16():
    for op in "ABCD":
        assert str(nvidia.mma_m16n8k8(op)) == str(nvidia.mma_m16n8k8(op, "f16"))


def test_tf32_case_is_the_tf32_preset():
    assert table(nvidia.mma_m16n8k8("A", "tf32"), (16, 8)) == A_TF32
    assert table(nvidia.mma_m16n8k8("B", "tf32"), (8, 8)) == B_TF32
    assert table(nvidia.mma_m16n8k8("C", "tf32"), (16, 8)) == C_ANY
    for op in "ABCD":
        assert str(nvidia.mma_m16n8k8(op, "tf32")) == str(nvidia.mma_m16n8k8_tf32(op))
    assert table(nvidia.mma_m16n8k8_tf32("C"), (16, 8)) == C_ANY


def test_f16_and_tf32_differ_where_ptx_says():
    assert table(nvidia.mma_m16n8k8("A", "f16"), (16, 8)) != table(nvidia.mma_m16n8k8("A", "tf32"), (16, 8))
    assert table(nvidia.mma_m16n8k8("B", "f16"), (8, 8)) != table(nvidia.mma_m16n8k8("B", "tf32"), (8, 8))
    # f16: lane 0 holds columns 0 and 1 of row 0 (one .f16x2 register); tf32: columns 0 and 4.
    f16, tf32 = nvidia.mma_m16n8k8("A", "f16"), nvidia.mma_m16n8k8("A", "tf32")
    assert sorted((r, c) for (r, c), (lane, _) in table(f16, (16, 8)).items() if lane == 0) == \
        [(0, 0), (0, 1), (8, 0), (8, 1)]
    assert sorted((r, c) for (r, c), (lane, _) in table(tf32, (16, 8)).items() if lane == 0) == \
        [(0, 0), (0, 4), (8, 0), (8, 4)]


def test_the_f16_k16_fragment_is_two_k8_fragments():
    """m16n8k16's A columns 0..7 are m16n8k8's A with registers a0..a3 (PTX numbers them alike)."""
    k16, k8 = table(nvidia.mma_m16n8k16("A"), (16, 16)), table(nvidia.mma_m16n8k8("A"), (16, 8))
    assert {rc: lr for rc, lr in k16.items() if rc[1] < 8 and lr[1] < 4} == k8


@pytest.mark.parametrize("args,match", [
    (("E",), r"operand must be one of A, B, C, D, got 'E'"),
    (("a",), r"operand must be one of A, B, C, D"),
    (("E", "tf32"), r"mma_m16n8k8: operand"),
    ((["A"],), r"operand must be one of A, B, C, D"),
    (("A", "f32"), r"dtype must be one of \['bf16', 'f16', 'tf32'\], got 'f32'"),
    (("A", "f64"), r"dtype must be one of"),
    (("A", "e4m3"), r"dtype must be one of"),
    (("A", None), r"dtype must be one of"),
    (("A", ["f16"]), r"dtype must be one of"),
])
def test_errors_name_the_allowed_values(args, match):
    with pytest.raises(axe.AxeError, match=match):
        nvidia.mma_m16n8k8(*args)


def test_exported():
    assert "mma_m16n8k8" in nvidia.__all__ and "mma_m16n8k8_tf32" in nvidia.__all__


# --- oracle: CUTLASS's own transcription of the same PTX tables -------------------------------------

def _cute_eval(shape, stride, coord):
    """A CuTe (shape, stride) layout at a flat colexicographic index."""
    if isinstance(shape, int):
        return coord * stride
    out = 0
    for s, d in zip(shape, stride):
        n = _size(s)
        out += _cute_eval(s, d, coord % n)
        coord //= n
    return out


def _size(shape):
    if isinstance(shape, int):
        return shape
    n = 1
    for s in shape:
        n *= _size(s)
    return n


def _cute_text(text):
    text = re.sub(r"\s+", "", text)
    assert text.startswith("Layout<") and text.endswith(">"), text
    text = text[len("Layout<"):-1].replace("Shape<", "(").replace("Stride<", "(").replace(">", ",)")
    return eval(re.sub(r"_(\d+)", r"\1", text), {})  # noqa: S307 - digits, commas and parentheses only


@pytest.mark.oracle
@pytest.mark.parametrize("dtype,struct", [("f16", "SM80_16x8x8_F16F16F16F16_TN"),
                                          ("f16", "SM80_16x8x8_F32F16F16F32_TN"),
                                          ("bf16", "SM80_16x8x8_F32BF16BF16F32_TN")])
def test_cutlass_agrees(dtype, struct):
    lib = pytest.importorskip("cutlass_library", reason="nvidia-cutlass not installed")
    header = Path(lib.__file__).parent / "source/include/cute/atom/mma_traits_sm80.hpp"
    if not header.exists():
        pytest.skip("CUTLASS headers not shipped with cutlass_library")
    text = header.read_text()
    base = re.search(r"struct MMA_Traits<" + struct + r">\s*(?::\s*MMA_Traits<(\w+)>)?", text)
    assert base, struct
    body = re.search(r"struct MMA_Traits<" + (base.group(1) or struct) + r">\s*\{(.*?)\n\};", text, re.S).group(1)

    def layout(member):
        name = re.search(r"using " + member + r"\s*=\s*(\w+)\s*;", body).group(1)
        return _cute_text(re.search(r"using " + name + r"\s*=\s*(Layout<.*?>)\s*;", text, re.S).group(1))

    # CUTLASS: (thread, value) -> column-major index into (M, K) for A, (N, K) for B, (M, N) for C.
    for member, op, rows, cols, transpose in (("ALayout", "A", 16, 8, False), ("BLayout", "B", 8, 8, True),
                                              ("CLayout", "C", 16, 8, False)):
        shape, stride = layout(member)
        want = {}
        for t in range(32):
            for v in range(rows * cols // 32):
                idx = _cute_eval(shape, stride, t + 32 * v)
                rc = (idx % rows, idx // rows)
                want[rc[::-1] if transpose else rc] = (t, v)
        shape_ours = (cols, rows) if transpose else (rows, cols)
        assert table(nvidia.mma_m16n8k8(op, dtype), shape_ours) == want, member
