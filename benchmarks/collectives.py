"""Our host collectives vs the same mpi4py calls, 4 ranks, 1 KB - 64 MB (float32 buffers).

Run: mpiexec -n 4 python benchmarks/collectives.py   (prints on rank 0)
Bandwidth = bytes of the input buffer / median time; ratio = ours / mpi4py (target >= 0.95 at >= 1 MB).
Both write into the same preallocated outputs (ours through ``out=``), so the ratio is our per-call overhead.
Ranks are oversubscribed on a 2-core machine: the two are timed alternately to share the noise.
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from mpi4py import MPI  # noqa: E402

import axe  # noqa: E402
from collectives import ProcessMesh  # noqa: E402

SIZES = [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26]


def paired_medians(comm, ours, theirs, reps):
    """Median times of two callables, measured alternately so both see the same machine noise."""
    ours(), theirs()
    a, b = [], []
    for k in range(reps):
        for fn, acc in ((ours, a), (theirs, b)) if k % 2 == 0 else ((theirs, b), (ours, a)):
            comm.Barrier()
            t = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    comm = MPI.COMM_WORLD
    n = comm.Get_size()
    pm = ProcessMesh(axe.Mesh(x=n), abort_on_error=True)
    rows = []
    for nbytes in SIZES:
        count = nbytes // 4
        x = np.ones(count, np.float32)
        out_ar, out_ag = np.empty_like(x), np.empty(count * n, np.float32)
        out_rs, out_a2a = np.empty(count // n, np.float32), np.empty_like(x)
        reps = 40 if nbytes <= 1 << 22 else 10
        cases = {
            "all_reduce": (partial(pm.all_reduce, x, "x", out=out_ar), partial(comm.Allreduce, x, out_ar)),
            "all_gather": (partial(pm.all_gather, x, "x", out=out_ag), partial(comm.Allgather, x, out_ag)),
            "reduce_scatter": (partial(pm.reduce_scatter, x, "x", out=out_rs),
                               partial(comm.Reduce_scatter_block, x, out_rs)),
            "all_to_all": (partial(pm.all_to_all, x, "x", out=out_a2a), partial(comm.Alltoall, x, out_a2a)),
        }
        for name, (ours, theirs) in cases.items():
            a, b = paired_medians(comm, ours, theirs, reps)
            rows.append((name, nbytes, nbytes / a / 1e9, nbytes / b / 1e9, b / a))
    if comm.Get_rank() == 0:
        print(f"{'op':<16}{'bytes':>10}{'ours GB/s':>11}{'mpi4py GB/s':>13}{'ratio':>7}")
        for name, nb, a, b, r in sorted(rows):
            print(f"{name:<16}{nb:>10}{a:11.3f}{b:13.3f}{r:7.2f}")


if __name__ == "__main__":
    main()
