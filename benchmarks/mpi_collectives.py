"""Our host collectives vs the same mpi4py calls, 4 ranks, 1 KB - 64 MB (float32 buffers).

Run: mpiexec -n 4 python benchmarks/mpi_collectives.py [--aa] [--pin] [--batch K] [--sizes 1048576,4194304]
[--reps N] (prints on rank 0).

Both sides get the very same input and output arrays (ours through ``out=``; mpi4py's natural
``comm.Allreduce(x, out)`` etc. on the same COMM_WORLD), so the ratio is what our layer costs per call.
Each repetition times one call of each side, in an order drawn at random (the same on every rank), each
after a barrier; a repetition's time is the slowest rank's. Bandwidth = input bytes / median time; ratio =
the median over repetitions of mpi4py's time / ours (ours / mpi4py bandwidth, paired so that load that
comes and goes on the box hits both sides alike; target >= 0.95 at >= 1 MB). ``--aa`` adds a control row per size that
times mpi4py against itself the same way: its distance from 1.00 is the noise of the measurement.
``--batch K`` times K back-to-back calls instead of one (throughput rather than the latency of a start
that a barrier synchronised). ``--pin`` binds rank r to CPU r mod ncpu (on the 2-core box: two ranks per
core).
"""

from __future__ import annotations

import argparse
import os
import random
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
WARMUP = 5


def reps_for(nbytes: int) -> int:
    return 300 if nbytes <= 1 << 20 else 100 if nbytes <= 1 << 22 else 30 if nbytes <= 1 << 24 else 12


def paired_times(comm, fns, reps: int, rng: random.Random, batch: int = 1) -> np.ndarray:
    """``(reps, len(fns))`` times per call: per repetition each callable ``batch`` times back to back, in a
    random order shared by all ranks, each after a barrier; the entry is the slowest rank's time."""
    for _ in range(WARMUP):
        for fn in fns:
            fn()
    order = list(range(len(fns)))
    t = np.empty((reps, len(fns)))
    for k in range(reps):
        rng.shuffle(order)
        for i in order:
            comm.Barrier()
            fn = fns[i]
            start = time.perf_counter()
            for _ in range(batch):
                fn()
            t[k, i] = (time.perf_counter() - start) / batch
    comm.Allreduce(MPI.IN_PLACE, t, op=MPI.MAX)
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated byte counts")
    ap.add_argument("--reps", type=int, default=0, help="repetitions per size (default: by size)")
    ap.add_argument("--aa", action="store_true", help="add an mpi4py-vs-mpi4py control row per size")
    ap.add_argument("--batch", type=int, default=1, help="time this many back-to-back calls per repetition")
    ap.add_argument("--pin", action="store_true", help="bind rank r to CPU r mod ncpu")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    n, me = comm.Get_size(), comm.Get_rank()
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[me % len(cpus)]})
    pm = ProcessMesh(axe.Mesh(x=n), abort_on_error=True)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())  # anything else running on the box adds noise
    rng = random.Random(20261201)  # the same draws on every rank: all ranks call the same side together
    rows = []
    for nbytes in map(int, args.sizes.split(",")):
        count = nbytes // 4
        x = np.ones(count, np.float32)
        out_ar, out_ag = np.empty_like(x), np.empty(count * n, np.float32)
        out_rs, out_a2a = np.empty(count // n, np.float32), np.empty_like(x)
        reps = args.reps or reps_for(nbytes)
        cases = {
            "all_reduce": (partial(pm.all_reduce, x, "x", out=out_ar), partial(comm.Allreduce, x, out_ar)),
            "all_gather": (partial(pm.all_gather, x, "x", out=out_ag), partial(comm.Allgather, x, out_ag)),
            "reduce_scatter": (partial(pm.reduce_scatter, x, "x", out=out_rs),
                               partial(comm.Reduce_scatter_block, x, out_rs)),
            "all_to_all": (partial(pm.all_to_all, x, "x", out=out_a2a), partial(comm.Alltoall, x, out_a2a)),
        }
        if args.aa:  # the control: the same mpi4py call on both sides
            cases["(mpi4py vs mpi4py)"] = (partial(comm.Alltoall, x, out_a2a), partial(comm.Alltoall, x, out_a2a))
        for name, fns in cases.items():
            t = paired_times(comm, fns, reps, rng, args.batch)
            a, b = np.median(t, axis=0)
            rows.append((name, nbytes, reps, nbytes / a / 1e9, nbytes / b / 1e9, np.median(t[:, 1] / t[:, 0])))
    if me == 0:
        print(f"{n} ranks on {os.cpu_count()} CPUs{' (pinned)' if args.pin else ''}, {args.batch} call(s) per timing;"
              f" load average before: {load}")
        print(f"{'op':<20}{'bytes':>10}{'reps':>6}{'ours GB/s':>11}{'mpi4py GB/s':>13}{'ratio':>7}")
        for name, nb, reps, a, b, r in sorted(rows):
            print(f"{name:<20}{nb:>10}{reps:>6}{a:11.3f}{b:13.3f}{r:7.2f}")


if __name__ == "__main__":
    main()
