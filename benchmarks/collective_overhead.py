"""Per-call cost of our host collectives over the raw mpi4py call, on one rank (no communication: what is
left is the Python layer). 16-element float32 buffers (1-D, and (4, 4) for two of them), results
into preallocated outputs.

Two figures per collective:
- warm: back-to-back calls in a loop (everything in cache; the best case, ~1 us);
- cold: each call timed alone after copying 4 MB, which is the state a rank is in
  right after a large collective or local kernel; there every Python step costs far more, and this is
  what a collective's time actually pays (see benchmarks/RESULTS.md, host collectives).

Run: python benchmarks/collective_overhead.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from bench_common import ROOT  # noqa: F401  (puts the repository root on the path)
from mpi4py import MPI

import axe
from collectives import ProcessMesh

_A, _B = np.ones(1 << 19), np.empty(1 << 19)  # 4 MB each, about what a 1 MB collective touches


def per_call(fn, reps: int = 20000) -> float:
    for _ in range(200):
        fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def per_call_cold(ours, raw, reps: int = 1000) -> tuple[float, float]:
    """Median time of one call after a cache-evicting copy, the two sides alternating."""
    times: tuple[list, list] = ([], [])
    for k in range(reps):
        fn = ours if k % 2 == 0 else raw
        np.copyto(_B, _A)
        t = time.perf_counter()
        fn()
        times[k % 2].append(time.perf_counter() - t)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    comm = MPI.COMM_WORLD
    pm = ProcessMesh(axe.Mesh(x=comm.Get_size()), abort_on_error=False)
    x = np.ones(16, np.float32)
    out = np.empty_like(x)
    ag = np.empty(16 * comm.Get_size(), np.float32)
    rs = np.empty(16 // comm.Get_size(), np.float32)
    x2, out2 = x.reshape(4, 4), np.empty((4, 4), np.float32)
    cases = [("all_reduce", lambda: pm.all_reduce(x, "x", out=out), lambda: comm.Allreduce(x, out)),
             ("all_gather", lambda: pm.all_gather(x, "x", out=ag), lambda: comm.Allgather(x, ag)),
             ("reduce_scatter", lambda: pm.reduce_scatter(x, "x", out=rs), lambda: comm.Reduce_scatter_block(x, rs)),
             ("all_to_all", lambda: pm.all_to_all(x, "x", out=out), lambda: comm.Alltoall(x, out)),
             # 2-D buffers: the fast paths also read both arrays' C-contiguity flags
             ("all_reduce 2-D", lambda: pm.all_reduce(x2, "x", out=out2), lambda: comm.Allreduce(x2, out2)),
             ("all_to_all 2-D", lambda: pm.all_to_all(x2, "x", out=out2), lambda: comm.Alltoall(x2, out2))]
    if comm.Get_rank() == 0:
        print(f"{'op':<16}{'warm: ours us':>14}{'mpi4py':>8}{'overhead':>10}{'cold: ours us':>15}{'mpi4py':>8}"
              f"{'overhead':>10}   ({comm.Get_size()} rank(s))")
    for name, ours, raw in cases:
        a, b = per_call(ours), per_call(raw)
        ca, cb = per_call_cold(ours, raw)
        if comm.Get_rank() == 0:
            print(f"{name:<16}{a * 1e6:>14.2f}{b * 1e6:>8.2f}{(a - b) * 1e6:>10.2f}"
                  f"{ca * 1e6:>15.2f}{cb * 1e6:>8.2f}{(ca - cb) * 1e6:>10.2f}")


if __name__ == "__main__":
    main()
