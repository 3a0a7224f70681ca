"""Host collectives on a simulated mesh against numpy, plus failure behaviour (no hangs)."""

from __future__ import annotations

import numpy as np
import pytest

import axe
from collectives import CollectiveError, CollectiveMismatch, CollectiveTimeout, members, run_simulated

MESH = axe.Mesh(dp=2, tp=3)


def data(rank, shape=(6, 4)):
    return np.arange(np.prod(shape), dtype=np.int64).reshape(shape) * (rank + 1) + rank


def groups(mesh, axes):
    """color -> ordered ranks of each group along axes."""
    from collectives.groups import group_of

    return {group_of(mesh, r, axes)[0]: members(mesh, group_of(mesh, r, axes)[0], axes) for r in range(mesh.size)}


@pytest.mark.parametrize("axes", [("tp",), ("dp",), ("dp", "tp"), ("tp", "dp")])
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_all_reduce(axes, op):
    f = {"sum": np.add, "max": np.maximum, "min": np.minimum}[op]
    got = run_simulated(MESH, lambda r: r.all_reduce(data(r.rank), axes, op))
    for ranks in groups(MESH, axes).values():
        want = data(ranks[0])
        for q in ranks[1:]:
            want = f(want, data(q))
        for q in ranks:
            np.testing.assert_array_equal(got[q], want)


@pytest.mark.parametrize("axes", [("tp",), ("dp",), ("tp", "dp")])
@pytest.mark.parametrize("dim", [0, 1])
def test_all_gather_and_reduce_scatter(axes, dim):
    gathered = run_simulated(MESH, lambda r: r.all_gather(data(r.rank), axes, dim))
    n = 1
    for a in axes:
        n *= MESH.sizes[a]
    shape = (6 * n, 4) if dim == 0 else (6, 4 * n)
    scattered = run_simulated(MESH, lambda r: r.reduce_scatter(data(r.rank, shape), axes, "sum", dim))
    for ranks in groups(MESH, axes).values():
        want = np.concatenate([data(q) for q in ranks], axis=dim)
        total = sum(data(q, shape) for q in ranks)
        for i, q in enumerate(ranks):
            np.testing.assert_array_equal(gathered[q], want)
            np.testing.assert_array_equal(scattered[q], np.split(total, n, axis=dim)[i])


def test_all_to_all_broadcast_permute():
    a2a = run_simulated(MESH, lambda r: r.all_to_all(data(r.rank), "tp", split_dim=0, concat_dim=1))
    bc = run_simulated(MESH, lambda r: r.broadcast(data(r.rank), "tp", root=2))
    pm = run_simulated(MESH, lambda r: r.permute(data(r.rank), "tp", pairs=[(0, 1), (1, 2)]))
    for ranks in groups(MESH, ("tp",)).values():
        for j, q in enumerate(ranks):
            want = np.concatenate([np.split(data(s), 3, axis=0)[j] for s in ranks], axis=1)
            np.testing.assert_array_equal(a2a[q], want)
            np.testing.assert_array_equal(bc[q], data(ranks[2]))
        np.testing.assert_array_equal(pm[ranks[0]], np.zeros_like(data(0)))
        np.testing.assert_array_equal(pm[ranks[1]], data(ranks[0]))
        np.testing.assert_array_equal(pm[ranks[2]], data(ranks[1]))


def test_a_failing_rank_releases_the_others():
    def body(r):
        if r.rank == 3:
            raise ValueError("boom on purpose")
        return r.all_reduce(np.ones(2), None)

    with pytest.raises(CollectiveError, match="rank 3.*boom"):
        run_simulated(MESH, body, timeout=30)


def test_mismatched_calls_are_detected_in_debug_mode():
    def body(r):
        return r.all_reduce(np.ones(2 + (r.rank == 1)), "tp")

    with pytest.raises(CollectiveMismatch, match="mismatched"):
        run_simulated(MESH, body, debug=True, timeout=30)


def test_missing_rank_times_out():
    def body(r):
        if r.rank == 0:
            return None
        return r.all_reduce(np.ones(2), "tp")

    with pytest.raises(CollectiveTimeout):
        run_simulated(MESH, body, timeout=1)


@pytest.mark.parametrize("bad", [
    lambda r: r.all_reduce(np.ones(3), "xx"),
    lambda r: r.all_reduce(np.ones(3), "tp", op="mean"),
    lambda r: r.reduce_scatter(np.ones(4), "tp"),
    lambda r: r.all_gather(np.ones(3), "tp", dim=2),
    lambda r: r.broadcast(np.ones(3), "tp", root=7),
    lambda r: r.permute(np.ones(3), "tp", pairs=[(0, 5)]),
    lambda r: r.permute(np.ones(3), "tp", pairs=[(0, 1), (2, 1)]),
])
def test_errors_name_the_culprit(bad):
    with pytest.raises(axe.AxeError):
        run_simulated(MESH, bad, timeout=10)


def test_out_buffers_simulated():
    def body(r):
        out = np.empty((6, 4), np.int64)
        res = r.all_reduce(data(r.rank), "tp", out=out)
        return res is out, out

    for same, out in run_simulated(MESH, body):
        assert same and out.shape == (6, 4)
    with pytest.raises(axe.AxeError, match="out="):
        run_simulated(MESH, lambda r: r.all_reduce(data(r.rank), "tp", out=np.empty(3)), timeout=10)
