"""CUDA runtime: NVRTC compilation, the on-disk compile cache and (on a GPU) saxpy launches."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = pytest.mark.nvrtc   # the gpu-marked tests below also need a device (conftest.py skips)

from axe.errors import AxeError  # noqa: E402
from backends.cuda import cache, driver  # noqa: E402
from backends.cuda import nvrtc as nv  # noqa: E402
from backends.cuda.nvrtc import CompileResult, CudaCompileError, compile_cuda  # noqa: E402

SAXPY = r"""
extern "C" __global__ void saxpy(float a, const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""

# Reverses each block of the input through dynamic shared memory (sized at launch).
REVERSE_SMEM = r"""
extern "C" __global__ void reverse_blocks(const float* x, float* y, int per_block) {
    extern __shared__ float buf[];
    int base = blockIdx.x * per_block;
    for (int i = threadIdx.x; i < per_block; i += blockDim.x) buf[i] = x[base + i];
    __syncthreads();
    for (int i = threadIdx.x; i < per_block; i += blockDim.x) y[base + i] = buf[per_block - 1 - i];
}
"""


@pytest.mark.parametrize("arch", ["sm_80", "sm_90a"])
def test_saxpy_compiles_to_ptx_and_cubin(arch):
    r = compile_cuda(SAXPY, arch)
    assert isinstance(r, CompileResult) and r.arch == arch
    assert ".entry saxpy" in r.ptx
    assert f".target {arch}" in r.ptx
    assert r.cubin is not None and r.cubin[:4] == b"\x7fELF"
    with pytest.raises(AttributeError):
        r.ptx = ""  # immutable


def test_virtual_arch_gives_ptx_only():
    r = compile_cuda(SAXPY, "compute_80")
    assert ".entry saxpy" in r.ptx and r.cubin is None


def test_extra_options_reach_nvrtc():
    src = 'extern "C" __global__ void k(int* x) { x[0] = VALUE; }'
    with pytest.raises(CudaCompileError):
        compile_cuda(src, "sm_80")
    r = compile_cuda(src, "sm_80", ("-DVALUE=12345",))
    assert "12345" in r.ptx


def test_syntax_error_raises_typed_error_with_log():
    bad = 'extern "C" __global__ void broken(float* x) { x[0] = ; }'
    with pytest.raises(CudaCompileError) as info:
        compile_cuda(bad, "sm_80")
    assert isinstance(info.value, AxeError)
    assert "error" in info.value.log and "kernel.cu" in info.value.log
    assert info.value.log in str(info.value)


@pytest.mark.parametrize("arch", ["sm80", "gfx90a", "", 80])
def test_bad_arch_is_an_axe_error(arch):
    with pytest.raises(CudaCompileError, match="architecture"):
        compile_cuda(SAXPY, arch)


def test_cache_hit_skips_nvrtc(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CACHE_DIR", str(tmp_path))
    calls = []
    real = nv.compile_cuda

    def counting(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(nv, "compile_cuda", counting)
    first = cache.compile_cached(SAXPY, "sm_80")
    second = cache.compile_cached(SAXPY, "sm_80")
    assert len(calls) == 1
    assert second == first
    cache.compile_cached(SAXPY, "sm_90a")  # a different arch is a different key
    cache.compile_cached(SAXPY, "sm_80", ("-DX=1",))  # so are different options
    assert len(calls) == 3
    cache.compile_cached(SAXPY, "compute_80")
    assert cache.compile_cached(SAXPY, "compute_80").cubin is None
    assert len(calls) == 4


def test_cache_key_depends_on_every_input(monkeypatch):
    keys = {
        cache.cache_key(SAXPY, "sm_80"),
        cache.cache_key(SAXPY + " ", "sm_80"),
        cache.cache_key(SAXPY, "sm_90a"),
        cache.cache_key(SAXPY, "sm_80", ("-O3",)),
    }
    assert len(keys) == 4
    base = cache.cache_key(SAXPY, "sm_80")
    monkeypatch.setattr(nv, "nvrtc_version", lambda: (99, 0))
    assert cache.cache_key(SAXPY, "sm_80") != base


def test_cache_files_are_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CACHE_DIR", str(tmp_path))
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(cache.os, "replace", spy)
    r = cache.compile_cached(SAXPY, "sm_80")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert {p.suffix for p in files} == {".ptx", ".cubin", ".json"}
    # Every final file arrived by os.replace from a temp file in the same directory; none is left over.
    assert sorted(dst for _, dst in replaced) == sorted(str(p) for p in files)
    assert all(os.path.dirname(s) == os.path.dirname(d) and s != d for s, d in replaced)
    assert replaced[-1][1].endswith(".json")  # the completeness marker goes last
    assert not list(tmp_path.rglob("*.tmp"))
    key = cache.cache_key(SAXPY, "sm_80")
    assert (tmp_path / key[:2] / f"{key}.cubin").read_bytes() == r.cubin


def test_failed_write_leaves_no_entry_and_still_compiles(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CACHE_DIR", str(tmp_path))

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache.os, "replace", boom)
    r = cache.compile_cached(SAXPY, "sm_80")
    assert ".entry saxpy" in r.ptx
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # temp files were removed


def test_compile_errors_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CACHE_DIR", str(tmp_path))
    for _ in range(2):
        with pytest.raises(CudaCompileError):
            cache.compile_cached("this is not C++", "sm_80")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_partial_entry_is_recompiled(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CACHE_DIR", str(tmp_path))
    r = cache.compile_cached(SAXPY, "sm_80")
    key = cache.cache_key(SAXPY, "sm_80")
    (tmp_path / key[:2] / f"{key}.cubin").unlink()
    assert cache.compile_cached(SAXPY, "sm_80") == r


def test_available_is_a_clean_bool():
    assert isinstance(driver.available(), bool)


def test_driver_calls_without_gpu_raise_typed_error():
    if driver.available():
        pytest.skip("a GPU is present")
    with pytest.raises(driver.CudaDriverError):
        driver.load_kernel(compile_cuda(SAXPY, "sm_80"), "saxpy")


def _compile_for_device(src):
    return compile_cuda(src, driver.device_arch())


@pytest.mark.gpu
@pytest.mark.parametrize("prefer", ["cubin", "ptx"])
def test_saxpy_launch_matches_numpy(prefer):
    n = 10_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n, dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    expected = np.float32(2.5) * x + y
    try:
        k = driver.load_kernel(_compile_for_device(SAXPY), "saxpy", prefer=prefer)
    except driver.CudaDriverError as exc:
        if prefer == "ptx":
            pytest.skip(f"driver rejected NVRTC's PTX (newer PTX ISA than the driver): {exc}")
        raise
    assert k.loaded_from == prefer
    driver.launch(k, (n + 255) // 256, 256, [np.float32(2.5), x, y, np.int32(n)])
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.gpu
def test_dynamic_shared_memory_above_48k():
    per_block = 16 * 1024  # 64 KiB of floats
    blocks = 3
    x = np.arange(per_block * blocks, dtype=np.float32)
    y = np.zeros_like(x)
    k = driver.load_kernel(_compile_for_device(REVERSE_SMEM), "reverse_blocks")
    driver.launch(k, blocks, 256, [x, y, np.int32(per_block)], shared_bytes=per_block * 4)
    np.testing.assert_array_equal(y, x.reshape(blocks, per_block)[:, ::-1].ravel())


@pytest.mark.gpu
def test_bad_launch_arguments_are_axe_errors():
    k = driver.load_kernel(_compile_for_device(SAXPY), "saxpy")
    with pytest.raises(driver.CudaDriverError, match="argument 0"):
        driver.launch(k, 1, 32, [2.5])
    with pytest.raises(driver.CudaDriverError, match="grid"):
        driver.launch(k, 0, 32, [])


class _FakeDeviceArray:
    """Only ``__cuda_array_interface__``: enough to check argument binding without a GPU."""

    def __init__(self, shape, strides, typestr="<f4", ptr=4096):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (ptr, False),
                                         "strides": tuple(s * int(typestr[2:]) for s in strides), "version": 3}


def test_device_arrays_are_bound_by_pointer_with_their_strides_checked():
    import axe
    from backends.cuda.run import device_args_plan
    from lowering import ir

    col = ir.Buffer("a", "f32", 32, "global", (ir.Const(4, "i32"), ir.Const(8, "i32")),
                    axe.Layout.parse("S[(4,8):(1,4)]"))
    row = ir.Buffer("b", "f32", 32, "global", (ir.Const(4, "i32"), ir.Const(8, "i32")))
    k = ir.Kernel("k", (col, row, ir.Var("n", "i32")), (1,), 32, ())
    plan = device_args_plan(k, [_FakeDeviceArray((4, 8), (1, 4)), _FakeDeviceArray((4, 8), (8, 1), ptr=8192), 3])
    assert [e[:2] for e in plan[:2]] == [("device", 4096), ("device", 8192)] and plan[2][0] == "scalar"
    with pytest.raises(axe.AxeError, match=r"tensor 'a' must have element strides \(1, 4\) on the GPU, got \(8, 1\)"):
        device_args_plan(k, [_FakeDeviceArray((4, 8), (8, 1)), _FakeDeviceArray((4, 8), (8, 1)), 3])
    with pytest.raises(axe.AxeError, match="tensor 'b' must be f32"):
        device_args_plan(k, [_FakeDeviceArray((4, 8), (1, 4)), _FakeDeviceArray((4, 8), (8, 1), "<i4"), 3])
