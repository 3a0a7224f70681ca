"""Host time per cached kernel call: what a user pays on top of the kernel when calling a DSL kernel.

The kernel: `examples/gemm.py`'s `gemm` at 64x64x64 (one CTA; f16 in, f32 out), already compiled.

- With a GPU (cuda-python, a device, torch): 200 calls queued back to back on a torch stream with torch
  tensors, timed on the host (wall clock around the loop, then one synchronize), per call; side by side with
  `torch.mm` on the same shapes and with a raw `cuLaunchKernel` of the same cubin (arguments packed once):
  the floor any launch path has.
- Without a GPU: the host work of a CUDA call up to the first driver call, labelled as such: the call
  (`KernelFunction.__call__`: binding, `multiple_of`, grid, specialisation lookup, backend) and
  `backends.cuda.run.prepare` (argument plan, staging, aliasing, the tensors the kernel writes) on fake
  device tensors (`__cuda_array_interface__` with aligned addresses), run through a backend registered here
  that stops before the driver. On a tree without `prepare` (before the launch fast path) the same steps are
  timed as that tree's `run` performed them, so two checkouts compare side by side.

Run: python benchmarks/launch_overhead.py [--calls N] [--kernel gemm|ws]
Its last line: `launch overhead: <X> us per call (<what was timed>)`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from bench_common import example

import backends
from backends.cuda import driver
from backends.cuda import run as cuda_run
from lowering.irutil import written_tensors


class FakeDeviceTensor:
    """Something a CUDA kernel call accepts as a device tensor, with no GPU behind it."""

    _next = 1 << 20

    def __init__(self, shape, typestr: str):
        FakeDeviceTensor._next += 1 << 20          # distinct, 1 MiB-aligned fake addresses
        self.__cuda_array_interface__ = {"shape": tuple(shape), "typestr": typestr,
                                         "data": (FakeDeviceTensor._next, False), "version": 3, "strides": None}


def _prepare_as_before(kernel, args, *, arch=None, stream=None):
    """The host steps of a launch on a tree without ``prepare`` (as its ``run`` did them, up to the driver)."""
    handle = None if stream is None else cuda_run.stream_handle(stream)
    src = cuda_run._source(kernel)
    plan = cuda_run.device_args_plan(kernel, args, dict(src.alignment), handle or 0)
    written = written_tensors(kernel)
    cuda_run.staging(kernel, plan, written)


KERNELS = {   # --kernel: (example file, kernel, m, n, k, B stored (k, n) or transposed (n, k))
    "gemm": ("gemm", "gemm", 64, 64, 64, False),
    "ws": ("gemm_hopper", "gemm_hopper_ws", 128, 256, 64, True),   # the GPU check's tiny Hopper GEMM
}


def host_only(calls: int, which: str) -> None:
    prepare = getattr(cuda_run, "prepare", _prepare_as_before)
    what = "prepare" if hasattr(cuda_run, "prepare") else "the same steps as this tree's run"
    if hasattr(backends, "register"):
        name = "cuda-host-only"
        backends.register(backends.Backend(name, "cuda", lambda k, a, *, arch=None, stream=None:
                                           prepare(k, a, arch=arch, stream=stream),
                                           default_arch="sm_90a", select=lambda: ("cuda", "sm_90a"), streams=True))
    else:   # a tree without the backend registry: its cuda path, the driver's two calls replaced
        name = "cuda"
        driver.target_arch = lambda: "sm_90a"
        cuda_run.run = lambda k, a, *, arch=None, stream=None: prepare(k, a, arch=arch, stream=stream)
    file, kname, m, n, k, bt = KERNELS[which]
    gemm = getattr(example(file), kname)
    a, c = FakeDeviceTensor((m, k), "<f2"), FakeDeviceTensor((m, n), "<f4")
    b = FakeDeviceTensor((n, k) if bt else (k, n), "<f2")
    call = lambda: gemm(a, b, c, m, n, k, backend=name, stream=7)  # noqa: E731
    call()                                          # compiles (lowering only: no NVRTC, no driver)
    per_call = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        per_call.append((time.perf_counter() - t0) / calls * 1e6)
    lowered = gemm.specialise(backend="cuda", arch="sm_90a", m=m, n=n, k=k)
    t0 = time.perf_counter()
    for _ in range(calls):
        prepare(lowered, [a, b, c, m, n, k], arch="sm_90a", stream=7)
    prep = (time.perf_counter() - t0) / calls * 1e6
    us = statistics.median(per_call)
    print(f"no GPU: host work of a CUDA call up to the first driver call, {kname} {m}x{n}x{k}, {calls} calls x 5")
    print(f"  whole call (median of 5): {us:8.1f} us   of which the runtime's {what}: {prep:6.1f} us")
    print(f"launch overhead: {us:.1f} us per call (host work up to the driver call, no GPU; "
          f"{time.strftime('%Y-%m-%d')})")


def on_gpu(calls: int) -> None:
    import ctypes

    import torch  # optional dependency of this benchmark: the GPU comparison needs torch

    gemm = example("gemm").gemm
    n = 64
    a = torch.randn(n, n, device="cuda", dtype=torch.float16)
    b = torch.randn(n, n, device="cuda", dtype=torch.float16)
    c = torch.empty(n, n, device="cuda", dtype=torch.float32)
    s = torch.cuda.current_stream()

    def per_call_us(fn) -> float:
        fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / calls * 1e6

    ours = per_call_us(lambda: gemm(a, b, c, n, n, n, backend="cuda", stream=s))
    torch.testing.assert_close(c, a.float() @ b.float(), rtol=2e-2, atol=2e-2)
    c16 = torch.empty(n, n, device="cuda", dtype=torch.float16)
    torch_mm = per_call_us(lambda: torch.mm(a, b, out=c16))
    # the floor: the same cubin through cuLaunchKernel with its arguments packed once
    lowered = gemm.specialise(backend="cuda", arch=driver.target_arch(), m=n, n=n, k=n)
    req = cuda_run.prepare(lowered, [a, b, c, n, n, n], stream=s)
    src = req.src
    k = cuda_run._loaded(src.code, src.name, driver.target_arch(), cuda_run.compile_options())
    drv = driver._driver()
    holders = [ctypes.c_uint64(int(e[1])) if e[0] == "device" else e[1] for e in req.plan]
    params = (ctypes.c_void_p * len(holders))(*[ctypes.addressof(h) for h in holders])
    raw = per_call_us(lambda: drv.cuLaunchKernel(k.function, 1, 1, 1, src.threads, 1, 1, src.shared_bytes,
                                                 s.cuda_stream, ctypes.addressof(params), 0))
    print(f"device {torch.cuda.get_device_name()}, {time.strftime('%Y-%m-%d')}, gemm 64x64x64, {calls} async calls")
    print(f"  DSL call {ours:8.1f} us   torch.mm {torch_mm:8.1f} us   raw cuLaunchKernel {raw:8.1f} us   "
          f"DSL / torch {ours / torch_mm:5.2f}x")
    print(f"launch overhead: {ours:.1f} us per call (end to end on the GPU, async on a torch stream)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--kernel", choices=sorted(KERNELS), default="gemm", help="(without a GPU) the kernel called")
    ns = p.parse_args()
    try:
        import torch  # noqa: F401  (optional: the GPU comparison needs it)
        gpu = driver.available() and torch.cuda.is_available()
    except ImportError:
        gpu = False
    on_gpu(ns.calls) if gpu else host_only(ns.calls, ns.kernel)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
