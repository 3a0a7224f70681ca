"""Memory-bound kernels on a GPU: copy, transpose and row softmax written in the DSL vs torch, and vs the
device's measured copy bandwidth (a device-to-device cudaMemcpy through torch), side by side.

Run on a GPU machine: python benchmarks/memory_bound.py [--rows 16384] [--cols 4096]
Bandwidth counts bytes read + written. Each figure: --reps launches queued back to back on one stream between
CUDA events (the DSL kernels with ``stream=``), the same for both sides. Without a GPU or torch it says so and
exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench_common import example, timed_stream  # (puts the repository root on the path)

import dsl  # noqa: E402
from backends.cuda import driver  # noqa: E402

R, C = dsl.dim("rows"), dsl.dim("cols")


@dsl.kernel(grid=lambda rows: (rows // 8,), threads=256)
def copy_rows(x: dsl.Tensor[(R, C), dsl.f32], y: dsl.Tensor[(R, C), dsl.f32], rows: dsl.i32, cols: dsl.i32,
              COLS: dsl.const):
    r0 = dsl.cta_id() * 8
    dsl.copy(y[r0:r0 + 8, 0:COLS], x[r0:r0 + 8, 0:COLS])      # 16-byte vector accesses on CUDA


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=16384)
    p.add_argument("--cols", type=int, default=4096)
    p.add_argument("--reps", type=int, default=20)
    ns = p.parse_args(argv)
    if not driver.available():
        print("memory-bound benchmark: no CUDA GPU here; nothing measured")
        return 0
    try:
        import torch
    except ImportError:
        print("memory-bound benchmark: torch is not installed; nothing measured")
        return 0
    rows, cols = ns.rows, ns.cols
    x = torch.randn(rows, cols, device="cuda")
    y = torch.empty_like(x)
    nbytes = 2 * x.numel() * 4
    peak = nbytes / timed_stream(lambda: y.copy_(x), ns.reps, torch)
    s = torch.cuda.current_stream()
    print(f"device {torch.cuda.get_device_name()}, {time.strftime('%Y-%m-%d')}; measured copy bandwidth "
          f"{peak / 1e9:.0f} GB/s (read + write)")
    print(f"{'kernel':<12}{'DSL GB/s':>10}{'torch GB/s':>12}{'DSL/torch':>11}{'DSL/copy':>10}")
    tr, sm = example("transpose"), example("softmax")
    xi = torch.randint(-1000, 1000, (rows, cols), device="cuda", dtype=torch.int32)
    yi = torch.empty(cols, rows, device="cuda", dtype=torch.int32)
    x1 = torch.randn(rows, 1024, device="cuda")             # the softmax example is written for 1024 columns
    y1 = torch.empty_like(x1)
    cases = [
        ("copy", lambda: copy_rows(x, y, rows, cols, cols, backend="cuda", stream=s), lambda: y.copy_(x), nbytes),
        ("transpose", lambda: tr.transpose(xi, yi, rows, cols, backend="cuda", stream=s),
         lambda: yi.copy_(xi.t()), 2 * xi.numel() * 4),
        ("softmax", lambda: sm.softmax(x1, y1, rows, 1024, backend="cuda", stream=s),
         lambda: torch.softmax(x1, dim=1), 2 * x1.numel() * 4),
    ]
    for name, ours, theirs, moved in cases:
        a, b = timed_stream(ours, ns.reps, torch), timed_stream(theirs, ns.reps, torch)
        print(f"{name:<12}{moved / a / 1e9:>10.0f}{moved / b / 1e9:>12.0f}{b / a:>11.3f}{moved / a / peak:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
