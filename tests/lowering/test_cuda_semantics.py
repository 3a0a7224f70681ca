"""The CUDA emitter computes what the CPU backend computes in the corners: half literals past the
largest half, float floor division, 64-bit indices."""

import numpy as np
import pytest

from backends.cpu import dtypes
from backends.cuda.nvrtc import compile_cuda
from lowering.cuda import emit_cuda
from lowering.cuda.ctypes import _HELPERS, literal
from tests.kernel_source import kernel_from_source


@pytest.mark.parametrize("v", [1e6, -1e6, 65504.0, 65520.0, 1.0, 1e-8, float("inf")])
def test_f16_literals_round_as_numpy_does(v):
    with np.errstate(over="ignore"):
        bits = int(np.array(v).astype(np.float16).view(np.uint16))
    assert literal(v, "f16") == f"(unsigned short){bits}"


@pytest.mark.parametrize("v", [1e39, -1e39, 3.0, 1.00390625])
def test_bf16_literals_round_as_the_cpu_backend_does(v):
    with np.errstate(over="ignore"):
        bits = int(dtypes.to_storage(np.array([v]), "bf16")[0])
    assert literal(v, "bf16") == f"(unsigned short){bits}"


def _floordivf(a: np.float32, b: np.float32) -> np.float32:
    """``axe_floordivf`` line by line in float32 (the helper's algorithm, checked against numpy here)."""
    f32 = np.float32
    if b == 0:
        return a / b
    m = np.fmod(a, b)
    d = (a - m) / b
    if m != 0 and ((b < 0) != (m < 0)):
        d = f32(d - f32(1))
    if d == 0:
        return np.copysign(f32(0), a / b)
    f = np.floor(d)
    return f32(f + 1) if d - f > f32(0.5) else f


def test_the_float_floor_division_helper_is_numpys():
    assert "fmodf(a, b)" in _HELPERS["axe_floordivf"]
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.standard_normal(2000) * 10, [1.0, -1.0, 0.0, -0.0, 7.0]]).astype(np.float32)
    b = np.concatenate([rng.standard_normal(2000), [0.1, 0.1, 3.0, 3.0, -2.0]]).astype(np.float32)
    with np.errstate(all="ignore"):
        want = np.floor_divide(a, b)
        got = np.array([_floordivf(x, y) for x, y in zip(a, b)], np.float32)
    np.testing.assert_array_equal(got, want)
    assert _floordivf(np.float32(1.0), np.float32(0.1)) == 9.0      # floor(1.0f / 0.1f) would be 10


SRC = '''
@dsl.kernel(threads=32)
def k(x: dsl.Tensor[(64,), dsl.f32], y: dsl.Tensor[(64,), dsl.f32], off: dsl.i64):
    y[dsl.thread_id()] = x[off + dsl.thread_id()] // 0.1
'''


@pytest.mark.nvrtc
def test_floor_division_and_64_bit_indices_in_the_generated_code(tmp_path):
    kern = kernel_from_source(tmp_path, SRC, "k")[0]
    code = emit_cuda(kern.compile(backend="cuda", arch="sm_80")).code
    assert "axe_floordivf(" in code and "floorf(" in code          # the helper, and its definition
    assert "x[(off + ((long long)" in code                           # i64 index, not cast to int
    compile_cuda(code, "sm_80", name="k.cu")
    x = np.linspace(-3, 3, 64, dtype=np.float32)
    y = np.zeros(64, np.float32)
    kern(x, y, 32)
    np.testing.assert_array_equal(y[:32], np.floor_divide(x[32:], np.float32(0.1)))


@pytest.mark.nvrtc
def test_the_f64_helper_compiles():
    src = _HELPERS["axe_floordiv"] + '\nextern "C" __global__ void t(double* x) { x[0] = axe_floordiv(x[1], x[2]); }\n'
    compile_cuda(src, "sm_80", name="t.cu")
