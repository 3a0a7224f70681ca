"""Sum of a whole tensor: each CTA accumulates full tiles in a register tensor (pointwise ``dsl.add``),
finishes the ragged tail with plain per-thread code, then one CTA-scope ``dsl.sum`` reduces across lanes
(shuffles) and warps (shared memory), as the layouts dictate; one elected thread writes the CTA's partial.
A second launch of the same kernel sums the partials.

Run: python examples/reduction.py [N] [--backend cpu|cuda]
"""

import time

import numpy as np

import dsl

N = dsl.dim("n")
CTAS, THREADS, PER_THREAD = 16, 256, 4
TILE = THREADS * PER_THREAD
REGS = f"S[({PER_THREAD},{THREADS}):(1@reg,1@tx)]"     # element e of a tile: thread e % 256, register e // 256
TOTAL = "S[1:1@reg] + R[256:1@tx]"                     # one value, held by every thread


@dsl.kernel(grid=(CTAS,), threads=THREADS, example={"n": 1_000_003})
def total(x: dsl.Tensor[(N,), dsl.i64], partial: dsl.Tensor[(CTAS,), dsl.i64], n: dsl.i32):
    acc = dsl.alloc_local((TILE,), dsl.i64, layout=REGS)
    tile = dsl.alloc_local((TILE,), dsl.i64, layout=REGS)
    s = dsl.alloc_local((1,), dsl.i64, layout=TOTAL)
    dsl.fill(acc, 0)
    full = n // TILE
    for t in range(dsl.cta_id(), full, CTAS):          # full tiles, grid-strided over CTAs
        dsl.copy(tile, x[t * TILE:t * TILE + TILE])
        dsl.add(acc, acc, tile)
    if dsl.cta_id() == 0:                              # the ragged tail: thread-level code
        for i in range(full * TILE + dsl.thread_id(), n, THREADS):
            acc[0] = acc[0] + x[i]
    dsl.sum(s, acc)
    with dsl.thread()[dsl.elect_one()]:
        partial[dsl.cta_id()] = s[0]


def main(n: int = 1_000_003, backend: str = "cpu") -> None:
    x = np.random.default_rng(0).integers(-(2**40), 2**40, n, dtype=np.int64)
    partial = np.zeros(CTAS, np.int64)
    final = np.zeros(CTAS, np.int64)
    total(x, partial, n, backend=backend)
    t0 = time.perf_counter()
    total(x, partial, n, backend=backend)
    total(partial, final, CTAS, backend=backend)        # second pass: CTA 0 sums the 16 partials in its tail
    dt = time.perf_counter() - t0
    assert int(final[0]) == int(x.sum()), "mismatch"
    assert int(partial.sum()) == int(x.sum()), "mismatch in partials"
    print(f"reduction n={n} on {backend}: registers {REGS}, result {TOTAL}: PASS ({dt * 1e3:.1f} ms)")


if __name__ == "__main__":
    main(*map(int, dsl.positional()[:1]), backend=dsl.backend_option())
