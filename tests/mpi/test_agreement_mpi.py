"""Ranks must agree on a kernel, over real MPI ranks (run by tests/run_mpi.py under ``mpiexec -n 4``): each
rank writes its kernel to its own temporary folder (paths differ by rank, as across machines)."""

from __future__ import annotations

import os
import pathlib
import tempfile
import time

import numpy as np
import pytest

from collectives import CollectiveMismatch, ProcessMesh
from tests.collectives.test_agreement import MESH, X, counting, figure8, run

pytestmark = [pytest.mark.mpi, pytest.mark.skipif(os.environ.get("AXE_MPI_TEST") != "1",
                                                  reason="run by tests/run_mpi.py under mpiexec -n 4")]


@pytest.fixture
def folder():
    with tempfile.TemporaryDirectory(prefix="axe-agreement-") as d:
        yield pathlib.Path(d)


@pytest.fixture
def pm():
    return counting(ProcessMesh(MESH, abort_on_error=False))


def test_a_rank_compiled_with_another_layout(pm, folder):
    kind = "all_reduce" if pm.rank == 2 else "reduce_scatter"
    k = figure8(folder, kind)
    k.compile()
    t = time.perf_counter()
    with pytest.raises(CollectiveMismatch) as e:
        run(k, pm, kind)
    assert time.perf_counter() - t < 5
    m = str(e.value)
    assert "host call 1 (line 9): rank 2 plans sum 'x' over dim 0 into 'y' = local_sum(dim 0), all_reduce(g)" in m
    assert "where ranks 0, 1, 3 plan sum 'x' over dim 0 into 'y' = local_sum(dim 0), reduce_scatter(g, dim 0)" in m


def test_agreeing_ranks_check_once(pm, folder):
    k = figure8(folder, "reduce_scatter")
    for _ in range(3):
        y = run(k, pm, "reduce_scatter")
    assert pm.checks == 1
    np.testing.assert_allclose(y, X.sum(0)[16 * pm.rank:16 * pm.rank + 16], rtol=1e-5, atol=1e-5)


def test_each_rank_offers_its_node_local_rank_to_the_backends():
    """4 ranks on this one node: local ranks 0..3 of 4; device= reaches the backends' hook."""
    import backends
    from backends.cuda import driver
    seen = []
    backends.register(backends.Backend("toy_bind", "cpu", lambda *a, **k: None,
                                       bind_local_rank=lambda r, n, d: seen.append((r, n, d))))
    try:
        rank = ProcessMesh(MESH, abort_on_error=False, device=2)
        assert (rank.local_rank, rank.local_size) == (rank.rank, 4) and seen == [(rank.rank, 4, 2)]
    finally:
        backends.unregister("toy_bind")
        driver._SELECTED[0] = None      # the cuda backend took device=2 too: leave the process as it was
