"""Verification errors at the user's line, run-time checks of the CPU backend (barrier divergence,
uninitialised reads), bf16, DLPack inputs and per-pass IR dumps."""


import numpy as np
import pytest

import axe
import dsl
from backends.cpu import dtypes, run
from lowering import ir
from tests.kernel_source import kernel_from_source


def build(tmp_path, src, name="k"):
    return kernel_from_source(tmp_path, src, name)


@pytest.mark.parametrize("body, message, line", [
    ("if dsl.thread_id() < 5:\n        dsl.barrier()", "barrier reached by only some threads", 7),
    ("r = dsl.alloc_local((64,), dsl.f32, layout='S[64:1@lane]')", "reaching lane 63", 6),
    ("dsl.copy(a[0:4, 0:40], a[0:4, 0:40])", "out of bounds for dim of extent 32", 6),
    ("dsl.copy(a, a, where=1)", "unknown keyword 'where'", 6),
    ("dsl.sum(a, a, dims=(1,))", "gives shape (4,)", 6),
    ("with dsl.warp()[0:2]:\n        with dsl.cta():\n            dsl.barrier()", "only some threads of the cta", 8),
    ("x = a[0, 0:3]", "a region (slice) is an operator operand", 6),
    ("x = undefined_name + 1", "unknown name 'undefined_name'", 6),
    ("dsl.gemm(a, a, a)", "gemm shapes do not agree", 6),
])
def test_user_errors_point_at_the_line(tmp_path, body, message, line):
    src = f"\n@dsl.kernel(threads=32)\ndef k(a: dsl.Tensor[(4, 32), dsl.f32]):\n    {body}\n"
    k, path = build(tmp_path, src)
    with pytest.raises(axe.AxeError) as e:
        k.compile()
    assert message in str(e.value)
    assert f"{path}:{line}:" in str(e.value), str(e.value)


def test_barriers_of_a_scope_inside_slices_of_that_scope_are_legal(tmp_path):
    """A warp (warpgroup) barrier under a condition that is the same for the whole warp (warpgroup) is fine;
    under a per-lane condition it is not."""
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=256)
    def k(a: dsl.Tensor[(256,), dsl.i32]):
        with dsl.warp()[0:2]:
            dsl.barrier()
        with dsl.warpgroup()[1:2]:
            dsl.barrier()
            a[dsl.thread_id()] = 1
    """)
    a = np.zeros(256, np.int32)
    k(a)
    assert a.tolist() == [0] * 128 + [1] * 128
    bad, _ = build(tmp_path, """
    @dsl.kernel(threads=64)
    def k(a: dsl.Tensor[(64,), dsl.i32]):
        if dsl.lane_id() < 16:
            with dsl.warp():
                dsl.barrier()
    """)
    with pytest.raises(dsl.DslError, match="only some threads of the warp"):
        bad.compile()


def test_barrier_in_divergent_code_is_caught_at_run_time_too():
    a = ir.Buffer("a", "i32", 4)
    body = (ir.If(ir.Cmp("<", ir.ThreadIdx("tx"), ir.Const(2, "i32")), (ir.Barrier("cta"),)),)
    with pytest.raises(dsl.KernelRuntimeError, match="barrier in kernel 'k' reached by only part of cta 0"):
        run(ir.Kernel("k", (a,), (1,), 4, body), [np.zeros(4, np.int32)])


def test_uninitialised_shared_reads_are_reported_when_asked(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=4)
    def k(out: dsl.Tensor[(4,), dsl.i32]):
        s = dsl.alloc_shared((4,), dsl.i32)
        if dsl.thread_id() < 3:
            s[dsl.thread_id()] = 1
        dsl.barrier()
        out[dsl.thread_id()] = s[dsl.thread_id()]
    """)
    out = np.zeros(4, np.int32)
    k(out)                                          # unchecked: zero-filled
    with pytest.raises(dsl.KernelRuntimeError, match="uninitialised shared tensor .* tx=3\\) element 3"):
        run(k.compile(), [out], check_uninit=True)


def test_bf16_rounds_like_the_hardware(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=8)
    def k(x: dsl.Tensor[(8,), dsl.bf16], y: dsl.Tensor[(8,), dsl.bf16]):
        t = dsl.thread_id()
        y[t] = x[t] * dsl.bf16(3.0) + dsl.bf16(0.1)
    """)
    vals = np.array([1.0, 1.5, -2.25, 100.0, 0.333, 7.0, 1e-3, 65504.0], np.float32)
    x = dtypes.to_storage(vals, "bf16")
    y = np.zeros(8, np.uint16)
    k(x, y)
    xb = dtypes.from_storage(x, "bf16")
    want = dtypes.round_bf16(dtypes.round_bf16(xb * np.float32(3.0)) + dtypes.round_bf16(np.float32(0.1)))
    assert np.array_equal(dtypes.from_storage(y, "bf16"), want)
    ml = pytest.importorskip("ml_dtypes")
    assert np.array_equal(vals.astype(ml.bfloat16).view(np.uint16), x)   # our rounding == ml_dtypes'


class OnlyDLPack:
    """A tensor that offers nothing but DLPack (like a torch CPU tensor)."""

    def __init__(self, arr):
        self.arr = arr

    def __dlpack__(self, **kw):
        return self.arr.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.arr.__dlpack_device__()


def test_dlpack_tensors_are_updated_in_place(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=16)
    def k(y: dsl.Tensor[(16,), dsl.f32]):
        y[dsl.thread_id()] = y[dsl.thread_id()] + 1.0
    """)
    base = np.arange(16, dtype=np.float32)
    k(OnlyDLPack(base))
    assert base.tolist() == list(range(1, 17))


