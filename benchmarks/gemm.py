"""FP16 GEMM (f32 accumulate): the DSL's kernels vs `torch.matmul` (cuBLAS), side by side, TFLOP/s and ratio.
On sm_90 `examples/gemm_hopper.py`'s double-buffered `gemm_hopper_pipelined` (TMA + wgmma, C = A @ B^T),
else `examples/gemm.py`'s `gemm_cta`
(cp.async + ldmatrix + mma.sync); the cuBLAS call computes the same product.

Run on a GPU machine: python benchmarks/gemm.py [--sizes 4096,8192] [--reps 10]
Shapes: M=N=K in --sizes, and the paper's MLP shapes at M=8192 (N, K) = (4096, 4096), (14336, 4096),
(4096, 14336) for an 8B model and (8192, 8192), (28672, 8192), (8192, 28672) for a 70B model.
Without a GPU or without torch it says so and exits 0. BF16 is not reported yet: the DSL's mma intrinsic is
f16 only (m16n8k16.f32.f16.f16.f32).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench_common import example, timed  # (puts the repository root on the path)

from backends.cuda import driver  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="4096,8192")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--no-mlp", action="store_true")
    ns = p.parse_args(argv)
    if not driver.available():
        print("gemm benchmark: no CUDA GPU here; nothing measured")
        return 0
    try:
        import torch
    except ImportError:
        print("gemm benchmark: torch (the cuBLAS baseline) is not installed; nothing measured")
        return 0
    hopper = driver.device_arch().startswith("sm_9")
    ex = example("gemm_hopper" if hopper else "gemm")
    shapes = [(s, s, s) for s in map(int, ns.sizes.split(","))]
    if not ns.no_mlp:
        shapes += [(8192, n, k) for n, k in ((4096, 4096), (14336, 4096), (4096, 14336),
                                             (8192, 8192), (28672, 8192), (8192, 28672))]
    print(f"device {torch.cuda.get_device_name()}, arch {driver.device_arch()}, {time.strftime('%Y-%m-%d')}")
    print(f"{'M':>6}{'N':>7}{'K':>7}  {'DSL TFLOP/s':>12}{'cuBLAS TFLOP/s':>16}{'ratio':>8}")
    for m, n, k in shapes:
        a = torch.randn(m, k, device="cuda", dtype=torch.float16)
        b = torch.randn(n, k, device="cuda", dtype=torch.float16) if hopper else \
            torch.randn(k, n, device="cuda", dtype=torch.float16)
        c = torch.zeros(m, n, device="cuda", dtype=torch.float32)
        kern = ex.gemm_hopper_pipelined if hopper else ex.gemm_cta
        ours = timed(lambda a=a, b=b, c=c, m=m, n=n, k=k, kern=kern: kern(a, b, c, m, n, k, backend="cuda"),
                     ns.reps, torch)
        bb = b.t() if hopper else b
        ref = torch.matmul(a.float(), bb.float())
        err = float((c - ref).abs().max() / ref.abs().max())
        theirs = timed(lambda a=a, bb=bb: torch.matmul(a, bb), ns.reps, torch)
        flops = 2 * m * n * k
        print(f"{m:>6}{n:>7}{k:>7}  {flops / ours / 1e12:>12.1f}{flops / theirs / 1e12:>16.1f}"
              f"{theirs / ours:>8.3f}   (max rel err {err:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
