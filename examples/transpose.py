"""Matrix transpose through shared memory, written with layouts: a CTA copies a 32x32 tile into shared
memory laid out column-major with a padded stride of 33 (no bank conflicts), then views the same storage
transposed and copies it out. Ragged edges (m or n not a multiple of 32) are handled by a thread-level
kernel mixing plain per-thread code with the same padded tile.

Run: python examples/transpose.py [M] [N] [--backend cpu|cuda]
"""

import time

import numpy as np

import dsl

M, N = dsl.dim("m"), dsl.dim("n")
TILE = "S[(32,32):(1,33)]"       # tile[i, j] at i + 33 j: column-major, padded
TILE_T = "S[(32,32):(33,1)]"     # the same storage seen transposed: tile_t[j, i] = tile[i, j]


@dsl.kernel(grid=lambda m, n: (n // 32, m // 32), threads=256, example={"m": 512, "n": 256},
            multiple_of={"m": 32, "n": 32})
def transpose(a: dsl.Tensor[(M, N), dsl.i32], b: dsl.Tensor[(N, M), dsl.i32], m: dsl.i32, n: dsl.i32):
    tile = dsl.alloc_shared((32, 32), dsl.i32, layout=TILE)
    i0 = dsl.cta_id(1) * 32
    j0 = dsl.cta_id(0) * 32
    dsl.copy(tile, a[i0:i0 + 32, j0:j0 + 32])
    dsl.barrier()
    dsl.copy(b[j0:j0 + 32, i0:i0 + 32], tile.view((32, 32), layout=TILE_T))


@dsl.kernel(grid=lambda m, n: ((n + 31) // 32, (m + 31) // 32), threads=256, example={"m": 300, "n": 200})
def transpose_any(a: dsl.Tensor[(M, N), dsl.i32], b: dsl.Tensor[(N, M), dsl.i32], m: dsl.i32, n: dsl.i32):
    tile = dsl.alloc_shared((32, 32), dsl.i32, layout=TILE)
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


def main(m: int = 512, n: int = 256, backend: str = "cpu") -> None:
    a = np.random.default_rng(0).integers(-1000, 1000, (m, n), dtype=np.int32)
    kern = transpose if m % 32 == 0 and n % 32 == 0 else transpose_any
    b = np.zeros((n, m), np.int32)
    kern(a, b, m, n, backend=backend)
    b[:] = 0
    t0 = time.perf_counter()
    kern(a, b, m, n, backend=backend)
    dt = time.perf_counter() - t0
    assert np.array_equal(b, a.T), "mismatch"
    b2 = np.zeros((303, 301), np.int32)
    a2 = np.random.default_rng(1).integers(-9, 9, (301, 303), dtype=np.int32)
    transpose_any(a2, b2, 301, 303, backend=backend)
    assert np.array_equal(b2, a2.T), "mismatch (ragged)"
    print(f"transpose {m}x{n} ({kern.name}) and 301x303 (transpose_any) on {backend}: PASS ({dt * 1e3:.1f} ms)")


if __name__ == "__main__":
    main(*map(int, dsl.positional()[:2]), backend=dsl.backend_option())
