"""Property test: random spec -> spec transitions and sums on a 3-axis simulated mesh (sizes 2, 3, 2) vs numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import axe
from collectives import distributed_sum, local_shard, redistribute, run_simulated

MESH = axe.Mesh(a=2, b=3, c=2)
SHAPE = (12, 24, 12)


@st.composite
def spec(draw, ndim=3):
    axes = draw(st.permutations(MESH.axis_names))
    n_used = draw(st.integers(0, len(axes)))
    slots = [draw(st.integers(0, ndim - 1)) for _ in range(n_used)]
    entries = [[] for _ in range(ndim)]
    for axis, dim in zip(axes[:n_used], slots, strict=True):
        entries[dim].append(axis)
    return tuple(None if not e else (e[0] if len(e) == 1 else tuple(e)) for e in entries)


@settings(max_examples=25, deadline=None)
@given(src=spec(), dst=spec())
def test_redistribute_random_specs(src, dst):
    g = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    L, D = axe.shard(SHAPE, MESH, src), axe.shard(SHAPE, MESH, dst)
    got = run_simulated(MESH, lambda r: redistribute(r, local_shard(g, L, MESH, r.rank), L, D, SHAPE))
    for rank in range(MESH.size):
        np.testing.assert_array_equal(got[rank], local_shard(g, D, MESH, rank), err_msg=f"{src} -> {dst}")


@settings(max_examples=15, deadline=None)
@given(src=spec(), dst=spec(ndim=2))
def test_sum_over_dim0_random_specs(src, dst):
    g = np.arange(np.prod(SHAPE)).reshape(SHAPE) % 7
    L, D = axe.shard(SHAPE, MESH, src), axe.shard(SHAPE[1:], MESH, dst)
    try:
        got = run_simulated(MESH, lambda r: distributed_sum(r, local_shard(g, L, MESH, r.rank), L, SHAPE, 0, D))
    except axe.AxeError as e:
        assert "no plan" in str(e), str(e)
        return
    for rank in range(MESH.size):
        np.testing.assert_array_equal(got[rank], local_shard(g.sum(0), D, MESH, rank), err_msg=f"{src} -> {dst}")
