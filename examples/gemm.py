"""Tiled GEMM, f16 in, f32 accumulate: CTA-collective copies of A/B tiles into shared memory, then
warp-level ``mma.sync.m16n8k16`` on the PTX fragment layouts (emulated whole-warp on CPU).

CTA tile 64x64 (4 warps, each a 32x32 quadrant = 2x4 mma tiles), K step 32.
"""

import sys
import time

import numpy as np

import dsl

M, N, K = dsl.dim("m"), dsl.dim("n"), dsl.dim("k")


@dsl.kernel(grid=lambda m, n: (n // 64, m // 64), threads=128)
def gemm(a: dsl.Tensor[(M, K), dsl.f16], b: dsl.Tensor[(K, N), dsl.f16], c: dsl.Tensor[(M, N), dsl.f32],
         m: dsl.i32, n: dsl.i32, k: dsl.i32):
    As = dsl.alloc_shared((64, 32), dsl.f16)
    Bs = dsl.alloc_shared((32, 64), dsl.f16)
    acc = dsl.alloc_local((32,), dsl.f32)      # 2x4 tiles x 4 regs (m16n8 C fragments)
    af = dsl.alloc_local((16,), dsl.f16)       # 2 A fragments (m16k16)
    bf = dsl.alloc_local((16,), dsl.f16)       # 4 B fragments (k16n8)
    tid = dsl.thread_id()
    lane = dsl.lane_id()
    g = lane >> 2
    t = lane % 4
    wm = (dsl.warp_id() // 2) * 32
    wn = (dsl.warp_id() % 2) * 32
    row0 = dsl.cta_id(1) * 64
    col0 = dsl.cta_id(0) * 64
    for r in range(32):
        acc[r] = 0.0
    for k0 in range(0, k, 32):
        for e in range(tid, 64 * 32, 128):          # CTA-collective copy of the A and B tiles
            As[e // 32, e % 32] = a[row0 + e // 32, k0 + e % 32]
            Bs[e // 64, e % 64] = b[k0 + e // 64, col0 + e % 64]
        dsl.barrier()
        for kk in range(0, 32, 16):
            for mi in range(2):                      # a_i: row g + 8*((i>>1)&1), col 2t + (i&1) + 8*(i>>2)
                for i in range(8):
                    af[mi * 8 + i] = As[wm + mi * 16 + g + 8 * ((i >> 1) & 1), kk + 2 * t + (i & 1) + 8 * (i >> 2)]
            for ni in range(4):                      # b_i: row 2t + (i&1) + 8*(i>>1), col g
                for i in range(4):
                    bf[ni * 4 + i] = Bs[kk + 2 * t + (i & 1) + 8 * (i >> 1), wn + ni * 8 + g]
            for mi in range(2):
                for ni in range(4):
                    dsl.mma_m16n8k16(acc, (mi * 4 + ni) * 4, af, mi * 8, bf, ni * 4)
        dsl.barrier()
    for mi in range(2):                              # c_i: row g + 8*(i>>1), col 2t + (i&1)
        for ni in range(4):
            for i in range(4):
                c[row0 + wm + mi * 16 + g + 8 * (i >> 1), col0 + wn + ni * 8 + 2 * t + (i & 1)] = \
                    acc[(mi * 4 + ni) * 4 + i]


def run(size: int = 256, verbose: bool = True) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(np.float16)
    b = rng.standard_normal((size, size)).astype(np.float16)
    c = np.zeros((size, size), np.float32)
    gemm(a, b, c, size, size, size)              # warm (compiles once)
    t0 = time.perf_counter()
    gemm(a, b, c, size, size, size)
    dt = time.perf_counter() - t0
    want = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-3 * np.sqrt(size))
    if verbose:
        k = gemm.compile((size // 64, size // 64))
        print(f"gemm {size}x{size}x{size} f16->f32: grid {k.grid} x {k.threads} threads, "
              f"{(size // 16) * (size // 8) * (size // 16)} mma.sync m16n8k16 emulated")
        print(f"  max |err| vs numpy f32 = {np.abs(c - want).max():.2e}")
        print(f"gemm: PASS ({dt * 1e3:.1f} ms per run)")
    return dt


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
