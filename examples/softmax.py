"""Row softmax, one warp per row, with warp-level (shuffle) max and sum reductions."""

import sys
import time

import numpy as np

import dsl

R, C = dsl.dim("rows"), dsl.dim("cols")


@dsl.kernel(grid=lambda rows: ((rows + 3) // 4,), threads=128)
def softmax(x: dsl.Tensor[(R, C), dsl.f32], y: dsl.Tensor[(R, C), dsl.f32], rows: dsl.i32, cols: dsl.i32):
    row = dsl.cta_id() * 4 + dsl.warp_id()
    lane = dsl.lane_id()
    if row < rows:
        m = -3.0e38
        for j in range(lane, cols, 32):
            m = max(m, x[row, j])
        for s in range(5):
            m = max(m, dsl.shfl_xor(m, 1 << s))
        total = 0.0
        for j in range(lane, cols, 32):
            e = dsl.exp(x[row, j] - m)
            y[row, j] = e
            total += e
        for s in range(5):
            total += dsl.shfl_xor(total, 1 << s)
        for j in range(lane, cols, 32):
            y[row, j] = y[row, j] / total


def reference(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main(rows: int = 256, cols: int = 1000) -> float:
    x = np.random.default_rng(0).standard_normal((rows, cols), np.float32) * 4
    y = np.zeros_like(x)
    t0 = time.perf_counter()
    softmax(x, y, rows, cols)
    dt = time.perf_counter() - t0
    np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-7)
    print(f"softmax {rows}x{cols}: PASS ({dt * 1e3:.1f} ms)")
    return dt


if __name__ == "__main__":
    main(*map(int, sys.argv[1:3]))
