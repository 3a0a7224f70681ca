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
    ("gemm", lambda m: [m.run(128, verbose=False, kernel=k) for k in (m.gemm, m.gemm_cta, m.gemm_bf16)]),
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
    # the example states k % 32 == 0 (multiple_of), which also makes A's rows 16-byte aligned; the same
    # kernel without that statement, at k = 40 (rows of A not 16-byte aligned), must fall back
    unstated = dsl.kernel(g.gemm.fn, grid=g.gemm.grid, threads=g.gemm.threads)
    odd = to_text(unstated.specialise(backend="cuda", m=128, n=128, k=40))
    assert '(Call "cp_async"' in odd and odd.count('(Call "cp_async"') == 1   # only B's tile qualifies
    cpu = to_text(g.gemm.specialise(m=128, n=128, k=64))
    assert "cp_async" not in cpu


def test_vector_copies_check_alignment_at_run_time():
    from lowering import ir
    a, b = ir.Buffer("a", "f16", 64), ir.Buffer("b", "f16", 64)
    call = ir.Call("copy_vec", (b, ir.Const(4, "i32"), a, ir.Const(0, "i32"), ir.Const(8, "i32")), "i32")
    k = ir.Kernel("k", (a, b), (1,), 1, (ir.Evaluate(call),))
    with pytest.raises(dsl.KernelRuntimeError, match="misaligned copy_vec of 8 elements"):
        run(k, [np.zeros(64, np.float16), np.zeros(64, np.float16)])


def _inputs(rng, shape, dt):
    """Random f16 values, or bf16 values (float32 truncated) as the raw bits bf16 tensors take; and their
    float32 values."""
    x = rng.standard_normal(shape).astype(np.float32)
    if dt == "f16":
        return x.astype(np.float16), x.astype(np.float16).astype(np.float32)
    bits = (x.view(np.uint32) >> 16).astype(np.uint16)
    return bits, (bits.astype(np.uint32) << 16).view(np.float32)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("dt", ["f16", "bf16"])
def test_cta_gemm_with_ldmatrix_and_transposes(tmp_path, monkeypatch, ta, tb, dt):
    """gemm_mma_cta on CUDA reads fragments with ldmatrix (.trans where the stored operand needs it); the
    CPU backend emulates ldmatrix from the CUTLASS-checked preset layouts, so the result is checked here,
    for f16 and bf16 operands (ldmatrix moves 16-bit values whatever they are)."""
    import axe
    C = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
                 axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))
    a_shape, b_shape = ((32, 64) if ta else (64, 32)), ((32, 32))
    src = f"""
    @dsl.kernel(threads=128)
    def k(a: dsl.Tensor[{a_shape}, dsl.{dt}], b: dsl.Tensor[{b_shape}, dsl.{dt}], c: dsl.Tensor[(64, 32), dsl.f32]):
        As = dsl.alloc_shared({a_shape}, dsl.{dt})
        Bs = dsl.alloc_shared({b_shape}, dsl.{dt})
        acc = dsl.alloc_local((64, 32), dsl.f32, layout="{C}")
        dsl.copy(As, a)
        dsl.copy(Bs, b)
        dsl.barrier()
        dsl.gemm(acc, As, Bs, transpose_a={ta}, transpose_b={tb}, accumulate=False)
        dsl.copy(c, acc)
    """
    k, _ = kernel_from_source(tmp_path, src, stem=f"g{int(ta)}{int(tb)}{dt}")
    assert to_text(k.specialise(backend="cuda")).count('(Call "ldmatrix"') == 4   # 2 A (x4) + 2 B (x2)
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    rng = np.random.default_rng(4)
    a, A32 = _inputs(rng, a_shape, dt)
    b, B32 = _inputs(rng, b_shape, dt)
    c = np.zeros((64, 32), np.float32)
    k(a, b, c)
    want = (A32.T if ta else A32) @ (B32.T if tb else B32)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)     # exact products, f32 sums


@pytest.mark.parametrize("lowering", ["cpu", "cuda"])
def test_warp_gemm_with_bf16_fragments(tmp_path, monkeypatch, lowering):
    """gemm_mma_warp with bf16 A/B register tensors in the mma fragment layouts (two k steps, two n tiles),
    under both lowerings; mixing f16 and bf16 operands is an error at the call."""
    import axe
    from axe.presets import nvidia
    A = axe.tile(axe.Layout.parse("S[(1,2):(1@reg,1@reg)]"), nvidia.mma_m16n8k16("A", "bf16"), (1, 2), (16, 16))
    B = axe.tile(axe.Layout.parse("S[(2,2):(2@reg,1@reg)]"), nvidia.mma_m16n8k16("B", "bf16"), (2, 2), (16, 8))
    C = axe.tile(axe.Layout.parse("S[(1,2):(1@reg,1@reg)]"), nvidia.mma_m16n8k16("C"), (1, 2), (16, 8))
    src = f"""
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(16, 32), dsl.bf16], b: dsl.Tensor[(32, 16), dsl.bf16], c: dsl.Tensor[(16, 16), dsl.f32]):
        af = dsl.alloc_local((16, 32), dsl.bf16, layout="{A}")
        bf = dsl.alloc_local((32, 16), dsl.bf16, layout="{B}")
        acc = dsl.alloc_local((16, 16), dsl.f32, layout="{C}")
        with dsl.warp():
            dsl.copy(af, a)
            dsl.copy(bf, b)
            dsl.fill(acc, 1.0)
            dsl.gemm(acc, af, bf)
            dsl.copy(c, acc)
    """
    k, _ = kernel_from_source(tmp_path, src, stem=f"wb{lowering}")
    assert to_text(k.specialise(backend=lowering)).count('(Call "mma_m16n8k16"') == 4
    monkeypatch.setenv("AXE_CPU_LOWERING", lowering)
    rng = np.random.default_rng(5)
    a, A32 = _inputs(rng, (16, 32), "bf16")
    b, B32 = _inputs(rng, (32, 16), "bf16")
    c = np.zeros((16, 16), np.float32)
    k(a, b, c)
    np.testing.assert_allclose(c, A32 @ B32 + 1, rtol=1e-5, atol=1e-5)
    mixed_src = src.replace("(32, 16), dsl.bf16", "(32, 16), dsl.f16")      # B (parameter and fragments) f16
    mixed, _ = kernel_from_source(tmp_path, mixed_src, stem=f"wm{lowering}")
    with pytest.raises(dsl.DslError, match="gemm: A is bf16 but B is f16"):
        mixed.compile()
