"""GEMM, f32 accumulate: the DSL's kernels vs `torch.matmul` (cuBLAS), side by side, TFLOP/s and ratio.

On sm_90: `examples/gemm_hopper.py`'s warp-specialised `gemm_hopper_ws` (FP16) and `gemm_hopper_ws_bf16`
(BF16) -- a TMA producer warpgroup, two wgmma consumer warpgroups, 128x256 tiles, 4 stages --, the same on a
persistent grid of one CTA per SM (`gemm_hopper_persistent`, FP16), its ping-pong variant (the two consumer
warpgroups on alternate 128x128 tiles, `gemm_hopper_pingpong`, FP16), and the double-buffered
`gemm_hopper_pipelined` (FP16) for comparison; C = A @ B^T with A (M, K), B (N, K). Elsewhere
`examples/gemm.py`'s `gemm_cta` / `gemm_bf16` (cp.async + ldmatrix + mma.sync). The cuBLAS call computes the
same product in the same dtype (bf16/f16 inputs, f32 output via `out_dtype` where torch has it, else f16/bf16
output: cuBLAS then does a little less work than we do).

Timing: `--reps` launches queued back to back on one stream between CUDA events (each side the same way),
after a warm-up; the DSL kernels launch with `stream=torch.cuda.current_stream()`.

Run on a GPU machine: python benchmarks/gemm.py [--sizes 4096,8192] [--reps 20] [--no-mlp] [--dtypes f16,bf16]
Shapes: M=N=K in --sizes, and the paper's MLP shapes at M=8192 (N, K) = (4096, 4096), (14336, 4096),
(4096, 14336) for an 8B model and (8192, 8192), (28672, 8192), (8192, 28672) for a 70B model.
Without a GPU or without torch it says so and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

from bench_common import example, timed_stream  # (puts the repository root on the path)

from backends.cuda import driver  # noqa: E402


def _kernels(hopper: bool, dtypes, sms: int):
    """(label, kernel, dtype, extra arguments) for each DSL kernel to measure."""
    if hopper:
        ex = example("gemm_hopper")
        table = {"f16": [("ws", ex.gemm_hopper_ws, ()), ("persistent", ex.gemm_hopper_persistent, (sms,)),
                         ("pingpong", ex.gemm_hopper_pingpong, (sms,)), ("pipelined", ex.gemm_hopper_pipelined, ())],
                 "bf16": [("ws", ex.gemm_hopper_ws_bf16, ())]}
    else:
        ex = example("gemm")
        table = {"f16": [("cta", ex.gemm_cta, ())], "bf16": [("cta", ex.gemm_bf16, ())]}
    return [(f"{label} {dt}", k, dt, extra) for dt in dtypes for label, k, extra in table[dt]]


def _matmul(torch, a, bb):
    """cuBLAS with f32 output where torch offers it (out_dtype, torch >= 2.9), else in the input dtype."""
    try:
        torch.mm(a[:16, :16], bb[:16, :16], out_dtype=torch.float32)
        return lambda: torch.mm(a, bb, out_dtype=torch.float32), "f32 out"
    except (TypeError, RuntimeError):
        return lambda: torch.mm(a, bb), f"{str(a.dtype)[6:]} out"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="4096,8192")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--no-mlp", action="store_true")
    p.add_argument("--dtypes", default="f16,bf16")
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
    shapes = [(s, s, s) for s in map(int, ns.sizes.split(","))]
    if not ns.no_mlp:
        shapes += [(8192, n, k) for n, k in ((4096, 4096), (14336, 4096), (4096, 14336),
                                             (8192, 8192), (28672, 8192), (8192, 28672))]
    print(f"device {torch.cuda.get_device_name()}, arch {driver.device_arch()}, {time.strftime('%Y-%m-%d')}, "
          f"{ns.reps} launches back to back per figure")
    print(f"{'kernel':>14}{'M':>7}{'N':>7}{'K':>7}  {'DSL TFLOP/s':>12}{'cuBLAS TFLOP/s':>16}{'ratio':>8}")
    stream = torch.cuda.current_stream()
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    for label, kern, dt, extra in _kernels(hopper, ns.dtypes.split(","), sms):
        tdt = {"f16": torch.float16, "bf16": torch.bfloat16}[dt]
        for m, n, k in shapes:
            a = torch.randn(m, k, device="cuda").to(tdt)
            b = torch.randn(n, k, device="cuda").to(tdt) if hopper else torch.randn(k, n, device="cuda").to(tdt)
            c = torch.zeros(m, n, device="cuda", dtype=torch.float32)
            # bf16 tensors go to the DSL as their raw 16 bits (a view, no copy)
            a_in, b_in = (a.view(torch.int16), b.view(torch.int16)) if dt == "bf16" else (a, b)
            ours = timed_stream(functools.partial(kern, a_in, b_in, c, m, n, k, *extra, backend="cuda",
                                                  stream=stream), ns.reps, torch)
            bb = b.t() if hopper else b
            ref = torch.matmul(a.float(), bb.float())
            err = float((c - ref).abs().max() / ref.abs().max())
            theirs_fn, what = _matmul(torch, a, bb)
            theirs = timed_stream(theirs_fn, ns.reps, torch)
            flops = 2 * m * n * k
            print(f"{label:>14}{m:>7}{n:>7}{k:>7}  {flops / ours / 1e12:>12.1f}{flops / theirs / 1e12:>16.1f}"
                  f"{theirs / ours:>8.3f}   (max rel err {err:.1e}; cuBLAS {what})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
