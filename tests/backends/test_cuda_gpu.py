"""The examples on a GPU (marker ``gpu``; skipped without one): each against numpy, the CPU and CUDA
backends bit-for-bit on integer kernels, zero-copy device tensors, and compute-sanitizer memcheck and
racecheck on every example."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from backends.cuda import driver
from dsl.cli import load_module

ROOT = pathlib.Path(__file__).parents[2]
EX = ROOT / "examples"
pytestmark = pytest.mark.gpu   # conftest.py skips: "no CUDA GPU on this machine" / "cuda-python is not installed"
HOPPER = driver.available() and driver.device_arch() == "sm_90"


@pytest.fixture(autouse=True)
def _waits_trap(monkeypatch):
    """A broken mbarrier pipeline traps after 2^28 polls (a launch error) instead of hanging the GPU."""
    monkeypatch.setenv("AXE_CUDA_WAIT_LIMIT", str(2**28))


def _load(name):
    return load_module(EX / f"{name}.py", f"gpu_{name}")


@pytest.mark.parametrize("name, call", [
    ("gemm", lambda m: [m.run(512, verbose=False, backend="cuda", kernel=k)
                        for k in (m.gemm, m.gemm_cta, m.gemm_bf16)]),
    ("softmax", lambda m: m.main(4096, 1024, backend="cuda")),
    ("transpose", lambda m: m.main(512, 256, backend="cuda")),
    ("reduction", lambda m: m.main(1_000_003, backend="cuda")),
    ("vector_add", lambda m: m.main(100_003, backend="cuda")),
    ("motivating_example", lambda m: m.main(backend="cuda")),
    pytest.param("gemm_hopper", lambda m: [m.main(1024, backend="cuda", kernel=k) for k in m.KERNELS],
                 marks=pytest.mark.skipif(not HOPPER, reason="TMA + wgmma need sm_90")),
])
def test_examples_on_the_gpu(name, call):
    call(_load(name))                                      # each asserts against numpy


def test_integer_kernels_agree_bit_for_bit():
    t = _load("transpose")
    a = np.random.default_rng(0).integers(-1000, 1000, (301, 303), dtype=np.int32)
    outs = []
    for backend in ("cpu", "cuda"):
        b = np.zeros((303, 301), np.int32)
        t.transpose_any(a, b, 301, 303, backend=backend)
        outs.append(b)
    assert np.array_equal(outs[0], outs[1])
    r = _load("reduction")
    x = np.random.default_rng(1).integers(-(2**40), 2**40, 100_003, dtype=np.int64)
    parts = []
    for backend in ("cpu", "cuda"):
        p = np.zeros(r.CTAS, np.int64)
        r.total(x, p, x.size, backend=backend)
        parts.append(p)
    assert np.array_equal(parts[0], parts[1])


def test_launch_on_a_stream_returns_before_the_kernel_ends():
    torch = pytest.importorskip("torch")
    v = _load("vector_add")
    n = 1 << 20
    a, b, c = (torch.randn(n, device="cuda") for _ in range(3))
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())     # the inputs were made on the current stream
    with torch.cuda.stream(s):
        v.vector_add(a, b, c, n, backend="cuda", stream=s)
    s.synchronize()
    assert torch.equal(c, a + b)


@pytest.mark.skipif(not HOPPER, reason="TMA + wgmma need sm_90")
@pytest.mark.parametrize("dt", ["f16", "bf16"])
def test_warp_specialised_gemm_on_torch_tensors(dt):
    """Through zero-copy device tensors (bf16 through DLPack, torch has no typestr for it), at the
    8192-wide K of the benchmark's shapes."""
    torch = pytest.importorskip("torch")
    h = _load("gemm_hopper")
    kern = h.gemm_hopper_ws if dt == "f16" else h.gemm_hopper_ws_bf16
    tdt = torch.float16 if dt == "f16" else torch.bfloat16
    m, n, k = 512, 768, 8192
    a, b = torch.randn(m, k, device="cuda").to(tdt), torch.randn(n, k, device="cuda").to(tdt)
    c = torch.zeros(m, n, device="cuda")
    kern(a, b, c, m, n, k, backend="cuda")
    ref = a.float() @ b.float().t()
    assert float((c - ref).abs().max()) <= 1e-3 * float(ref.abs().max())


def test_device_tensors_are_used_in_place():
    torch = pytest.importorskip("torch")
    v = _load("vector_add")
    n = 4096
    a = torch.randn(n, device="cuda")
    b = torch.randn(n, device="cuda")
    c = torch.zeros(n, device="cuda")
    v.vector_add(a, b, c, n, backend="cuda")
    torch.cuda.synchronize()
    assert torch.equal(c, a + b)


@pytest.mark.parametrize("tool", ["memcheck", "racecheck"])
@pytest.mark.parametrize("name", ["gemm", "softmax", "transpose", "reduction", "vector_add", "motivating_example",
                                  pytest.param("gemm_hopper", marks=pytest.mark.skipif(not HOPPER, reason="sm_90"))])
def test_examples_are_sanitizer_clean(tool, name):
    sanitizer = shutil.which("compute-sanitizer")
    if sanitizer is None:
        pytest.skip("compute-sanitizer is not installed")
    args = {"gemm": ["128"], "softmax": ["64", "256"], "transpose": ["64", "64"], "reduction": ["10007"],
            "gemm_hopper": ["256"]}.get(name, [])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sanitizer, "--tool", tool, "--error-exitcode", "3", sys.executable, str(EX / f"{name}.py"),
                          *args, "--backend", "cuda"], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "PASS" in res.stdout


def test_split_kernel_on_device_buffers_with_host_staging():
    """Figure 8 with CuPy arrays on 4 simulated ranks: the host calls stage device buffers through the host
    (NCCL needs one GPU per rank; with one GPU the staging path is what runs)."""
    cp = pytest.importorskip("cupy")
    import axe
    from collectives import run_simulated
    ex = _load("reduce_scatter")
    x = np.random.default_rng(7).standard_normal((4, 64, 64)).astype(np.float32)

    def body(rank):
        out = cp.zeros((16, 64), cp.float32)
        ex.reduce_scatter(cp.asarray(x[rank.rank:rank.rank + 1]), out, mesh=rank)
        return cp.asnumpy(out)

    for r, y in enumerate(run_simulated(axe.Mesh(g=4), body)):
        np.testing.assert_allclose(y, x.sum(0)[16 * r:16 * r + 16], rtol=1e-5, atol=1e-5)
