"""Per-call cost of our host collectives over the raw mpi4py call, on one rank (no communication: what is
left is the Python layer). 16-element float32 buffers, results into preallocated outputs.

Run: python benchmarks/collective_overhead.py
"""

from __future__ import annotations

import time

import numpy as np
from bench_common import ROOT  # noqa: F401  (puts the repository root on the path)
from mpi4py import MPI

import axe
from collectives import ProcessMesh


def per_call(fn, reps: int = 20000) -> float:
    for _ in range(200):
        fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def main() -> None:
    comm = MPI.COMM_WORLD
    pm = ProcessMesh(axe.Mesh(x=comm.Get_size()), abort_on_error=False)
    x = np.ones(16, np.float32)
    out = np.empty_like(x)
    rs = np.empty(16 // comm.Get_size(), np.float32)
    cases = [("all_reduce", lambda: pm.all_reduce(x, "x", out=out), lambda: comm.Allreduce(x, out)),
             ("reduce_scatter", lambda: pm.reduce_scatter(x, "x", out=rs), lambda: comm.Reduce_scatter_block(x, rs)),
             ("all_to_all", lambda: pm.all_to_all(x, "x", out=out), lambda: comm.Alltoall(x, out))]
    if comm.Get_rank() == 0:
        print(f"{'op':<16}{'ours us':>9}{'mpi4py us':>11}{'overhead us':>13}   ({comm.Get_size()} rank(s))")
    for name, ours, raw in cases:
        a, b = per_call(ours), per_call(raw)
        if comm.Get_rank() == 0:
            print(f"{name:<16}{a * 1e6:>9.2f}{b * 1e6:>11.2f}{(a - b) * 1e6:>13.2f}")


if __name__ == "__main__":
    main()
