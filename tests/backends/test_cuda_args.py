"""What the CUDA runtime checks and decides about arguments before a launch, without a GPU: alignment
for the generated code's vector accesses, the 32-bit index limit, dtypes through DLPack, numpy arrays
passed twice or overlapping (one device copy; no ``__restrict__``), what is copied back."""

from pathlib import Path

import numpy as np
import pytest

import dsl
from backends.cuda.nvrtc import compile_cuda
from backends.cuda.run import _dlpack_dtype_ok, device_args_plan, staging
from dsl.cli import load_module
from lowering import ir
from lowering.cuda import emit_cuda
from lowering.irutil import written_tensors
from tests.kernel_source import kernel_from_source


class _Dev:
    """A device array seen only through ``__cuda_array_interface__``."""

    def __init__(self, shape, ptr, typestr="<f4", stream=None):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (ptr, False), "version": 3,
                                         "strides": None, "stream": stream}


def _vec(n=64):
    return ir.Buffer("x", "f32", n, "global", (ir.Const(n, "i32"),))


def test_device_pointers_must_be_aligned_for_the_kernels_vector_accesses():
    k = ir.Kernel("k", (_vec(),), (1,), 32, ())
    assert device_args_plan(k, [_Dev((64,), 4096 + 16)], {"x": 16})[0][:2] == ("device", 4112)
    assert device_args_plan(k, [_Dev((64,), 4096 + 4)], {})[0][1] == 4100       # scalar accesses only
    with pytest.raises(dsl.KernelRuntimeError, match="'x' must start at a 8-byte aligned address"):
        device_args_plan(k, [_Dev((64,), 4096 + 4)], {"x": 8})


def test_the_emitter_records_each_tensors_widest_vector_access():
    g = load_module(Path(__file__).parents[2] / "examples" / "gemm.py", "args_gemm")
    src = emit_cuda(g.gemm_cta.specialise(backend="cuda", arch="sm_80", m=128, n=128, k=64))
    align = dict(src.alignment)
    assert align["a"] == 16 and align["b"] == 16       # cp.async of 16 bytes from A and B
    assert align["c"] == 8                             # float2 stores of the accumulator


def test_tensors_past_the_32_bit_index_range_are_refused():
    n = 1 << 31
    big = ir.Buffer("x", "f32", ir.Var("n", "i32"), "global", (ir.Var("n", "i64"),))
    k = ir.Kernel("k", (big, ir.Var("n", "i64")), (1,), 32, ())
    with pytest.raises(dsl.KernelRuntimeError, match=r"tensor 'x' has 2147483648 elements; .* 32 bits"):
        device_args_plan(k, [_Dev((n,), 4096), n])


class _View:
    def __init__(self, dtype, itemsize=None):
        self._dtype = dtype
        if itemsize is not None:
            self._layout = type("L", (), {"itemsize": itemsize})()

    @property
    def dtype(self):
        if self._dtype is None:
            raise NotImplementedError("bfloat16 needs ml_dtypes")
        return self._dtype


@pytest.mark.parametrize("got, item, want, ok", [(np.float16, None, "f16", True), (np.int16, None, "f16", False),
                                                 (np.uint16, None, "bf16", True), (np.float32, None, "i32", False),
                                                 (np.int32, None, "i32", True), (None, 2, "bf16", True),
                                                 (None, None, "bf16", True), (None, 1, "bf16", False),
                                                 (None, 2, "f16", False)])
def test_dlpack_dtypes_are_compared_by_kind_not_size(got, item, want, ok):
    """None: a dtype numpy cannot name (bfloat16 without ml_dtypes, or float8): only a 2-byte one is bf16."""
    assert _dlpack_dtype_ok(_View(got, item), want) is ok


def _two(n=8):
    x, y = (ir.Buffer(c, "f32", n, "global", (ir.Const(n, "i32"),)) for c in "xy")
    return ir.Kernel("k", (x, y), (1,), 32, ())


def test_numpy_arrays_passed_twice_are_one_device_copy_and_alias():
    a, b = np.zeros(8, np.float32), np.zeros(8, np.float32)
    k = _two()
    assert staging(k, device_args_plan(k, [a, b])) == ([0, 1], False)
    assert staging(k, device_args_plan(k, [a, a])) == ([0, 0], True)
    assert staging(k, device_args_plan(k, [a, a]), written={"y"}) == ([0, 0], True)
    assert staging(k, device_args_plan(k, [a, a]), written=set()) == ([0, 0], False)   # both only read


def test_numpy_arrays_overlapping_in_part_are_refused():
    buf = np.zeros(12, np.float32)
    k = _two()
    with pytest.raises(dsl.KernelRuntimeError, match="'x' and 'y' share part of their memory"):
        staging(k, device_args_plan(k, [buf[:8], buf[4:]]))


def test_overlapping_device_tensors_alias():
    k = _two()
    assert staging(k, device_args_plan(k, [_Dev((8,), 4096), _Dev((8,), 4096 + 16)])) == ([None, None], True)
    assert staging(k, device_args_plan(k, [_Dev((8,), 4096), _Dev((8,), 4096 + 32)])) == ([None, None], False)


def test_device_args_carry_the_producers_stream():
    k = ir.Kernel("k", (_vec(8),), (1,), 32, ())
    assert device_args_plan(k, [_Dev((8,), 4096, stream=77)])[0][3] == 77


SRC = '''
@dsl.kernel(threads=32)
def rev(o: dsl.Tensor[(32,), dsl.f32], i: dsl.Tensor[(32,), dsl.f32]):
    o[dsl.thread_id()] = i[31 - dsl.thread_id()]
'''


@pytest.mark.nvrtc
def test_aliasing_builds_drop_restrict_and_still_compile(tmp_path):
    k = kernel_from_source(tmp_path, SRC, "rev")[0].compile(backend="cuda", arch="sm_80")
    assert written_tensors(k) == {"o"}
    plain, aliased = emit_cuda(k), emit_cuda(k, noalias=False)
    assert plain.code.count("__restrict__") == 2 and "__restrict__" not in aliased.code
    compile_cuda(aliased.code, "sm_80", name="rev.cu")
    a = np.arange(32, dtype=np.float32)       # the CPU backend's answer for rev(a, a): what CUDA must match
    kernel_from_source(tmp_path, SRC, "rev")[0](a, a)
    assert a[:16].tolist() == list(range(31, 15, -1))


def test_read_only_arrays_the_kernel_writes_are_refused_on_the_cpu_too(tmp_path):
    rev = kernel_from_source(tmp_path, SRC, "rev")[0]
    ro = np.frombuffer(np.arange(32, dtype=np.float32).tobytes(), np.float32)
    out = np.zeros(32, np.float32)
    rev(out, ro)                                          # only read: fine
    assert out[0] == 31
    with pytest.raises(dsl.KernelRuntimeError, match="writes tensor 'o', but its array is read-only"):
        rev(ro, out)
