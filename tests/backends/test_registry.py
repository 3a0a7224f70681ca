"""The backend registry: a new backend is one record; the kernel call, "auto", split programs and the CLI
go through it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import axe
import backends
import dsl
from backends.cpu import run as interpret
from collectives import run_simulated
from dsl.cli import compile_file, load_module
from tests.kernel_source import HEADER, kernel_from_source

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def toy():
    """A backend that runs the CPU interpreter under another name, counting its launches."""
    launches = []

    def run(kernel, args, *, arch=None, stream=None):
        launches.append(kernel.name)
        interpret(kernel, args)

    yield backends.register(backends.Backend("toy", "cpu", run)), launches
    backends.unregister("toy")


def test_a_toy_backend_runs_an_example_kernel(toy):
    _, launches = toy
    mod = load_module(EXAMPLES / "vector_add.py", "registry_vector_add")
    a, b = np.arange(300, dtype=np.float32), np.ones(300, np.float32)
    c = np.zeros(300, np.float32)
    mod.vector_add(a, b, c, 300, backend="toy")
    assert launches == ["vector_add"] and np.array_equal(c, a + b)
    assert "toy" in backends.names() and dsl.backend_option(["--backend", "toy"]) == "toy"


def test_auto_picks_the_available_backend_of_highest_priority(toy):
    backends.register(backends.Backend("toy2", "cpu", toy[0].run, auto_priority=99))
    try:
        assert backends.resolve("auto").name == "toy2"
        backends.register(backends.Backend("toy2", "cpu", toy[0].run, auto_priority=99,
                                           available=lambda: False))
        assert backends.resolve("auto").name == ("cuda" if backends.get("cuda").available() else "cpu")
    finally:
        backends.unregister("toy2")


def test_a_split_program_runs_its_segments_on_the_backend(toy, tmp_path):
    """A kernel split around a reduce-scatter: both local segments run on the toy backend, on every rank."""
    k, _ = kernel_from_source(tmp_path, """
    @dsl.kernel(grid=(64,), threads=64)
    def k(x: dsl.Tensor[(4, 64, 64), dsl.f32, ((4, 64, 64), (1 @ gpuid, 64, 1))],
          y: dsl.Tensor[(64, 64), dsl.f32, "S[(4,16,64):(1@gpuid,64,1)]"]):
        x[0, dsl.cta_id(), dsl.thread_id()] = x[0, dsl.cta_id(), dsl.thread_id()] * 2.0
        with dsl.kernel_scope():
            dsl.sum(y, x, dims=(0,))
        if dsl.cta_id() < 16:
            y[dsl.cta_id(), dsl.thread_id()] = y[dsl.cta_id(), dsl.thread_id()] + 1.0
    """, header=HEADER + "from axe import gpuid\n")
    x = np.random.default_rng(0).standard_normal((4, 64, 64)).astype(np.float32)

    def body(rank):
        y = np.zeros((16, 64), np.float32)
        k(x[rank.rank:rank.rank + 1].copy(), y, mesh=rank, backend="toy")
        return y

    outs = run_simulated(axe.Mesh(g=4), body)
    np.testing.assert_allclose(np.concatenate(outs), (2 * x).sum(0) + 1, rtol=1e-5, atol=1e-5)
    assert len(toy[1]) == 4 * 2     # two segments on each of 4 ranks


def test_unknown_backends_are_named_errors():
    mod = load_module(EXAMPLES / "vector_add.py", "registry_vector_add2")
    x = np.zeros(4, np.float32)
    with pytest.raises(dsl.DslError, match=r"kernel 'vector_add': unknown backend 'tpu' \(have: 'cpu', 'cuda'"):
        mod.vector_add(x, x, x, 4, backend="tpu")
    with pytest.raises(dsl.DslError, match="'auto' names no backend"):
        backends.register(backends.Backend("auto", "cpu", interpret))


def test_the_cli_writes_each_backends_artifacts(tmp_path):
    files = compile_file(EXAMPLES / "vector_add.py", target="cpu", out_dir=tmp_path, echo=lambda s: None)
    assert [f.name for f in files] == ["vector_add.ir"] and "(Kernel" in files[0].read_text()
