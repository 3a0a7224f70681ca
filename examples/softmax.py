"""Row softmax, one warp per row (4 rows per 128-thread CTA), on register tensors with Axe layouts:
load a 4 x COLS tile into registers (4 consecutive columns per lane: 16-byte loads, coalesced), reduce
max and sum over the columns (the layouts put each row in one warp, so the schedule reduces with lane
shuffles), normalise with pointwise operators, store.

Run: python examples/softmax.py [ROWS] [COLS] [--backend cpu|cuda]
"""

import time

import numpy as np

import axe
import dsl

R, C = dsl.dim("rows"), dsl.dim("COLS")


def layouts(cols: int):
    """(tile layout, row-statistics layout) for 4 rows x ``cols``: row -> warp; with cols a multiple of 128,
    four consecutive columns per lane (column c -> lane c // 4 % 32, register 4 * (c // 128) + c % 4, so
    each thread moves 16 bytes at a time), else column c -> lane c % 32, register c // 32; the statistics
    are replicated over the lanes of their warp."""
    if cols % 128 == 0:
        tile = axe.Layout.parse(f"S[(4,{cols // 128},32,4):(1@warp,4@reg,1@lane,1@reg)]")
    else:
        tile = axe.Layout.parse(f"S[(4,{cols // 32},32):(1@warp,1@reg,1@lane)]")
    return tile, dsl.reduce_layout(tile, (4, cols), (1,), keepdims=True)


@dsl.kernel(grid=lambda rows: (rows // 4,), threads=128, example={"rows": 4096, "COLS": 1024},
            multiple_of={"rows": 4})
def softmax(x: dsl.Tensor[(R, C), dsl.f32], y: dsl.Tensor[(R, C), dsl.f32], rows: dsl.i32,
            COLS: dsl.const):
    t = dsl.alloc_local((4, COLS), dsl.f32, layout=layouts(COLS)[0])
    stat = dsl.alloc_local((4, 1), dsl.f32, layout=layouts(COLS)[1])
    row0 = dsl.cta_id() * 4
    dsl.copy(t, x[row0:row0 + 4, 0:COLS])
    dsl.max(stat, t, dims=(1,))                       # lane shuffles (5 butterfly steps)
    dsl.pointwise(t, lambda v, m: dsl.exp(v - m), t, stat)
    dsl.sum(stat, t, dims=(1,))
    dsl.div(t, t, stat)
    dsl.copy(y[row0:row0 + 4, 0:COLS], t)


def reference(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main(rows: int = 256, cols: int = 1024, backend: str = "cpu") -> float:
    if rows % 4 or cols % 32:
        raise SystemExit(f"rows must be a multiple of 4 and cols of 32, got {rows}x{cols}")
    x = np.random.default_rng(0).standard_normal((rows, cols), np.float32) * 4
    y = np.zeros_like(x)
    softmax(x, y, rows, cols, backend=backend)          # compile + warm
    t0 = time.perf_counter()
    softmax(x, y, rows, cols, backend=backend)
    dt = time.perf_counter() - t0
    np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-7)
    print(f"softmax {rows}x{cols} on {backend}: tile layout {layouts(cols)[0]}, row stats {layouts(cols)[1]}: "
          f"PASS ({dt * 1e3:.1f} ms)")
    return dt


if __name__ == "__main__":
    main(*map(int, dsl.positional()[:2]), backend=dsl.backend_option())
