"""GEMM for Hopper (sm_90a) on Axe layouts: C = A @ B^T with A (M, K) and B (N, K) both K-major, f32 C.

The kernels, from simplest to fastest:
- ``gemm_hopper``: one warpgroup per 64x128 tile of C. Each K step of 64 copies the A and B tiles into
  shared memory laid out as 128-byte-swizzled K-major tiles (``axe.presets.nvidia.tma_smem_tile``, what
  the TMA writes and a wgmma descriptor reads); the accumulator is a register tensor laid out as the wgmma
  accumulator (``axe.presets.nvidia.wgmma_accumulator(128)``). From these layouts the compiler picks TMA
  loads and ``wgmma.mma_async.m64n128k16`` on sm_90a, ``cp.async`` and ``mma.sync`` on sm_80.
- ``gemm_hopper_pipelined``: 128x128 tiles over two warpgroups, two stages (``dsl.copy_async`` prefetch).
- ``gemm_hopper_ws`` (and ``gemm_hopper_ws_bf16``): warp specialisation -- a producer warpgroup streams
  K tiles into a 4-stage ring with TMA, two consumer warpgroups run wgmma on 128x256 tiles with one wgmma
  group in flight, mbarriers in both directions, ``setmaxnreg`` moving registers to the consumers.
- ``gemm_hopper_persistent``: the same on a persistent grid (one CTA per SM) in grouped tile order.
- ``gemm_hopper_pingpong``: persistent, the two consumers on alternate 128x128 tiles, taking turns, so that
  one's epilogue overlaps the other's wgmmas.
On the CPU the same kernels run with mma.sync-style fragments (the wgmma accumulator is a tiling of the mma
C fragment), and ``AXE_CPU_LOWERING=cuda`` runs the TMA/wgmma lowering in emulation (the warpgroups of
the warp-specialised kernel as strands that wait on the mbarriers).
Run: python examples/gemm_hopper.py [SIZE [KERNEL ...]] [--backend cpu|cuda]   (cuda needs sm_90a; SIZE a
multiple of 256; each kernel states its multiples with ``multiple_of``)
"""

import time

import numpy as np

import dsl
from axe.presets import nvidia
from backends.cpu import dtypes

M, N, K = dsl.dim("m"), dsl.dim("n"), dsl.dim("k")
TM, TN, TK = 64, 128, 64
A_TILE = nvidia.tma_smem_tile(TM, TK)            # Sw<3,3,3> o S[(8,8,64):(512,64,1)]
B_TILE = nvidia.tma_smem_tile(TN, TK)
ACC = nvidia.wgmma_accumulator(TN)


