"""End-to-end: kernel source -> thread-level IR -> CPU backend, checked against numpy."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axe
import dsl
from lowering import ir

N = dsl.dim("n")


@dsl.kernel(grid=lambda n: ((n + 63) // 64,), threads=64)
def saxpy(x: dsl.Tensor[(N,), dsl.f32], y: dsl.Tensor[(N,), dsl.f32], alpha: dsl.f32, n: dsl.i32):
    i = dsl.cta_id() * 64 + dsl.thread_id()
    if i < n:
        y[i] = alpha * x[i] + y[i]


@given(st.integers(1, 300), st.floats(-4, 4, width=32))
@settings(max_examples=20, deadline=None)
def test_saxpy_matches_numpy(n, alpha):
    rng = np.random.default_rng(n)
    x, y = rng.standard_normal(n, np.float32), rng.standard_normal(n, np.float32)
    want = np.float32(alpha) * x + y
    saxpy(x, y, alpha, n)
    np.testing.assert_array_equal(y, want)


@dsl.kernel(grid=(2,), threads=32)
def collatz(out: dsl.Tensor[(64,), dsl.i32]):
    """Divergent while/if/else/continue/break per thread: count Collatz steps, capped at 50."""
    t = dsl.cta_id() * 32 + dsl.thread_id()
    v = t + 1
    steps = 0
    while v != 1:
        if steps >= 50:
            break
        steps += 1
        if v % 2 == 0:
            v = v // 2
            continue
        else:
            v = 3 * v + 1
    out[t] = steps


def _collatz(v):
    s = 0
    while v != 1 and s < 50:
        s += 1
        v = v // 2 if v % 2 == 0 else 3 * v + 1
    return s


def test_divergent_control_flow_is_exact():
    out = np.zeros(64, np.int32)
    collatz(out)
    assert out.tolist() == [_collatz(t + 1) for t in range(64)]


@dsl.kernel(grid=(1,), threads=32)
def nested_for(out: dsl.Tensor[(32, 8), dsl.i64], K: dsl.const):
    t = dsl.lane_id()
    for j in range(8):
        acc = 0
        for k in range(t % 5, K, 2):
            if k == 7:
                continue
            acc += k * j
        out[t, j] = acc


@pytest.mark.parametrize("K", [0, 9, 16])
def test_nested_loops_dynamic_bounds_and_consts(K):
    out = np.zeros((32, 8), np.int64)
    nested_for(out, K)
    want = [[sum(k * j for k in range(t % 5, K, 2) if k != 7) for j in range(8)] for t in range(32)]
    assert out.tolist() == want


def test_kernels_are_cached_per_const():
    a = nested_for.compile((1,), K=3)
    assert nested_for.compile((1,), K=3) is a
    assert nested_for.compile((1,), K=4) is not a


@dsl.kernel(grid=(1,), threads=64)
def warp_sum(x: dsl.Tensor[(64,), dsl.i32], out: dsl.Tensor[(2,), dsl.i32]):
    v = x[dsl.thread_id()]
    for s in range(5):
        v += dsl.shfl_xor(v, 1 << s)
    if dsl.lane_id() == 0:
        out[dsl.warp_id()] = v


def test_shuffle_reduction_per_warp():
    x = np.arange(64, dtype=np.int32) ** 2
    out = np.zeros(2, np.int32)
    warp_sum(x, out)
    assert out.tolist() == [int(x[:32].sum()), int(x[32:].sum())]


@dsl.kernel(grid=(3,), threads=16)
def reverse_in_smem(x: dsl.Tensor[(48,), dsl.f32]):
    s = dsl.alloc_shared((16,), dsl.f32)
    t = dsl.thread_id()
    s[t] = x[dsl.cta_id() * 16 + t]
    dsl.barrier()
    x[dsl.cta_id() * 16 + t] = s[15 - t]


def test_shared_memory_is_per_cta():
    x = np.arange(48, dtype=np.float32)
    reverse_in_smem(x)
    assert x.tolist() == [float(c * 16 + 15 - t) for c in range(3) for t in range(16)]


@dsl.kernel(grid=(1,), threads=8)
def oob(x: dsl.Tensor[(8,), dsl.f32]):
    x[dsl.thread_id() + 1] = 1.0


def test_out_of_bounds_names_kernel_line_thread_address():
    with pytest.raises(dsl.KernelRuntimeError) as e:
        oob(np.zeros(8, np.float32))
    msg = str(e.value)
    assert "test_frontend_cpu.py" in msg and "oob" in msg and "tx=7" in msg and "address 8" in msg
    assert "x[dsl.thread_id() + 1] = 1.0" in msg and isinstance(e.value, axe.AxeError)


@dsl.kernel(grid=(1,), threads=8)
def racy(x: dsl.Tensor[(8,), dsl.f32]):
    s = dsl.alloc_shared((4,), dsl.f32)
    s[dsl.thread_id() // 2] = 1.0
    x[dsl.thread_id()] = s[0]


def test_shared_race_is_reported():
    with pytest.raises(dsl.KernelRuntimeError, match="race"):
        racy(np.zeros(8, np.float32))


def _kernel_from(src, tmp_path, name="bad"):
    path = tmp_path / f"{name}.py"
    path.write_text("import dsl\n\n@dsl.kernel(grid=(1,), threads=4)\n" + src)
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.k


@pytest.mark.parametrize("body, culprit", [
    ("    x[0] = [1, 2]\n", "unsupported expression: List"),
    ("    del x\n", "unsupported statement: Delete"),
    ("    with open('f'):\n        pass\n", "needs an execution scope"),
    ("    y = zz + 1\n", "unknown name 'zz'"),
    ("    x[0, 1] = 1.0\n", "has 1 dims, indexed with 2"),
    ("    x[1.5] = 1.0\n", "index must be an integer"),
    ("    i = 0\n    i = 2.5\n", "needs an explicit cast"),
])
def test_user_errors_point_at_source_line_with_caret(tmp_path, body, culprit):
    k = _kernel_from("def k(x: dsl.Tensor[(4,), dsl.f32]):\n" + body, tmp_path)
    with pytest.raises(dsl.DslError) as e:
        k.compile((1,))
    msg = str(e.value)
    assert culprit in msg and "bad.py:" in msg and "^" in msg


def test_ir_nodes_are_immutable_and_hashable():
    a = ir.BinOp("+", ir.Var("i", "i32"), ir.Const(1, "i32"))
    assert hash(a) == hash(ir.BinOp("+", ir.Var("i", "i32"), ir.Const(1, "i32")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.op = "-"


def test_wrong_argument_dtype_is_an_axe_error():
    with pytest.raises(axe.AxeError, match="must be f32"):
        saxpy(np.zeros(4, np.float64), np.zeros(4, np.float32), 1.0, 4)


def test_wrong_argument_count_is_an_axe_error():
    with pytest.raises(dsl.DslError, match="saxpy"):
        saxpy(np.zeros(4, np.float32))
