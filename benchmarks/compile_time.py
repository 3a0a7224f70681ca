"""Compile time of the GEMM kernels, DSL source -> cubin, no GPU needed: cold (empty specialisation
cache, empty NVRTC disk cache) and cached (second request: the specialisation cache answers, then the
disk cache instead of NVRTC). Targets (CUDA issue): cold <= 1 s, cached <= 10 ms.

Run: python benchmarks/compile_time.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from bench_common import example  # (puts the repository root on the path)


def to_cubin(kern, arch):
    from backends.cuda.cache import compile_cached
    from lowering.cuda import emit_cuda

    src = emit_cuda(kern.specialise(backend="cuda", arch=arch, **kern.example))
    return compile_cached(src.code, arch)


def main() -> int:
    os.environ["AXE_CACHE_DIR"] = tempfile.mkdtemp(prefix="axe-ct-")
    from backends.cuda.nvrtc import nvrtc_version

    print(f"{time.strftime('%Y-%m-%d')}, NVRTC {'.'.join(map(str, nvrtc_version()))}, CPU only")
    print(f"{'kernel':<37}{'arch':<8}{'cold':>10}{'cached':>10}")
    for mod, name, arch in (("gemm", "gemm", "sm_80"), ("gemm", "gemm_cta", "sm_80"),
                            ("gemm_hopper", "gemm_hopper", "sm_90a"), ("gemm_hopper", "gemm_hopper_ws", "sm_90a"),
                            ("gemm_hopper", "gemm_hopper_ws_bf16", "sm_90a"),
                            ("gemm_hopper", "gemm_hopper_persistent", "sm_90a"),
                            ("gemm_hopper", "gemm_hopper_pingpong", "sm_90a")):
        kern = getattr(example(mod), name)
        kern._cache.clear()
        t0 = time.perf_counter()
        to_cubin(kern, arch)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        to_cubin(kern, arch)
        cached = time.perf_counter() - t0
        print(f"{mod + '.' + name:<37}{arch:<8}{cold * 1e3:>8.0f}ms{cached * 1e3:>8.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
