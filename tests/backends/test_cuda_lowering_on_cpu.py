"""The CUDA lowering (its schedules and intrinsics: cp.async, 16-byte vector copies, shuffles, mma,
distributed shared memory) executed by the CPU backend against numpy: the CUDA code paths are checked on
machines without a GPU. Generated source for the same IR is compile-checked in tests/lowering."""

import pathlib

import numpy as np
import pytest

import dsl
from backends.cpu import run
from dsl.cli import load_module
from lowering.printer import to_text
from tests.kernel_source import kernel_from_source

EX = pathlib.Path(__file__).parents[2] / "examples"


def _load(name):
    return load_module(EX / f"{name}.py", f"cudacpu_{name}")


@pytest.mark.parametrize("name, call", [
    ("gemm", lambda m: [m.run(128, verbose=False, kernel=k) for k in (m.gemm, m.gemm_cta)]),
    ("softmax", lambda m: m.main(64, 256)),
    ("transpose", lambda m: m.main(96, 64)),
    ("reduction", lambda m: m.main(50_001)),
    ("vector_add", lambda m: m.main(1000)),
    ("motivating_example", lambda m: m.main()),
    ("gemm_hopper", lambda m: [m.main(128, kernel=k) for k in (m.gemm_hopper, m.gemm_hopper_pipelined)]),
])
def test_examples_with_the_cuda_lowering(monkeypatch, name, call):
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    call(_load(name))                               # each example asserts against numpy itself


def test_gemm_cuda_lowering_uses_cp_async_when_aligned_and_falls_back_when_not():
    g = _load("gemm")
    aligned = to_text(g.gemm.specialise(backend="cuda", m=128, n=128, k=64))
    assert aligned.count('(Call "cp_async"') == 2 and '(Call "cp_async_wait_all"' in aligned
    odd = to_text(g.gemm.specialise(backend="cuda", m=128, n=128, k=40))   # rows of A not 16-byte aligned
    assert '(Call "cp_async"' in odd and odd.count('(Call "cp_async"') == 1   # only B's tile qualifies
    cpu = to_text(g.gemm.specialise(m=128, n=128, k=64))
    assert "cp_async" not in cpu


def test_vector_copies_check_alignment_at_run_time():
    from dsl import ir
    a, b = ir.Buffer("a", "f16", 64), ir.Buffer("b", "f16", 64)
    call = ir.Call("copy_vec", (b, ir.Const(4, "i32"), a, ir.Const(0, "i32"), ir.Const(8, "i32")), "i32")
    k = ir.Kernel("k", (a, b), (1,), 1, (ir.Evaluate(call),))
    with pytest.raises(dsl.KernelRuntimeError, match="misaligned copy_vec of 8 elements"):
        run(k, [np.zeros(64, np.float16), np.zeros(64, np.float16)])


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_cta_gemm_with_ldmatrix_and_transposes(tmp_path, monkeypatch, ta, tb):
    """gemm_mma_cta on CUDA reads fragments with ldmatrix (.trans where the stored operand needs it); the
    CPU backend emulates ldmatrix from the CUTLASS-checked preset layouts, so the result is checked here."""
    import axe
    C = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
                 axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))
    a_shape, b_shape = ((32, 64) if ta else (64, 32)), ((32, 32))
    src = f"""
    @dsl.kernel(threads=128)
    def k(a: dsl.Tensor[{a_shape}, dsl.f16], b: dsl.Tensor[{b_shape}, dsl.f16], c: dsl.Tensor[(64, 32), dsl.f32]):
        As = dsl.alloc_shared({a_shape}, dsl.f16)
        Bs = dsl.alloc_shared({b_shape}, dsl.f16)
        acc = dsl.alloc_local((64, 32), dsl.f32, layout="{C}")
        dsl.copy(As, a)
        dsl.copy(Bs, b)
        dsl.barrier()
        dsl.gemm(acc, As, Bs, transpose_a={ta}, transpose_b={tb}, accumulate=False)
        dsl.copy(c, acc)
    """
    k, _ = kernel_from_source(tmp_path, src, stem=f"g{int(ta)}{int(tb)}")
    assert to_text(k.specialise(backend="cuda")).count('(Call "ldmatrix"') == 4   # 2 A (x4) + 2 B (x2)
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    rng = np.random.default_rng(4)
    a = rng.standard_normal(a_shape).astype(np.float16)
    b = rng.standard_normal(b_shape).astype(np.float16)
    c = np.zeros((64, 32), np.float32)
    k(a, b, c)
    A32, B32 = a.astype(np.float32), b.astype(np.float32)
    want = (A32.T if ta else A32) @ (B32.T if tb else B32)
    np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3)
