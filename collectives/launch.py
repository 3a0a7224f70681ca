"""Run one program on every rank of a mesh: under ``mpiexec`` (one process per rank) or ``--simulate N``."""

from __future__ import annotations

import argparse

import axe

from .mpi import ProcessMesh
from .simulated import run_simulated


def launch(fn, make_mesh, argv=None, description: str = "") -> bool:
    """Parse ``--simulate N``; run ``fn(rank_handle) -> (ok, line)`` on ``make_mesh(N)`` in one process or
    over MPI (the mesh size is then the job size). Lines print in rank order; returns whether all passed.
    Collectives, and the final gather of the lines, wait at most the collective timeout
    (``AXE_COLLECTIVE_TIMEOUT``, default 300 s; see ``collectives.watchdog``).
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--simulate", type=int, default=0, metavar="N", help="run N ranks in this process")
    args = p.parse_args(argv)
    if args.simulate:
        results = run_simulated(make_mesh(args.simulate), fn)
    else:
        from mpi4py import MPI  # optional dependency: mpi4py (the [mpi] extra)

        comm = MPI.COMM_WORLD
        mesh = make_mesh(comm.Get_size())
        if not isinstance(mesh, axe.Mesh):
            raise axe.AxeError("make_mesh must return an axe.Mesh")
        pm = ProcessMesh(mesh)
        results = pm._gather_objects(mesh.axis_names, fn(pm), "the gather of every rank's result at the end")
        if comm.Get_rank() != 0:
            return all(ok for ok, _ in results)
    for _, line in results:
        print(line)
    return all(ok for ok, _ in results)
