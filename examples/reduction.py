"""Sum of a whole tensor: grid-stride loop, warp shuffles, cross-warp reduction in shared memory."""

import time

import numpy as np

import dsl

N = dsl.dim("n")


@dsl.kernel(grid=(16,), threads=256)
def total(x: dsl.Tensor[(N,), dsl.i64], partial: dsl.Tensor[(16,), dsl.i64], n: dsl.i32):
    warp_sums = dsl.alloc_shared((8,), dsl.i64)
    acc = x[0] * 0
    for i in range(dsl.cta_id() * 256 + dsl.thread_id(), n, 16 * 256):
        acc += x[i]
    for s in range(5):
        acc += dsl.shfl_xor(acc, 1 << s)
    if dsl.lane_id() == 0:
        warp_sums[dsl.warp_id()] = acc
    dsl.barrier()
    if dsl.warp_id() == 0:
        v = warp_sums[dsl.lane_id() % 8]
        if dsl.lane_id() >= 8:
            v = v * 0
        for s in range(3):
            v += dsl.shfl_xor(v, 1 << s)
        if dsl.lane_id() == 0:
            partial[dsl.cta_id()] = v


def main(n: int = 1_000_003) -> None:
    x = np.random.default_rng(0).integers(-(2**40), 2**40, n, dtype=np.int64)
    partial = np.zeros(16, np.int64)
    t0 = time.perf_counter()
    total(x, partial, n)
    dt = time.perf_counter() - t0
    assert int(partial.sum()) == int(x.sum()), "mismatch"
    print(f"reduction n={n}: PASS ({dt * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
