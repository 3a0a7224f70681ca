"""Tiled GEMM, f16 in, f32 accumulate, on Axe layouts: CTA-collective copies of the A/B tiles into shared
memory, then ``mma.sync.m16n8k16`` on the PTX fragment layouts (``axe.presets.nvidia``), written two ways:

- ``gemm``: each warp copies its A/B fragments from shared memory into register tensors laid out as the
  fragments (``dsl.copy`` at warp scope, addresses from the layouts) and calls ``dsl.gemm`` at warp scope;
- ``gemm_cta``: one CTA-scope ``dsl.gemm`` on the shared tiles; the schedule finds from the accumulator's
  layout which warp owns which 16x8 tiles and loads the fragments itself (ldmatrix on CUDA; the tiles are
  swizzled in 16-byte chunks so that those loads are free of bank conflicts).
- ``gemm_bf16``: ``gemm_cta`` with bf16 A and B (``mma.sync...f32.bf16.bf16.f32``: the same fragments,
  bf16 products exact in f32, f32 sums).

CTA tile 64x64 (4 warps, each a 32x32 quadrant = 2x4 mma tiles), K step 32.
Run: python examples/gemm.py [SIZE] [--dtype f16|bf16|all] [--backend cpu|cuda]
"""

import argparse
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
# the CTA GEMM's shared tiles, swizzled in 16-byte chunks (as the TMA would write them): the 8 rows an
# ldmatrix reads land in different banks (64-byte rows of A: Sw<2,3,3>; 128-byte rows of B: Sw<3,3,3>)
A_SMEM = nvidia.tma_smem_tile(64, 32, 16, 64, "K")
B_SMEM = nvidia.tma_smem_tile(32, 64, 16, 128, "K")


@dsl.kernel(grid=lambda m, n: (n // 64, m // 64), threads=128, example={"m": 256, "n": 256, "k": 256},
            multiple_of={"m": 64, "n": 64, "k": 32})
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


def cta_gemm(dt):
    """The CTA-scope GEMM for f16 or bf16 A and B (``gemm_cta``, ``gemm_bf16``): one ``dsl.gemm`` per K step
    on shared tiles; the schedule loads the mma fragments with ldmatrix through the tiles' layouts."""

    def gemm_cta(a: dsl.Tensor[(M, K), dt], b: dsl.Tensor[(K, N), dt], c: dsl.Tensor[(M, N), dsl.f32],
                 m: dsl.i32, n: dsl.i32, k: dsl.i32):
        As = dsl.alloc_shared((64, 32), dt, layout=A_SMEM)
        Bs = dsl.alloc_shared((32, 64), dt, layout=B_SMEM)
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

    gemm_cta.__name__ = "gemm_cta" if dt is dsl.f16 else f"gemm_{dt.name}"
    return dsl.kernel(gemm_cta, grid=lambda m, n: (n // 64, m // 64), threads=128,
                      example={"m": 256, "n": 256, "k": 256}, multiple_of={"m": 64, "n": 64, "k": 32})


gemm_cta = cta_gemm(dsl.f16)
gemm_bf16 = cta_gemm(dsl.bf16)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 values truncated to bf16, as the raw 16 bits bf16 tensors take (no ml_dtypes needed)."""
    return (np.ascontiguousarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def bf16_values(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def run(size: int = 256, verbose: bool = True, backend: str = "cpu", kernel=gemm) -> float:
    if size % 64:
        raise SystemExit(f"size must be a multiple of 64 (the CTA tile), got {size}")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    if kernel is gemm_bf16:
        a, b = bf16_bits(x), bf16_bits(y)
        a32, b32, what = bf16_values(a), bf16_values(b), "bf16"
    else:
        a, b = x.astype(np.float16), y.astype(np.float16)
        a32, b32, what = a.astype(np.float32), b.astype(np.float32), "f16"
    c = np.zeros((size, size), np.float32)
    kernel(a, b, c, size, size, size, backend=backend)              # warm (compiles once)
    t0 = time.perf_counter()
    kernel(a, b, c, size, size, size, backend=backend)
    dt = time.perf_counter() - t0
    want = a32 @ b32                   # products of f16/bf16 values are exact in f32: only the sum order differs
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-3 * np.sqrt(size))
    if verbose:
        print(f"{kernel.name} {size}x{size}x{size} {what}->f32 on {backend}: grid {(size // 64, size // 64)} x "
              f"{kernel.threads} threads, max |err| vs numpy f32 = {np.abs(c - want).max():.2e}: "
              f"PASS ({dt * 1e3:.1f} ms per run)")
    return dt


if __name__ == "__main__":
    dtype_opt = argparse.ArgumentParser(add_help=False)
    dtype_opt.add_argument("--dtype", choices=("f16", "bf16", "all"), default="all")
    opts, rest = dtype_opt.parse_known_args()
    args = dsl.positional(rest)
    be = dsl.backend_option(rest)
    print(f"warp accumulator layout {WARP_C}\nCTA accumulator layout  {CTA_C}")
    kernels = {"f16": (gemm, gemm_cta), "bf16": (gemm_bf16,), "all": (gemm, gemm_cta, gemm_bf16)}[opts.dtype]
    for kern in kernels:
        run(int(args[0]) if args else 256, backend=be, kernel=kern)
