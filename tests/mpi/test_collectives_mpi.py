"""Host collectives over real MPI ranks (run by tests/run_mpi.py under ``mpiexec -n 4``).

Each rank computes the expected result from the same deterministic data with the numpy semantics that
the simulated mesh uses, so the two paths are checked against each other.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import axe
from collectives import CollectiveMismatch, ProcessMesh, members, semantics
from collectives.groups import axes_tuple, group_of

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
    np.testing.assert_array_equal(pm.all_reduce(data(pm.rank), axes, op), semantics.all_reduce(bufs, op)[i])


@pytest.mark.parametrize("axes", [("tp",), ("dp", "tp")])
@pytest.mark.parametrize("dim", [0, 1])
def test_all_gather_reduce_scatter_all_to_all(pm, axes, dim):
    bufs, i = group_bufs(pm, axes)
    np.testing.assert_array_equal(pm.all_gather(data(pm.rank), axes, dim), semantics.all_gather(bufs, dim)[i])
    np.testing.assert_array_equal(pm.reduce_scatter(data(pm.rank), axes, "sum", dim),
                                  semantics.reduce_scatter(bufs, "sum", dim)[i])
    np.testing.assert_array_equal(pm.all_to_all(data(pm.rank), axes, dim, 1 - dim),
                                  semantics.all_to_all(bufs, dim, 1 - dim)[i])


def test_broadcast_and_permute(pm):
    bufs, i = group_bufs(pm, ("dp", "tp"))
    np.testing.assert_array_equal(pm.broadcast(data(pm.rank), None, root=3), semantics.broadcast(bufs, 3)[i])
    pairs = [(0, 1), (1, 2), (2, 3), (3, 0)]
    np.testing.assert_array_equal(pm.permute(data(pm.rank), None, pairs), semantics.permute(bufs, pairs)[i])


def test_float_all_reduce(pm):
    x = data(pm.rank, dtype=np.float32) / 7
    bufs, i = group_bufs(pm, ("tp",))
    want = semantics.all_reduce([b.astype(np.float32) / 7 for b in bufs])[i]
    np.testing.assert_allclose(pm.all_reduce(x, "tp"), want, rtol=1e-6)


def test_out_buffers_are_written_in_place(pm):
    x = data(pm.rank)
    bufs, i = group_bufs(pm, ("tp",))
    out = np.empty((8, 8), np.int64)
    assert pm.all_gather(x, "tp", 0, out=out) is out
    np.testing.assert_array_equal(out, semantics.all_gather(bufs, 0)[i])
    out = np.empty((4, 8), np.int64)
    assert pm.all_reduce(x, "tp", out=out) is out
    np.testing.assert_array_equal(out, semantics.all_reduce(bufs)[i])


@pytest.fixture(scope="module")
def fast():
    return ProcessMesh(MESH, abort_on_error=False, debug=False)


FAST_AXES = [("tp",), "tp", ["dp", "tp"], None]


def call(rank, kind, x, axes, out=None, **kw):
    return getattr(rank, kind)(x, axes, out=out, **kw)


def expected(rank, kind, axes, shape, dtype):
    """What ``kind`` over ``axes`` gives this rank when every rank passes ``data(its rank, shape, dtype)``."""
    names = axes_tuple(MESH, axes)
    color, index, _ = group_of(MESH, rank.rank, names)
    bufs = [data(q, shape, dtype) for q in members(MESH, color, names)]
    fn = {"all_reduce": semantics.all_reduce, "all_gather": semantics.all_gather,
          "reduce_scatter": semantics.reduce_scatter, "all_to_all": semantics.all_to_all}[kind]
    return fn(bufs)[index]


KINDS = ["all_reduce", "all_gather", "reduce_scatter", "all_to_all"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("axes", FAST_AXES, ids=repr)
@pytest.mark.parametrize("shape", [(8,), (8, 3), (4, 2, 3)], ids=str)
def test_fast_path_results(fast, kind, axes, shape):
    """Twice (the second call takes the cached fast path): the same result, written into ``out``."""
    for _ in range(2):
        want = expected(fast, kind, axes, shape, np.float32)
        out = np.empty(want.shape, np.float32)
        assert call(fast, kind, data(fast.rank, shape, np.float32), axes, out) is out
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape, layout", [((8, 4), "fortran_x"), ((8, 4), "strided_x"), ((8, 4), "fortran_out"),
                                           ((8, 4), "strided_out"), ((8,), "strided_x"), ((8,), "strided_out")])
def test_fast_path_declines_other_layouts(fast, kind, shape, layout):
    """Buffers that are not C-contiguous take the general path and still give the right result (1-D ones
    are refused by mpi4py itself before anything is sent)."""
    x = data(fast.rank, shape, np.float64)
    want = expected(fast, kind, "tp", shape, np.float64)
    call(fast, kind, x, "tp", np.empty(want.shape))  # fills the fast cache
    if layout == "fortran_x":
        x = np.asfortranarray(x)
    elif layout == "strided_x":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    if layout == "fortran_out":
        out = np.asfortranarray(np.empty(want.shape))
    elif layout == "strided_out":
        out = np.empty(want.shape[:-1] + (2 * want.shape[-1],))[..., ::2]
    else:
        out = np.empty(want.shape)
    assert not (x.flags.c_contiguous and out.flags.c_contiguous)
    assert call(fast, kind, x, "tp", out) is out
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_equivalent_dtypes_and_refused_buffers(fast, kind):
    """int64 and longlong are one numpy dtype but two MPI datatypes (mpi4py refuses the pair): the general
    path handles it; a read-only out= is an error either way."""
    x = data(fast.rank, (8,), np.int64)
    want = expected(fast, kind, "tp", (8,), np.int64)
    call(fast, kind, x, "tp", np.empty(want.shape, np.int64))
    out = np.empty(want.shape, np.longlong)
    assert call(fast, kind, x, "tp", out) is out
    np.testing.assert_array_equal(out, want)
    out = np.empty(want.shape, np.int64)
    out.flags.writeable = False
    with pytest.raises(BufferError):
        call(fast, kind, x, "tp", out)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_rejects_wrong_out(fast, kind):
    shape = (8, 4)
    x = data(fast.rank, shape, np.float32)
    want = expected(fast, kind, "tp", shape, np.float32)
    call(fast, kind, x, "tp", np.empty(want.shape, np.float32))
    with pytest.raises(axe.AxeError, match="out="):
        call(fast, kind, x, "tp", np.empty(want.shape, np.float64))
    with pytest.raises(axe.AxeError, match="out="):
        call(fast, kind, x, "tp", np.empty((1,) + want.shape, np.float32))
    with pytest.raises(axe.AxeError, match="out="):
        call(fast, kind, x, "tp", np.empty(want.size, np.float32))


def test_fast_path_other_dims_and_ops(fast):
    x = data(fast.rank, (4, 8), np.float32)
    bufs, i = group_bufs(fast, ("tp",))
    bufs = [b.astype(np.float32) for b in bufs]
    for _ in range(2):
        out = np.empty((4, 8), np.float32)
        fast.all_reduce(x, "tp", "max", out=out)
        np.testing.assert_array_equal(out, semantics.all_reduce(bufs, "max")[i])
        out = np.empty((4, 4), np.float32)
        fast.reduce_scatter(x, "tp", "min", dim=1, out=out)
        np.testing.assert_array_equal(out, semantics.reduce_scatter(bufs, "min", 1)[i])
        out = np.empty((4, 16), np.float32)
        fast.all_gather(x, "tp", dim=1, out=out)
        np.testing.assert_array_equal(out, semantics.all_gather(bufs, 1)[i])
        out = np.empty((8, 4), np.float32)
        fast.all_to_all(x, "tp", 1, 0, out=out)
        np.testing.assert_array_equal(out, semantics.all_to_all(bufs, 1, 0)[i])
    with pytest.raises(axe.AxeError):
        fast.all_reduce(x, "tp", "mean", out=np.empty_like(x))
    z = np.array(float(fast.rank))  # 0-d buffers keep the general path's behaviour (results of shape (1,))
    with pytest.raises(axe.AxeError, match="out="):
        fast.all_reduce(z, "tp", out=np.empty(()))
    np.testing.assert_array_equal(fast.all_reduce(z, "tp", out=np.empty(1)), [sum(group_bufs(fast, ("tp",))[0])[0, 0]])


def test_turning_debug_on_checks_every_call_again():
    rank = ProcessMesh(MESH, abort_on_error=False, debug=False)
    x = np.ones(4 + 4 * (rank.rank % 2), np.float32)  # the two tp ranks of each dp index disagree on the shape
    y = np.ones(8, np.float32)
    rank.all_reduce(y, "tp", out=np.empty_like(y))
    rank.debug = True
    with pytest.raises(CollectiveMismatch):
        rank.all_reduce(x, "tp", out=np.empty_like(x))
