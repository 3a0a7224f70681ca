"""Layout-derived collectives: redistribute and sum on a simulated mesh against numpy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import axe
from axe.transitions import plan_copy
from collectives import CollectiveError, distributed_sum, local_shard, redistribute, run_simulated

MESH = axe.Mesh(x=2, y=2)
SHAPE = (8, 12, 4)


def specs():
    opts = [None, "x", "y", ("x", "y"), ("y", "x")]
    for spec in itertools.product(opts, repeat=3):
        used = [a for e in spec if e for a in ((e,) if isinstance(e, str) else e)]
        if len(used) == len(set(used)):
            yield spec


SPECS = list(specs())


@pytest.mark.parametrize("src", SPECS, ids=str)
def test_redistribute_every_pair(src):
    g = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    L = axe.shard(SHAPE, MESH, src)
    for dst in SPECS:
        D = axe.shard(SHAPE, MESH, dst)
        try:
            plan_copy(L, D, SHAPE, MESH)
        except axe.AxeError as e:
            assert "no collective plan" in str(e)
            continue
        got = run_simulated(MESH, lambda r, D=D: redistribute(r, local_shard(g, L, MESH, r.rank), L, D, SHAPE))
        for rank in range(MESH.size):
            np.testing.assert_array_equal(got[rank], local_shard(g, D, MESH, rank), err_msg=f"{src} -> {dst}")


def test_plans_are_the_expected_collectives():
    def plan(a, b):
        return [str(s) for s in plan_copy(axe.shard(SHAPE, MESH, a), axe.shard(SHAPE, MESH, b), SHAPE, MESH)]

    assert plan(("x", None, None), (None, None, None)) == ["all_gather(x, dim 0)"]
    assert plan((None, None, None), (None, "y", None)) == ["slice(y, dim 1)"]
    assert plan(("x", None, None), (None, "x", None)) == ["all_to_all(x, split 1, concat 0)"]
    assert plan((None, "x", "y"), (None, "y", "x")) == ["all_gather(x, dim 1)", "all_gather(y, dim 2)",
                                                        "slice(y, dim 1)", "slice(x, dim 2)"]
    assert plan((("x", "y"), None, None), ("x", "y", None)) == ["all_to_all(y, split 1, concat 0)"]
    assert plan(("x", "y", None), ("x", "y", None)) == []


def test_paper_figure8_reduce_scatter():
    mesh = axe.Mesh(g=4)
    src = axe.Layout.parse("S[(4,64,64):(1@gpuid,64,1)]")
    dst = axe.Layout.parse("S[(4,16,64):(1@gpuid,64,1)]")
    x = np.random.default_rng(0).integers(-9, 9, size=(4, 64, 64))
    srcm = axe.Layout.parse("S[(4,64,64):(1@g,64,1)]")
    got = run_simulated(mesh, lambda r: distributed_sum(r, local_shard(x, srcm, mesh, r.rank), src, (4, 64, 64),
                                                        0, dst))
    total = x.sum(axis=0)
    for rank in range(4):
        np.testing.assert_array_equal(got[rank], total[16 * rank:16 * (rank + 1)])


@pytest.mark.parametrize("src", [("x", None, "y"), (("x", "y"), None, None), ("y", "x", None)], ids=str)
@pytest.mark.parametrize("dst", [(None, None), ("x", None), (None, "y"), (("x", "y"), None)], ids=str)
def test_sum_over_a_distributed_dim(src, dst):
    g = np.arange(np.prod(SHAPE)).reshape(SHAPE) % 7
    L = axe.shard(SHAPE, MESH, src)
    out_shape = SHAPE[1:]
    D = axe.shard(out_shape, MESH, dst)
    try:
        got = run_simulated(MESH, lambda r: distributed_sum(r, local_shard(g, L, MESH, r.rank), L, SHAPE, 0, D))
    except axe.AxeError as e:
        assert "no" in str(e) and "plan" in str(e)
        return
    want = g.sum(axis=0)
    for rank in range(MESH.size):
        np.testing.assert_array_equal(got[rank], local_shard(want, D, MESH, rank))


def test_wrong_shard_names_rank_tensor_and_expected_shard():
    L = axe.shard((8, 4), MESH, ("x", None))
    want = r"^rank \d \(.*tensor should be the shard \[[04]:[48], 0:4\].*shape \(4, 4\)"
    with pytest.raises(CollectiveError, match=want):
        run_simulated(MESH, lambda r: redistribute(r, np.zeros((8, 4)), L, L, (8, 4)), timeout=10)
