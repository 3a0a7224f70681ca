"""IR round-trip, dispatch explanations, and partition-driven copies checked against layout.apply."""

import importlib.util
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axe
import dsl
from dsl.cli import load_module
from lowering import ir
from lowering.printer import parse, to_text

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def _load(name):
    return load_module(EXAMPLES / f"{name}.py", f"ex_{name}")


EXAMPLE_KERNELS = [(path.stem, name) for path in sorted(EXAMPLES.glob("*.py"))
                   for name, obj in vars(_load(path.stem)).items() if isinstance(obj, dsl.KernelFunction)]


def test_the_examples_have_kernels():
    assert {m for m, _ in EXAMPLE_KERNELS} >= {"gemm", "softmax", "transpose", "reduction", "motivating_example",
                                               "vector_add"}


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
@pytest.mark.parametrize("module, name", EXAMPLE_KERNELS)
def test_every_example_round_trips_after_every_pass(module, name, backend):
    k = getattr(_load(module), name)
    values = dict(k.example)
    passes = k.passes(k.resolve_grid(values), backend, k.divisible(values),
                      **{c: values[c] for c in k.const_names()})
    assert [p for p, _ in passes][:2] == ["frontend", "verify"] and passes[-1][0] == "simplify"
    for _, stage in passes:
        text = to_text(stage)
        assert parse(text) == stage
        assert to_text(parse(text)) == text


_leaf = st.one_of(st.builds(ir.Const, st.integers(-2**31, 2**31 - 1), st.just("i32")),
                  st.builds(ir.Const, st.floats(allow_nan=False, width=32), st.just("f32")),
                  st.builds(ir.Var, st.sampled_from(["i", "j", "x_1"]), st.sampled_from(["i32", "f16"])),
                  st.builds(ir.ThreadIdx, st.sampled_from(ir.THREAD_KINDS)))
_expr = st.recursive(_leaf, lambda e: st.one_of(
    st.builds(ir.BinOp, st.sampled_from(["+", "*", "//", "min"]), e, e),
    st.builds(ir.Cmp, st.sampled_from(["<", "=="]), e, e),
    st.builds(ir.Select, e, e, e), st.builds(ir.UnOp, st.just("neg"), e)), max_leaves=12)


@given(_expr)
@settings(max_examples=60, deadline=None)
def test_random_expressions_round_trip(e):
    s = ir.If(ir.Cmp("<", e, e), (ir.Assign(ir.Var("v", "i32"), e),), (ir.Break(),))
    assert parse(to_text(s)) == s


def test_garbage_text_is_an_axe_error():
    with pytest.raises(axe.AxeError, match="does not parse"):
        parse("(BinOp +")


@dsl.kernel(grid=(1,), threads=32)
def bad_copy(a: dsl.Tensor[(32, 4), dsl.f32]):
    r = dsl.alloc_local((1, 4), dsl.f32)
    dsl.copy(r, a[0:1, 0:4])


def test_dispatch_failure_lists_every_schedule_and_reason():
    with pytest.raises(dsl.DslError) as e:
        bad_copy.compile((1,))
    msg = str(e.value)
    assert "no schedule for copy" in msg and "copy_partition: per-thread arrays are operands of thread-scope" in msg
    assert "copy_strided: every operand must be a global or shared" in msg and "test_lowering.py" in msg
    assert "copy_thread: runs at thread scope, not cta" in msg


@dsl.kernel(grid=(1,), threads=32)
def forced(a: dsl.Tensor[(8, 8), dsl.i32], b: dsl.Tensor[(8, 8), dsl.i32]):
    dsl.copy(b[0:4, 0:8], a[4:8, 0:8], dispatch="copy_partition")


def test_forced_dispatch_that_declines_explains():
    with pytest.raises(dsl.DslError, match="dispatch='copy_partition'.*\n.*copy_partition: no operand is a register"):
        forced.compile((1,))


