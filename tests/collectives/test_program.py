"""Device-level collectives inside DSL kernels: the split into segments and host calls, and runs on 4
simulated ranks against numpy, for every transition the layouts can imply."""

import time

import numpy as np
import pytest

import axe
import dsl
from collectives import run_simulated
from collectives.program import rank_blocks
from lowering import ir
from lowering.printer import parse, to_text
from tests.kernel_source import HEADER, kernel_from_source

MESH = axe.Mesh(g=4)


def build(tmp_path, src, name="k"):
    return kernel_from_source(tmp_path, src, name, header=HEADER + "from axe import gpuid\n")


def shard(x, layout, rank):
    return np.ascontiguousarray(x[rank_blocks(layout, MESH, x.shape)[rank]])


COPIES = [  # (source layout, destination layout, shape, expected plan kinds)
    ("S[(4,8,16):(1@gpuid,16,1)]", "S[(32,16):(16,1)] + R[4:1@gpuid]", (32, 16), "all_gather"),
    ("S[(32,16):(16,1)] + R[4:1@gpuid]", "S[(4,8,16):(1@gpuid,16,1)]", (32, 16), "slice"),
    ("S[(4,8,16):(1@gpuid,16,1)]", "S[(32,4,4):(4,1@gpuid,1)]", (32, 16), "all_to_all"),
    ("S[(4,8,16):(1@gpuid,16,1)]", "S[(4,8,16):(-1@gpuid,16,1)] + 3@gpuid", (32, 16), "permute"),
]


@pytest.mark.parametrize("src, dst, shape, kind", COPIES)
def test_device_copy_in_a_kernel(tmp_path, src, dst, shape, kind):
    k, _ = build(tmp_path, f"""
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[{shape}, dsl.f32, "{src}"], y: dsl.Tensor[{shape}, dsl.f32, "{dst}"]):
        with dsl.kernel_scope():
            dsl.copy(y, x)
    """)
    prog = k.compile()
    assert isinstance(prog, ir.Program) and [type(s).__name__ for s in prog.steps] == ["HostCall"]
    assert parse(to_text(prog)) == prog
    X = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    S, D = axe.Layout.parse(src), axe.Layout.parse(dst)
    seen = []

    def body(rank):
        y = np.zeros(tuple(b.stop - b.start for b in rank_blocks(D, MESH, shape)[rank.rank]), np.float32)
        if kind == "permute":
            orig = rank.permute
            rank.permute = lambda *a, **kw: seen.append("permute") or orig(*a, **kw)
        k(shard(X, S, rank.rank), y, mesh=rank)
        return y

    outs = run_simulated(MESH, body)
    for r, y in enumerate(outs):
        assert np.array_equal(y, shard(X, D, r))
    assert kind != "permute" or seen


@pytest.mark.parametrize("dst, shape_out, rows", [
    ("S[(4,16,64):(1@gpuid,64,1)]", (64, 64), 16),                   # reduce-scatter (Figure 8)
    ("S[(64,64):(64,1)] + R[4:1@gpuid]", (64, 64), 64),              # all-reduce
])
def test_device_sum_in_a_kernel_with_local_segments(tmp_path, dst, shape_out, rows):
    """A local segment scales the input before the sum, another adds 1 after it."""
    k, _ = build(tmp_path, f"""
    @dsl.kernel(grid=(64,), threads=64)
    def k(x: dsl.Tensor[(4, 64, 64), dsl.f32, ((4, 64, 64), (1 @ gpuid, 64, 1))],
          y: dsl.Tensor[{shape_out}, dsl.f32, "{dst}"]):
        x[0, dsl.cta_id(), dsl.thread_id()] = x[0, dsl.cta_id(), dsl.thread_id()] * 2.0
        with dsl.kernel_scope():
            dsl.sum(y, x, dims=(0,))
        if dsl.cta_id() < {rows}:
            y[dsl.cta_id(), dsl.thread_id()] = y[dsl.cta_id(), dsl.thread_id()] + 1.0
    """)
    prog = k.compile((64,))
    assert [type(s).__name__ for s in prog.steps] == ["Launch", "HostCall", "Launch"]
    X = np.random.default_rng(0).standard_normal((4, 64, 64)).astype(np.float32)
    D = axe.Layout.parse(dst)

    def body(rank):
        y = np.zeros((rows, 64), np.float32)
        k(np.ascontiguousarray(X[rank.rank:rank.rank + 1]), y, mesh=rank)
        return y

    want = (2 * X).sum(0) + 1
    for r, y in enumerate(run_simulated(MESH, body)):
        np.testing.assert_allclose(y, want[rank_blocks(D, MESH, (64, 64))[r]], rtol=1e-5, atol=1e-5)


def test_entry_check_names_rank_tensor_and_shard(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(8, 4), dsl.f32, "S[(4,2,4):(1@gpuid,4,1)]"], y: dsl.Tensor[(8, 4), dsl.f32,
          "S[(8,4):(4,1)] + R[4:1@gpuid]"]):
        with dsl.kernel_scope():
            dsl.copy(y, x)
    """)

    def body(rank):
        bad = (3, 4) if rank.rank == 2 else (2, 4)
        k(np.zeros(bad, np.float32), np.zeros((8, 4), np.float32), mesh=rank)

    t = time.perf_counter()
    with pytest.raises(axe.AxeError, match=r"rank 2 \{'g': 2\}: tensor 'x' should be the shard \[4:6, 0:4\]"):
        run_simulated(MESH, body, timeout=20)
    assert time.perf_counter() - t < 15          # the other ranks were released, not left waiting


def test_collectives_must_be_at_top_level(tmp_path):
    k, path = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(8,), dsl.f32, "S[(4,2):(1@gpuid,1)]"], y: dsl.Tensor[(8,), dsl.f32,
          "S[8:1] + R[4:1@gpuid]"], n: dsl.i32):
        if n > 0:
            with dsl.kernel_scope():
                dsl.copy(y, x)
    """)
    with pytest.raises(dsl.DslError, match="inside a loop or branch") as e:
        k.compile()
    assert f"{path}:10:" in str(e.value)


def test_register_tensors_do_not_survive_the_split(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(8,), dsl.f32, "S[(4,2):(1@gpuid,1)]"], y: dsl.Tensor[(8,), dsl.f32,
          "S[8:1] + R[4:1@gpuid]"]):
        t = dsl.thread_id() * 2
        with dsl.kernel_scope():
            dsl.copy(y, x)
        y[t % 8] = 1.0
    """)
    with pytest.raises(dsl.DslError, match="'t' is used on both sides of this device-level copy"):
        k.compile()


def test_device_collective_needs_kernel_scope_and_a_mesh(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(8,), dsl.f32, "S[(4,2):(1@gpuid,1)]"], y: dsl.Tensor[(8,), dsl.f32,
          "S[8:1] + R[4:1@gpuid]"]):
        dsl.copy(y, x)
    """)
    with pytest.raises(dsl.DslError, match=r"must be written at kernel scope \(with dsl.kernel_scope\(\):\), not cta"):
        k.compile()
    k2, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(8,), dsl.f32, "S[(4,2):(1@gpuid,1)]"], y: dsl.Tensor[(8,), dsl.f32,
          "S[8:1] + R[4:1@gpuid]"]):
        with dsl.kernel_scope():
            dsl.copy(y, x)
    """)
    with pytest.raises(dsl.DslError, match="call it with mesh="):
        k2(np.zeros(2, np.float32), np.zeros(8, np.float32))
