"""Ranks must agree on a kernel (a digest exchanged on its first run), and no collective waits forever
(the collective timeout), on the simulated mesh. The MPI side: tests/mpi/test_agreement_mpi.py and
tests/collectives/test_mpi_failures.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

import axe
from collectives import (
    CollectiveError,
    CollectiveMismatch,
    CollectiveTimeout,
    collective_timeout,
    run_simulated,
    set_collective_timeout,
)
from tests.kernel_source import HEADER, kernel_from_source

MESH = axe.Mesh(g=4)
OUTPUTS = {"reduce_scatter": ("S[(4,16,64):(1@gpuid,64,1)]", 16),     # output layout, rows per rank
           "all_reduce": ("S[(64,64):(64,1)] + R[4:1@gpuid]", 64)}
X = np.random.default_rng(3).standard_normal((4, 64, 64)).astype(np.float32)


def figure8(folder, kind, stem=None, blank_lines=0):
    """The paper's Figure 8 kernel, its output laid out for a reduce-scatter or for an all-reduce."""
    layout, _ = OUTPUTS[kind]
    return kernel_from_source(folder, "\n" * blank_lines + f"""
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(4, 64, 64), dsl.f32, ((4, 64, 64), (1 @ gpuid, 64, 1))],
          y: dsl.Tensor[(64, 64), dsl.f32, "{layout}"]):
        with dsl.kernel_scope():
            dsl.sum(y, x, dims=(0,))
    """, header=HEADER + "from axe import gpuid\n", stem=stem or f"fig8_{kind}")[0]


def run(kernel, rank, kind):
    y = np.zeros((OUTPUTS[kind][1], 64), np.float32)
    kernel(np.ascontiguousarray(X[rank.rank:rank.rank + 1]), y, mesh=rank)
    return y


def counting(rank):
    """Count the rank's agreement exchanges."""
    rank.checks = 0
    gather = rank._gather_objects

    def wrapped(axes, obj, what="debug check"):
        rank.checks += what.startswith("program check")
        return gather(axes, obj, what)

    rank._gather_objects = wrapped
    return rank


def test_a_rank_with_another_layout_makes_every_rank_raise(tmp_path):
    kernels = {kind: figure8(tmp_path, kind) for kind in OUTPUTS}

    def body(rank):
        kind = "all_reduce" if rank.rank == 2 else "reduce_scatter"
        with pytest.raises(CollectiveMismatch) as e:
            run(kernels[kind], rank, kind)
        return str(e.value)

    t = time.perf_counter()
    messages = run_simulated(MESH, body, timeout=20)
    assert time.perf_counter() - t < 10
    for m in messages:
        assert "host call 1 (line 9): rank 2 plans sum 'x' over dim 0 into 'y' = local_sum(dim 0), all_reduce(g)" in m
        assert "where ranks 0, 1, 3 plan sum 'x' over dim 0 into 'y' = local_sum(dim 0), reduce_scatter(g, dim 0)" in m
        assert "first difference: parameter 'y': rank 2 has f32 (64, 64) laid out as S[(64,64):(64,1)]" in m


def test_agreeing_ranks_check_once_per_program(tmp_path):
    k = figure8(tmp_path, "reduce_scatter")

    def body(rank):
        counting(rank)
        for _ in range(3):
            y = run(k, rank, "reduce_scatter")
        return rank.checks, y

    for r, (checks, y) in enumerate(run_simulated(MESH, body, timeout=20)):
        assert checks == 1
        np.testing.assert_allclose(y, X.sum(0)[16 * r:16 * r + 16], rtol=1e-5, atol=1e-5)


def test_source_paths_and_lines_do_not_count(tmp_path):
    """The same kernel loaded from another file, its lines shifted, agrees (paths differ across machines)."""
    here = figure8(tmp_path, "reduce_scatter", stem="here")
    there = figure8(tmp_path, "reduce_scatter", stem="there", blank_lines=3)
    outs = run_simulated(MESH, lambda rank: run(there if rank.rank == 1 else here, rank, "reduce_scatter"), timeout=20)
    np.testing.assert_allclose(np.concatenate(outs), X.sum(0), rtol=1e-5, atol=1e-5)


def test_the_check_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CHECK_PROGRAMS", "0")
    k = figure8(tmp_path, "reduce_scatter")
    assert run_simulated(MESH, lambda rank: (counting(rank), run(k, rank, "reduce_scatter"))[0].checks) == [0] * 4


def test_a_rank_skipping_a_kernel_times_out_naming_call_line_and_rank(tmp_path):
    k = figure8(tmp_path, "reduce_scatter")
    run_simulated(MESH, lambda rank: run(k, rank, "reduce_scatter"), timeout=20)  # compiled: the rest is quick

    def body(rank):
        run(k, rank, "reduce_scatter")
        if rank.rank != 3:
            run(k, rank, "reduce_scatter")

    t = time.perf_counter()
    said = (r"reduce_scatter over \('g',\) with ranks \[0, 1, 2, 3\] \(host call reduce at line 9\) timed out after "
            r"0.5 s waiting for rank\(s\) \[3\]")
    with pytest.raises(CollectiveTimeout, match=said):
        run_simulated(MESH, body, timeout=0.5)
    assert time.perf_counter() - t < 5


def test_simulated_timeout_follows_the_setting(monkeypatch):
    mesh = axe.Mesh(dp=2, tp=2)

    def body(rank):
        if rank.rank != 0:
            rank.all_reduce(np.ones(2), "tp")

    monkeypatch.delenv("AXE_COLLECTIVE_TIMEOUT", raising=False)
    assert collective_timeout() == 300
    monkeypatch.setenv("AXE_COLLECTIVE_TIMEOUT", "0.5")
    t = time.perf_counter()
    with pytest.raises(CollectiveTimeout, match=r"rank 1: all_reduce over \('tp',\) with ranks \[0, 1\] timed out "
                                                r"after 0.5 s waiting for rank\(s\) \[0\]"):
        run_simulated(mesh, body)
    assert time.perf_counter() - t < 5
    set_collective_timeout(0.2)  # code beats the environment
    try:
        with pytest.raises(CollectiveTimeout, match="after 0.2 s"):
            run_simulated(mesh, body)
    finally:
        set_collective_timeout(None)
    monkeypatch.setenv("AXE_COLLECTIVE_TIMEOUT", "soon")
    with pytest.raises(CollectiveError, match="AXE_COLLECTIVE_TIMEOUT must be a number of seconds"):
        run_simulated(mesh, body)
    with pytest.raises(CollectiveError, match="must be a number of seconds"):
        set_collective_timeout(-1)


def test_ranks_that_finish_wait_for_the_others_as_long():
    def body(rank):
        if rank.rank == 1:
            time.sleep(3)  # computing, no collective: the others finished and wait for it at the end

    with pytest.raises(CollectiveTimeout, match=r"simulated rank\(s\) \[1\] did not finish within 0.3 s after "
                                                r"rank\(s\) \[0, 2, 3\] did"):
        run_simulated(MESH, body, timeout=0.3)