def test_dump_ir_shows_every_pass(tmp_path, capsys):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32]):
        r = dsl.alloc_local((32,), dsl.f32, layout="S[32:1@lane]")
        with dsl.warp():
            dsl.copy(r, a)
    """)
    dsl.compile(k, dump_ir=True)
    out = capsys.readouterr().out
    for name in ("frontend", "verify", "lower_ops", "simplify"):
        assert f"// ---- k: after {name}" in out
    assert "copy(r[0:+32], a[0:+32])  # at warp scope" in out and "r[0] = a[lane]" in out
    dsl.compile(k, dump_ir="sexpr")
    exact = capsys.readouterr().out
    assert '(OpCall "copy"' in exact and "(Load" in exact


def test_kernel_without_source_is_a_clear_error():
    ns = {}
    exec("import dsl\n@dsl.kernel\ndef k(a: dsl.Tensor[(4,), dsl.f32]):\n    a[0] = 1.0\n", ns)
    with pytest.raises(dsl.DslError, match="source is not available"):
        ns["k"].compile()


def test_cluster_ids_and_barrier(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
    def k(cid: dsl.Tensor[(8,), dsl.i32], rank: dsl.Tensor[(8,), dsl.i32]):
        with dsl.cluster():
            dsl.barrier()
        if dsl.thread_id() == 0:
            cid[dsl.cta_id()] = dsl.cluster_id()
            rank[dsl.cta_id()] = dsl.cluster_cta_id()
    """)
    cid, rank = np.zeros(8, np.int32), np.zeros(8, np.int32)
    k(cid, rank)
    assert cid.tolist() == [0] * 4 + [1] * 4 and rank.tolist() == [0, 1, 2, 3] * 2
    assert k.compile((8,)).cluster == (4,)


def test_cluster_must_divide_the_grid(tmp_path):
    """A static grid is checked when the decorator runs (at the def line); a grid given to compile then."""
    with pytest.raises(dsl.DslError, match="cluster \\(4,\\) does not divide the grid \\(6,\\)") as e:
        build(tmp_path, """
        @dsl.kernel(grid=(6,), threads=32, cluster=(4,))
        def k(a: dsl.Tensor[(6,), dsl.i32]):
            a[dsl.cta_id()] = 1
        """)
    assert ".py:5: kernel 'k'" in str(e.value)         # the def line
    k, _ = build(tmp_path, """
    @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
    def k(a: dsl.Tensor[(6,), dsl.i32]):
        a[dsl.cta_id()] = 1
    """)
    with pytest.raises(dsl.DslError, match="cluster \\(4,\\) does not divide the grid \\(6,\\)"):
        k.compile((6,))


@pytest.mark.parametrize("body, message", [
    ("with dsl.thread():\n        dsl.copy_async(s, a, barrier=bars[0])",
     "dsl.copy_async runs at cta, warpgroup or warp scope, not thread"),
    ("dsl.copy_async(s, a, barrier=s[0])", "'s' is not a barrier array"),
    ("dsl.copy_async(s, a, barrier=bars[2])", "barrier index 2 out of range for 2 barriers"),
    ("dsl.wait(bars[0])", r"dsl.wait\(bars\[i\], phase\) takes a barrier and the phase parity"),
])
def test_async_copy_errors(tmp_path, body, message):
    src = ("\n@dsl.kernel(threads=32)\ndef k(a: dsl.Tensor[(32,), dsl.f32]):\n"
           "    s = dsl.alloc_shared((32,), dsl.f32)\n    bars = dsl.alloc_barriers(2)\n    " + body + "\n")
    k, _ = build(tmp_path, src)
    with pytest.raises(dsl.DslError, match=message):
        k.compile()


def test_async_copy_and_wait_on_the_cpu(tmp_path):
    """Rows arrive through an asynchronous copy into one staging tile; each is waited for, then used."""
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(4, 32), dsl.f32], out: dsl.Tensor[(4, 32), dsl.f32]):
        s = dsl.alloc_shared((1, 32), dsl.f32)
        bars = dsl.alloc_barriers(1)
        for i in range(4):
            dsl.copy_async(s, a[i:i + 1, 0:32], barrier=bars[0])
            dsl.wait(bars[0], i)
            out[i, dsl.thread_id()] = s[0, dsl.thread_id()] * 2.0
            dsl.barrier()
    """)
    a = np.arange(128, dtype=np.float32).reshape(4, 32)
    out = np.zeros_like(a)
    k(a, out)
    assert np.array_equal(out, 2 * a)
    text = dsl.compile(k).__repr__()
    assert "mbar_wait" in text and "mbar_arrive" in text      # synchronous copy, then one arrival