@dsl.kernel(grid=lambda m, n: (n // TN, m // TM), threads=128, example={"m": 512, "n": 512, "k": 512},
            multiple_of={"m": TM, "n": TN, "k": TK})
def gemm_hopper(a: dsl.Tensor[(M, K), dsl.f16], bt: dsl.Tensor[(N, K), dsl.f16], c: dsl.Tensor[(M, N), dsl.f32],
                m: dsl.i32, n: dsl.i32, k: dsl.i32):
    As = dsl.alloc_shared((TM, TK), dsl.f16, layout=A_TILE)
    Bs = dsl.alloc_shared((TN, TK), dsl.f16, layout=B_TILE)
    acc = dsl.alloc_local((TM, TN), dsl.f32, layout=ACC)
    row0 = dsl.cta_id(1) * TM
    col0 = dsl.cta_id(0) * TN
    dsl.fill(acc, 0.0)
    for k0 in range(0, k, TK):
        dsl.copy(As, a[row0:row0 + TM, k0:k0 + TK])
        dsl.copy(Bs, bt[col0:col0 + TN, k0:k0 + TK])
        dsl.barrier()
        dsl.gemm(acc, As, Bs, transpose_b=True)
        dsl.barrier()
    dsl.copy(c[row0:row0 + TM, col0:col0 + TN], acc)


TM2 = 128                                         # the pipelined kernel: two warpgroups, 128x128 tiles
A2_TILE = nvidia.tma_smem_tile(TM2, TK)
ACC2 = nvidia.wgmma_accumulator(TN, warpgroups=2)


@dsl.kernel(grid=lambda m, n: (n // TN, m // TM2), threads=256, example={"m": 512, "n": 512, "k": 512},
            multiple_of={"m": TM2, "n": TN, "k": TK})
def gemm_hopper_pipelined(a: dsl.Tensor[(M, K), dsl.f16], bt: dsl.Tensor[(N, K), dsl.f16],
                          c: dsl.Tensor[(M, N), dsl.f32], m: dsl.i32, n: dsl.i32, k: dsl.i32):
    """128x128 tiles over two warpgroups (each wgmma's A is its warpgroup's 64 rows), two stages: while the
    wgmmas consume one pair of tiles, asynchronous copies (TMA on sm_90) fill the other; each stage's
    mbarrier completes when both of its copies have landed."""
    A0 = dsl.alloc_shared((TM2, TK), dsl.f16, layout=A2_TILE)
    B0 = dsl.alloc_shared((TN, TK), dsl.f16, layout=B_TILE)
    A1 = dsl.alloc_shared((TM2, TK), dsl.f16, layout=A2_TILE)
    B1 = dsl.alloc_shared((TN, TK), dsl.f16, layout=B_TILE)
    full = dsl.alloc_barriers(2, arrivals=2)              # one per stage: its A and B copies
    acc = dsl.alloc_local((TM2, TN), dsl.f32, layout=ACC2)
    row0 = dsl.cta_id(1) * TM2
    col0 = dsl.cta_id(0) * TN
    nk = k // TK
    dsl.fill(acc, 0.0)
    dsl.copy_async(A0, a[row0:row0 + TM2, 0:TK], barrier=full[0])
    dsl.copy_async(B0, bt[col0:col0 + TN, 0:TK], barrier=full[0])
    for kt in range(nk):
        k1 = (kt + 1) * TK
        if kt + 1 < nk:                                   # prefetch the next K tile into the other stage
            if kt % 2 == 0:
                dsl.copy_async(A1, a[row0:row0 + TM2, k1:k1 + TK], barrier=full[1])
                dsl.copy_async(B1, bt[col0:col0 + TN, k1:k1 + TK], barrier=full[1])
            else:
                dsl.copy_async(A0, a[row0:row0 + TM2, k1:k1 + TK], barrier=full[0])
                dsl.copy_async(B0, bt[col0:col0 + TN, k1:k1 + TK], barrier=full[0])
        if kt % 2 == 0:
            dsl.wait(full[0], kt // 2)
            dsl.gemm(acc, A0, B0, transpose_b=True)
        else:
            dsl.wait(full[1], kt // 2)
            dsl.gemm(acc, A1, B1, transpose_b=True)
        dsl.barrier()                                     # the stage is free before it is refilled
    dsl.copy(c[row0:row0 + TM2, col0:col0 + TN], acc)


BM, BN, STAGES = 128, 256, 4                      # the warp-specialised kernel: 128x256 tiles, 4 stages
A_STAGES = nvidia.tma_smem_tile(STAGES * BM, TK)  # the stages one above the other: stage s is rows s*BM..
B_STAGES = nvidia.tma_smem_tile(STAGES * BN, TK)
ACC_WS = nvidia.wgmma_accumulator(BN)             # each consumer warpgroup's 64 rows


def warp_specialised(dt):
    """The warp-specialised kernel for f16 or bf16 operands (``gemm_hopper_ws``, ``gemm_hopper_ws_bf16``)."""

    def gemm_hopper_ws(a: dsl.Tensor[(M, K), dt], bt: dsl.Tensor[(N, K), dt],
                       c: dsl.Tensor[(M, N), dsl.f32], m: dsl.i32, n: dsl.i32, k: dsl.i32):
        """Warp specialisation: warpgroup 0 produces, warpgroups 1 and 2 consume. The producer keeps up to
        STAGES K tiles in flight (TMA on sm_90): it waits until both consumers have released a stage
        (``empty``), then copies into it, completing on ``full``. Each consumer waits for a full stage,
        multiplies its 64 rows of the tile with wgmma, keeping one wgmma group in flight, and releases the
        stage its previous group read. The producer gives its registers to the consumers (setmaxnreg)."""
        As = dsl.alloc_shared((STAGES * BM, TK), dt, layout=A_STAGES)
        Bs = dsl.alloc_shared((STAGES * BN, TK), dt, layout=B_STAGES)
        full = dsl.alloc_barriers(STAGES, arrivals=2)     # a stage's A and B copies have landed
        empty = dsl.alloc_barriers(STAGES, arrivals=2)    # both consumer warpgroups are done reading it
        row0 = dsl.cta_id(1) * BM
        col0 = dsl.cta_id(0) * BN
        nk = k // TK
        with dsl.warpgroup()[0:1]:
            dsl.setmaxnreg(40)                            # all four warps give their registers up
            with dsl.warp()[0:1]:                         # one warp produces, the other three are done
                for kt in range(nk):
                    ps = kt % STAGES
                    dsl.wait(empty[ps], kt // STAGES + 1)     # round r waits for the consumers' release r - 1
                    dsl.copy_async(As[ps * BM:ps * BM + BM, :], a[row0:row0 + BM, kt * TK:kt * TK + TK],
                                   barrier=full[ps])
                    dsl.copy_async(Bs[ps * BN:ps * BN + BN, :], bt[col0:col0 + BN, kt * TK:kt * TK + TK],
                                   barrier=full[ps])
        with dsl.warpgroup()[1:3]:
            dsl.setmaxnreg(232)
            r = (dsl.warpgroup_id() - 1) * 64                # this consumer's rows of the tile
            acc = dsl.alloc_local((64, BN), dsl.f32, layout=ACC_WS)
            dsl.fill(acc, 0.0)
            for kt in range(nk):
                cs = kt % STAGES
                dsl.wait(full[cs], kt // STAGES)
                dsl.gemm_async(acc, As[cs * BM + r:cs * BM + r + 64, :], Bs[cs * BN:cs * BN + BN, :],
                               transpose_b=True)
                dsl.gemm_wait(1)                          # the previous tile's wgmma has finished: free its stage
                if kt > 0:
                    dsl.arrive(empty[(kt - 1) % STAGES])
            dsl.gemm_wait(0)
            dsl.copy(c[row0 + r:row0 + r + 64, col0:col0 + BN], acc)

    gemm_hopper_ws.__name__ = "gemm_hopper_ws" if dt is dsl.f16 else f"gemm_hopper_ws_{dt.name}"
    return dsl.kernel(gemm_hopper_ws, grid=lambda m, n: (n // BN, m // BM), threads=384,
                      example={"m": 512, "n": 512, "k": 512}, multiple_of={"m": BM, "n": BN, "k": TK})


gemm_hopper_ws = warp_specialised(dsl.f16)
gemm_hopper_ws_bf16 = warp_specialised(dsl.bf16)


GROUP = 8                                         # tile rows per band of the persistent kernel's order


@dsl.kernel(grid=lambda ctas: (ctas,), threads=384, example={"m": 512, "n": 512, "k": 512, "ctas": 132},
            multiple_of={"m": BM, "n": BN, "k": TK})
def gemm_hopper_persistent(a: dsl.Tensor[(M, K), dsl.f16], bt: dsl.Tensor[(N, K), dsl.f16],
                           c: dsl.Tensor[(M, N), dsl.f32], m: dsl.i32, n: dsl.i32, k: dsl.i32, ctas: dsl.i32):
    """``gemm_hopper_ws`` on a persistent grid (one CTA per SM, ``ctas`` of them): each CTA walks the
    128x256 tiles ``cta, cta + ctas, ...``; the ring of stages runs on across tiles (``g`` counts K steps),
    so the producer loads the next tile while the consumers store the last one. Tiles are numbered down
    bands of GROUP tile rows (as Triton's grouped ordering does), so the CTAs running at once share more
    of A and B in L2 than row by row."""
    As = dsl.alloc_shared((STAGES * BM, TK), dsl.f16, layout=A_STAGES)
    Bs = dsl.alloc_shared((STAGES * BN, TK), dsl.f16, layout=B_STAGES)
    full = dsl.alloc_barriers(STAGES, arrivals=2)
    empty = dsl.alloc_barriers(STAGES, arrivals=2)
    nk = k // TK
    tiles_n = n // BN
    tiles = (m // BM) * tiles_n
    with dsl.warpgroup()[0:1]:
        dsl.setmaxnreg(40)                            # all four warps give their registers up
        with dsl.warp()[0:1]:                         # one warp produces, the other three are done
            g = 0
            for tile in range(dsl.cta_id(0), tiles, ctas):
                band = tile // (GROUP * tiles_n)
                rows = dsl.min(m // BM - band * GROUP, GROUP)
                row0 = (band * GROUP + tile % (GROUP * tiles_n) % rows) * BM
                col0 = tile % (GROUP * tiles_n) // rows * BN
                for kt in range(nk):
                    ps = g % STAGES
                    dsl.wait(empty[ps], g // STAGES + 1)
                    dsl.copy_async(As[ps * BM:ps * BM + BM, :], a[row0:row0 + BM, kt * TK:kt * TK + TK],
                                   barrier=full[ps])
                    dsl.copy_async(Bs[ps * BN:ps * BN + BN, :], bt[col0:col0 + BN, kt * TK:kt * TK + TK],
                                   barrier=full[ps])
                    g = g + 1
    with dsl.warpgroup()[1:3]:
        dsl.setmaxnreg(232)
        r = (dsl.warpgroup_id() - 1) * 64
        acc = dsl.alloc_local((64, BN), dsl.f32, layout=ACC_WS)
        h = 0
        for tile in range(dsl.cta_id(0), tiles, ctas):
            band1 = tile // (GROUP * tiles_n)
            rows1 = dsl.min(m // BM - band1 * GROUP, GROUP)
            row1 = (band1 * GROUP + tile % (GROUP * tiles_n) % rows1) * BM
            col1 = tile % (GROUP * tiles_n) // rows1 * BN
            dsl.fill(acc, 0.0)
            for kt in range(nk):
                cs = h % STAGES
                dsl.wait(full[cs], h // STAGES)
                dsl.gemm_async(acc, As[cs * BM + r:cs * BM + r + 64, :], Bs[cs * BN:cs * BN + BN, :],
                               transpose_b=True)
                dsl.gemm_wait(1)
                if kt > 0:
                    dsl.arrive(empty[(h - 1) % STAGES])
                h = h + 1
            dsl.gemm_wait(0)
            dsl.arrive(empty[(h - 1) % STAGES])       # the tile's last stage: free for the next tile
            dsl.copy(c[row1 + r:row1 + r + 64, col1:col1 + BN], acc)


PM, PN, PSTAGES = 128, 128, 6                     # ping-pong: each consumer warpgroup owns whole 128x128 tiles
PA_STAGES = nvidia.tma_smem_tile(PSTAGES * PM, TK)
PB_STAGES = nvidia.tma_smem_tile(PSTAGES * PN, TK)
ACC_PP = nvidia.wgmma_accumulator(PN)             # 64 rows of a tile: a consumer holds two of these


@dsl.kernel(grid=lambda ctas: (ctas,), threads=384, example={"m": 512, "n": 512, "k": 512, "ctas": 132},
            multiple_of={"m": PM, "n": PN, "k": TK})
def gemm_hopper_pingpong(a: dsl.Tensor[(M, K), dsl.f16], bt: dsl.Tensor[(N, K), dsl.f16],
                         c: dsl.Tensor[(M, N), dsl.f32], m: dsl.i32, n: dsl.i32, k: dsl.i32, ctas: dsl.i32):
    """Ping-pong on a persistent grid: the two consumer warpgroups take the CTA's 128x128 tiles in turn
    (warpgroup 1 the first, 3rd, ...; warpgroup 2 the others), each a whole tile in two 64-row
    accumulators, so that one consumer's epilogue runs while the other multiplies. The producer streams
    the tiles' K steps into one ring in tile order; each stage is read by one consumer (``arrivals=1``),
    which finds its first stage at ring position (its tile's index in the CTA) * nk. The consumers'
    main loops take turns (``order``): a consumer starts tile j once the other has issued tile j - 1's
    wgmmas. Besides keeping the tensor cores for one warpgroup at a time, this keeps every waiter within
    one phase of its barrier: tile j's first stage is nk positions into the ring, and a parity alone could
    not tell a wait one round ahead from one three rounds ahead."""
    As = dsl.alloc_shared((PSTAGES * PM, TK), dsl.f16, layout=PA_STAGES)
    Bs = dsl.alloc_shared((PSTAGES * PN, TK), dsl.f16, layout=PB_STAGES)
    full = dsl.alloc_barriers(PSTAGES, arrivals=2)
    empty = dsl.alloc_barriers(PSTAGES, arrivals=1)
    order = dsl.alloc_barriers(2, arrivals=1)          # order[w]: consumer w may start its next main loop
    nk = k // TK
    tiles_n = n // PN
    tiles = (m // PM) * tiles_n
    with dsl.warpgroup()[0:1]:
        dsl.setmaxnreg(40)                            # all four warps give their registers up
        with dsl.warp()[0:1]:                         # one warp produces, the other three are done
            g = 0
            for tile in range(dsl.cta_id(0), tiles, ctas):
                band = tile // (GROUP * tiles_n)
                rows = dsl.min(m // PM - band * GROUP, GROUP)
                row0 = (band * GROUP + tile % (GROUP * tiles_n) % rows) * PM
                col0 = tile % (GROUP * tiles_n) // rows * PN
                for kt in range(nk):
                    ps = g % PSTAGES
                    dsl.wait(empty[ps], g // PSTAGES + 1)
                    dsl.copy_async(As[ps * PM:ps * PM + PM, :], a[row0:row0 + PM, kt * TK:kt * TK + TK],
                                   barrier=full[ps])
                    dsl.copy_async(Bs[ps * PN:ps * PN + PN, :], bt[col0:col0 + PN, kt * TK:kt * TK + TK],
                                   barrier=full[ps])
                    g = g + 1
    with dsl.warpgroup()[1:3]:
        dsl.setmaxnreg(232)
        turn = dsl.warpgroup_id() - 1
        top = dsl.alloc_local((64, PN), dsl.f32, layout=ACC_PP)
        bottom = dsl.alloc_local((64, PN), dsl.f32, layout=ACC_PP)
        j = 0
        for tile in range(dsl.cta_id(0), tiles, ctas):
            if j % 2 == turn:
                band1 = tile // (GROUP * tiles_n)
                rows1 = dsl.min(m // PM - band1 * GROUP, GROUP)
                row1 = (band1 * GROUP + tile % (GROUP * tiles_n) % rows1) * PM
                col1 = tile % (GROUP * tiles_n) // rows1 * PN
                h = j * nk
                dsl.fill(top, 0.0)
                dsl.fill(bottom, 0.0)
                if j > 0:
                    dsl.wait(order[turn], (j - 1) // 2)     # the other consumer issued tile j - 1
                for kt in range(nk):
                    cs = h % PSTAGES
                    dsl.wait(full[cs], h // PSTAGES)
                    dsl.gemm_async(top, As[cs * PM:cs * PM + 64, :], Bs[cs * PN:cs * PN + PN, :], transpose_b=True)
                    dsl.gemm_async(bottom, As[cs * PM + 64:cs * PM + 64 + 64, :], Bs[cs * PN:cs * PN + PN, :],
                                   transpose_b=True)
                    dsl.gemm_wait(2)                  # both groups of the previous K step have finished
                    if kt > 0:
                        dsl.arrive(empty[(h - 1) % PSTAGES])
                    h = h + 1
                dsl.arrive(order[1 - turn])                 # the other consumer's turn to multiply
                dsl.gemm_wait(0)
                dsl.arrive(empty[(h - 1) % PSTAGES])
                dsl.copy(c[row1:row1 + 64, col1:col1 + PN], top)
                dsl.copy(c[row1 + 64:row1 + 64 + 64, col1:col1 + PN], bottom)
            j = j + 1


def main(size: int = 256, backend: str = "cpu", kernel=None) -> float:
    kernel = kernel or gemm_hopper
    rng = np.random.default_rng(0)
    bf16 = kernel is gemm_hopper_ws_bf16
    a = rng.standard_normal((size, size)).astype(np.float32)
    bt = rng.standard_normal((size, size)).astype(np.float32)
    if bf16:    # bf16 tensors take raw bits (rounded to nearest even); the reference uses the rounded values
        a, bt = dtypes.to_storage(a, "bf16"), dtypes.to_storage(bt, "bf16")
        a32, b32 = dtypes.from_storage(a, "bf16"), dtypes.from_storage(bt, "bf16")
    else:
        a, bt = a.astype(np.float16), bt.astype(np.float16)
        a32, b32 = a.astype(np.float32), bt.astype(np.float32)
    c = np.zeros((size, size), np.float32)
    extra = (2,) if kernel in (gemm_hopper_persistent, gemm_hopper_pingpong) else ()   # 2 CTAs walk all tiles
    kernel(a, bt, c, size, size, size, *extra, backend=backend)
    t0 = time.perf_counter()
    kernel(a, bt, c, size, size, size, *extra, backend=backend)
    dt = time.perf_counter() - t0
    np.testing.assert_allclose(c, a32 @ b32.T, rtol=1e-3, atol=1e-3 * np.sqrt(size))
    a_tile, acc = (A_TILE, ACC) if kernel is gemm_hopper else \
        (A2_TILE, ACC2) if kernel is gemm_hopper_pipelined else \
        (PA_STAGES, ACC_PP) if kernel is gemm_hopper_pingpong else (A_STAGES, ACC_WS)
    print(f"{kernel.name} {size}^3 on {backend}: A tile {a_tile}, accumulator {acc}: PASS ({dt * 1e3:.1f} ms)")
    return dt


KERNELS = (gemm_hopper, gemm_hopper_pipelined, gemm_hopper_ws, gemm_hopper_ws_bf16, gemm_hopper_persistent,
           gemm_hopper_pingpong)

if __name__ == "__main__":    # python examples/gemm_hopper.py [SIZE [KERNEL ...]] [--backend cpu|cuda]
    args = dsl.positional()
    by_name = {k.name: k for k in KERNELS}
    unknown = [a for a in args[1:] if a not in by_name]
    if unknown:
        raise SystemExit(f"unknown kernel {unknown[0]!r}: choose from {', '.join(by_name)}")
    for kern in [by_name[a] for a in args[1:]] or KERNELS:
        main(int(args[0]) if args else 256, backend=dsl.backend_option(), kernel=kern)
