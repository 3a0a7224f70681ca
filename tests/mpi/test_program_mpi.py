"""Figure 8 and all-gather + GEMM as DSL kernels over real MPI ranks (run by tests/run_mpi.py under
``mpiexec -n 4``): the split program's host collectives go through mpi4py."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import axe
from collectives import ProcessMesh
from dsl.cli import load_module

pytestmark = [pytest.mark.mpi, pytest.mark.skipif(os.environ.get("AXE_MPI_TEST") != "1",
                                                  reason="run by tests/run_mpi.py under mpiexec -n 4")]
EX = pathlib.Path(__file__).parents[2] / "examples"


def _example(name):
    return load_module(EX / f"{name}.py", f"mpi_ex_{name}")


@pytest.fixture(scope="module")
def pm():
    return ProcessMesh(axe.Mesh(g=4), abort_on_error=False)


def test_figure8_reduce_scatter_kernel(pm):
    ex = _example("reduce_scatter")
    x = np.random.default_rng(7).standard_normal((4, 64, 64)).astype(np.float32)
    out = np.zeros((16, 64), np.float32)
    ex.reduce_scatter(np.ascontiguousarray(x[pm.rank:pm.rank + 1]), out, mesh=pm)
    np.testing.assert_allclose(out, x.sum(0)[16 * pm.rank:16 * pm.rank + 16], rtol=1e-5, atol=1e-5)


def test_allgather_gemm_kernel(pm):
    ok, line = _example("allgather_gemm").main(pm)
    assert ok, line