@dsl.kernel(grid=(1,), threads=32)
def strided(a: dsl.Tensor[(8, 8), dsl.i32], b: dsl.Tensor[(8, 8), dsl.i32]):
    dsl.copy(b[0:4, 2:8], a[4:8, 0:6])


def test_cta_strided_copy_of_regions():
    a = np.arange(64, dtype=np.int32).reshape(8, 8)
    b = np.zeros_like(a)
    strided(a, b)
    want = np.zeros_like(a)
    want[0:4, 2:8] = a[4:8, 0:6]
    assert np.array_equal(b, want)


def test_user_schedule_takes_precedence_and_is_listed():
    seen = []

    @dsl.schedule("copy", scope="cta", backend="cpu", name="user_decline",
                  when=lambda op: seen.append(op.op) or "user schedule declines on purpose")
    def _user(op, ctx):
        return ()

    with pytest.raises(dsl.DslError, match="user_decline: user schedule declines on purpose"):
        bad_copy.compile((2,))
    assert seen == ["copy"]
    assert dsl.schedules_for("copy", "cta", "cpu")[0].name == "user_decline"


def _copy_kernel(layout_text, shape, threads):
    src = f"""
import dsl

@dsl.kernel(grid=(1,), threads={threads})
def k(a: dsl.Tensor[{shape}, dsl.i32], out: dsl.Tensor[({threads}, "NREG"), dsl.i32], NREG: dsl.const):
    r = dsl.alloc_local({shape}, dsl.i32, layout="{layout_text}")
    dsl.copy(r, a)
    for j in range(NREG):
        out[dsl.thread_id(), j] = r[j]
"""
    return src


@pytest.mark.parametrize("layout_text, shape, threads", [
    ("S[(16,8,8):(8@tx,1@tx,1@reg)]", (16, 64), 128),
    ("S[(2,8,2,4,2):(2@reg,4@lane,4@reg,1@lane,1@reg)]", (16, 16), 32),   # mma A fragment
    ("S[(2,8,4,2):(2@reg,4@lane,1@lane,1@reg)]", (16, 8), 32),            # mma C fragment
    ("S[(4,8,4):(1@warp,1@reg,1@lane)]", (4, 32), 128),
])
def test_partition_copy_matches_layout_apply(tmp_path, layout_text, shape, threads):
    path = tmp_path / "pc.py"
    path.write_text(_copy_kernel(layout_text, shape, threads))
    spec = importlib.util.spec_from_file_location("pc", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    L = axe.Layout.parse(layout_text)
    nreg = int(L.partition(tuple(a for a in L.axes if a != "reg")).num_local)
    a = np.arange(np.prod(shape), dtype=np.int32).reshape(shape) * 3 + 1
    out = np.full((threads, nreg), -1, np.int32)
    mod.k(a, out, nreg)
    want = np.zeros((threads, nreg), np.int32)  # threads owning nothing keep zero-initialised registers
    for idx in np.ndindex(*shape):
        for c in L.apply(*idx, shape=shape):
            tx = c["tx"] + 32 * c["warp"] + c["lane"]
            want[tx, c["reg"]] = a[idx]
    assert np.array_equal(out, want)


@pytest.mark.parametrize("region, culprit", [("a[0:4, 0:9]", "out of bounds"), ("a[2, 0:4]", "take slices")])
def test_static_slice_errors_point_at_user_code(tmp_path, region, culprit):
    path = tmp_path / "sl.py"
    path.write_text("import dsl\n\n@dsl.kernel(grid=(1,), threads=32)\n"
                    "def k(a: dsl.Tensor[(8, 8), dsl.i32], b: dsl.Tensor[(8, 8), dsl.i32]):\n"
                    f"    dsl.copy(b[0:4, 0:4], {region})\n")
    spec = importlib.util.spec_from_file_location("sl", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(dsl.DslError) as e:
        mod.k.compile((1,))
    assert culprit in str(e.value) and "sl.py:5" in str(e.value) and "^" in str(e.value)
