"""Tiled GEMM, f16 in, f32 accumulate, on Axe layouts: CTA-collective copies of the A/B tiles into shared
memory, then ``mma.sync.m16n8k16`` on the PTX fragment layouts (``axe.presets.nvidia``), written two ways:

- ``gemm``: each warp copies its A/B fragments from shared memory into register tensors laid out as the
  fragments (``dsl.copy`` at warp scope, addresses from the layouts) and calls ``dsl.gemm`` at warp scope;
- ``gemm_cta``: one CTA-scope ``dsl.gemm`` on the shared tiles; the schedule finds from the accumulator's
  layout which warp owns which 16x8 tiles and loads the fragments itself.

CTA tile 64x64 (4 warps, each a 32x32 quadrant = 2x4 mma tiles), K step 32.
Run: python examples/gemm.py [SIZE] [--backend cpu|cuda]
"""

import time

import numpy as np

import axe
import dsl
from axe.presets import nvidia

M, N, K = dsl.dim("m"), dsl.dim("n"), dsl.dim("k")
FRAG_A, FRAG_B, FRAG_C = (nvidia.mma_m16n8k16(x) for x in "ABC")
# one warp's 32x32 accumulator: 2x4 C fragments in consecutive registers; its 32x16 A and 16x32 B operands
WARP_C = axe.tile(axe.Layout.parse("S[(2,4):(4@reg,1@reg)]"), FRAG_C, (2, 4), (16, 8))
WARP_A = axe.tile(axe.Layout.parse("S[(2,1):(1@reg,1@reg)]"), FRAG_A, (2, 1), (16, 16))
WARP_B = axe.tile(axe.Layout.parse("S[(1,4):(1@reg,1@reg)]"), FRAG_B, (1, 4), (16, 8))
# the whole CTA's 64x64 accumulator: warps in a 2x2 grid, each holding WARP_C
CTA_C = axe.tile(axe.Layout.parse("S[(2,2,2,4):(2@warp,4@reg,1@warp,1@reg)]"), FRAG_C, (4, 8), (16, 8))


@dsl.kernel(grid=lambda m, n: (n // 64, m // 64), threads=128, example={"m": 256, "n": 256, "k": 256})
def gemm(a: dsl.Tensor[(M, K), dsl.f16], b: dsl.Tensor[(K, N), dsl.f16], c: dsl.Tensor[(M, N), dsl.f32],
         m: dsl.i32, n: dsl.i32, k: dsl.i32):
    As = dsl.alloc_shared((64, 32), dsl.f16)
    Bs = dsl.alloc_shared((32, 64), dsl.f16)
    acc = dsl.alloc_local((32, 32), dsl.f32, layout=WARP_C)
    af = dsl.alloc_local((32, 16), dsl.f16, layout=WARP_A)
    bf = dsl.alloc_local((16, 32), dsl.f16, layout=WARP_B)
    row0 = dsl.cta_id(1) * 64
    col0 = dsl.cta_id(0) * 64
    wm = (dsl.warp_id() // 2) * 32
    wn = (dsl.warp_id() % 2) * 32
    with dsl.warp():
        dsl.fill(acc, 0.0)
    for k0 in range(0, k, 32):
        dsl.copy(As, a[row0:row0 + 64, k0:k0 + 32])          # CTA-collective
        dsl.copy(Bs, b[k0:k0 + 32, col0:col0 + 64])
        dsl.barrier()
        with dsl.warp():
            for kk in range(0, 32, 16):
                dsl.copy(af, As[wm:wm + 32, kk:kk + 16])      # fragments from the layouts
                dsl.copy(bf, Bs[kk:kk + 16, wn:wn + 32])
                dsl.gemm(acc, af, bf)                         # 2x4 mma.sync m16n8k16
        dsl.barrier()
    with dsl.warp():
        dsl.copy(c[row0 + wm:row0 + wm + 32, col0 + wn:col0 + wn + 32], acc)


@dsl.kernel(grid=lambda m, n: (n // 64, m // 64), threads=128, example={"m": 256, "n": 256, "k": 256})
def gemm_cta(a: dsl.Tensor[(M, K), dsl.f16], b: dsl.Tensor[(K, N), dsl.f16], c: dsl.Tensor[(M, N), dsl.f32],
             m: dsl.i32, n: dsl.i32, k: dsl.i32):
    As = dsl.alloc_shared((64, 32), dsl.f16)
    Bs = dsl.alloc_shared((32, 64), dsl.f16)
    acc = dsl.alloc_local((64, 64), dsl.f32, layout=CTA_C)
    row0 = dsl.cta_id(1) * 64
    col0 = dsl.cta_id(0) * 64
    dsl.fill(acc, 0.0)
    for k0 in range(0, k, 32):
        dsl.copy(As, a[row0:row0 + 64, k0:k0 + 32])
        dsl.copy(Bs, b[k0:k0 + 32, col0:col0 + 64])
        dsl.barrier()
        dsl.gemm(acc, As, Bs)
        dsl.barrier()
    dsl.copy(c[row0:row0 + 64, col0:col0 + 64], acc)


def run(size: int = 256, verbose: bool = True, backend: str = "cpu", kernel=gemm) -> float:
    if size % 64:
        raise SystemExit(f"size must be a multiple of 64 (the CTA tile), got {size}")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(np.float16)
    b = rng.standard_normal((size, size)).astype(np.float16)
    c = np.zeros((size, size), np.float32)
    kernel(a, b, c, size, size, size, backend=backend)              # warm (compiles once)
    t0 = time.perf_counter()
    kernel(a, b, c, size, size, size, backend=backend)
    dt = time.perf_counter() - t0
    want = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-3 * np.sqrt(size))
    if verbose:
        print(f"{kernel.name} {size}x{size}x{size} f16->f32 on {backend}: grid {(size // 64, size // 64)} x "
              f"{kernel.threads} threads, max |err| vs numpy f32 = {np.abs(c - want).max():.2e}: "
              f"PASS ({dt * 1e3:.1f} ms per run)")
    return dt


if __name__ == "__main__":
    args = dsl.positional()
    be = dsl.backend_option()
    print(f"warp accumulator layout {WARP_C}\nCTA accumulator layout  {CTA_C}")
    for kern in (gemm, gemm_cta):
        run(int(args[0]) if args else 256, backend=be, kernel=kern)
