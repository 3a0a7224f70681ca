"""Host collectives over real MPI ranks (run by tests/run_mpi.py under ``mpiexec -n 4``).

Each rank computes the expected result from the same deterministic data with the numpy semantics that
the simulated mesh uses, so the two paths are checked against each other.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import axe
from collectives import ProcessMesh, members
from collectives import semantics as S
from collectives.groups import group_of

pytestmark = [pytest.mark.mpi, pytest.mark.skipif(os.environ.get("AXE_MPI_TEST") != "1",
                                                  reason="run by tests/run_mpi.py under mpiexec -n 4")]
MESH = axe.Mesh(dp=2, tp=2)


@pytest.fixture(scope="module")
def pm():
    return ProcessMesh(MESH, abort_on_error=False, debug=True)


def data(rank, shape=(4, 8), dtype=np.int64):
    return (np.arange(np.prod(shape)).reshape(shape) * (rank + 1) + rank).astype(dtype)


def group_bufs(pm, axes, shape=(4, 8)):
    color, index, _ = group_of(MESH, pm.rank, axes)
    return [data(q, shape) for q in members(MESH, color, axes)], index


@pytest.mark.parametrize("axes", [("tp",), ("dp",), ("dp", "tp")])
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_all_reduce(pm, axes, op):
    bufs, i = group_bufs(pm, axes)
    np.testing.assert_array_equal(pm.all_reduce(data(pm.rank), axes, op), S.all_reduce(bufs, op)[i])


@pytest.mark.parametrize("axes", [("tp",), ("dp", "tp")])
@pytest.mark.parametrize("dim", [0, 1])
def test_all_gather_reduce_scatter_all_to_all(pm, axes, dim):
    bufs, i = group_bufs(pm, axes)
    np.testing.assert_array_equal(pm.all_gather(data(pm.rank), axes, dim), S.all_gather(bufs, dim)[i])
    np.testing.assert_array_equal(pm.reduce_scatter(data(pm.rank), axes, "sum", dim),
                                  S.reduce_scatter(bufs, "sum", dim)[i])
    np.testing.assert_array_equal(pm.all_to_all(data(pm.rank), axes, dim, 1 - dim), S.all_to_all(bufs, dim, 1 - dim)[i])


def test_broadcast_and_permute(pm):
    bufs, i = group_bufs(pm, ("dp", "tp"))
    np.testing.assert_array_equal(pm.broadcast(data(pm.rank), None, root=3), S.broadcast(bufs, 3)[i])
    pairs = [(0, 1), (1, 2), (2, 3), (3, 0)]
    np.testing.assert_array_equal(pm.permute(data(pm.rank), None, pairs), S.permute(bufs, pairs)[i])


def test_float_all_reduce(pm):
    x = data(pm.rank, dtype=np.float32) / 7
    bufs, i = group_bufs(pm, ("tp",))
    np.testing.assert_allclose(pm.all_reduce(x, "tp"), S.all_reduce([b.astype(np.float32) / 7 for b in bufs])[i],
                               rtol=1e-6)


def test_out_buffers_are_written_in_place(pm):
    x = data(pm.rank)
    bufs, i = group_bufs(pm, ("tp",))
    out = np.empty((8, 8), np.int64)
    assert pm.all_gather(x, "tp", 0, out=out) is out
    np.testing.assert_array_equal(out, S.all_gather(bufs, 0)[i])
    out = np.empty((4, 8), np.int64)
    assert pm.all_reduce(x, "tp", out=out) is out
    np.testing.assert_array_equal(out, S.all_reduce(bufs)[i])
