"""Matrix transpose through a 32x33 shared-memory tile (padded against bank conflicts)."""

import time

import numpy as np

import dsl

M, N = dsl.dim("m"), dsl.dim("n")


@dsl.kernel(grid=lambda m, n: ((n + 31) // 32, (m + 31) // 32), threads=256)
def transpose(a: dsl.Tensor[(M, N), dsl.i32], b: dsl.Tensor[(N, M), dsl.i32], m: dsl.i32, n: dsl.i32):
    tile = dsl.alloc_shared((32, 33), dsl.i32)
    tx = dsl.thread_id() % 32
    ty = dsl.thread_id() // 32
    for r in range(ty, 32, 8):
        i = dsl.cta_id(1) * 32 + r
        j = dsl.cta_id(0) * 32 + tx
        if i < m and j < n:
            tile[r, tx] = a[i, j]
    dsl.barrier()
    for r in range(ty, 32, 8):
        i = dsl.cta_id(0) * 32 + r
        j = dsl.cta_id(1) * 32 + tx
        if i < n and j < m:
            b[i, j] = tile[tx, r]


def main(m: int = 300, n: int = 200) -> None:
    a = np.random.default_rng(0).integers(-1000, 1000, (m, n), dtype=np.int32)
    b = np.zeros((n, m), np.int32)
    t0 = time.perf_counter()
    transpose(a, b, m, n)
    dt = time.perf_counter() - t0
    assert np.array_equal(b, a.T), "mismatch"
    print(f"transpose {m}x{n}: PASS ({dt * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
