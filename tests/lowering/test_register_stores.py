"""Register tensors stored to global memory in register pairs (CUDA): the accumulator epilogues' 8-byte
stores, the layouts that decline, and the fallback when the pitch is not provably even; run on the CPU
under the CUDA lowering against numpy and compiled with NVRTC."""

import numpy as np
import pytest

from backends.cuda.nvrtc import compile_cuda
from lowering.cuda import emit_cuda
from lowering.printer import to_text
from tests.kernel_source import kernel_from_source

SRC = '''
from axe.presets import nvidia
ACC = nvidia.wgmma_accumulator(16)

@dsl.kernel(threads=128)
def k(x: dsl.Tensor[(64, dsl.dim("n")), dsl.f32], y: dsl.Tensor[(64, dsl.dim("n")), DT], n: dsl.i32):
    acc = dsl.alloc_local((64, 16), dsl.f32, layout=ACC)
    dsl.copy(acc, x[0:64, 0:16])
    out = dsl.alloc_local((64, 16), DT, layout=ACC)
    dsl.cast(out, acc)
    dsl.copy(y[0:64, 0:16], out)
'''


def _kernel(tmp_path, dt):
    return kernel_from_source(tmp_path, SRC.replace("DT", f"dsl.{dt}"), "k")[0]


@pytest.mark.parametrize("dt", ["f32", "f16"])
@pytest.mark.parametrize("n, paired", [(32, True), (24, False)])
def test_pairs_when_the_pitch_is_provably_even(tmp_path, monkeypatch, dt, n, paired):
    k = _kernel(tmp_path, dt)
    text = to_text(k.specialise(backend="cuda", arch="sm_90a", n=n))
    assert ('(Call "copy_vec"' in text) == paired                # n = 24: no multiple-of-16 fact about n
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    x = np.random.default_rng(0).standard_normal((64, n)).astype(np.float32)
    y = np.zeros((64, n), np.float32 if dt == "f32" else np.float16)
    k(x, y, n)
    np.testing.assert_array_equal(y[:, :16], x[:, :16].astype(y.dtype))
    assert not y[:, 16:].any()


@pytest.mark.parametrize("dt, store", [("f32", "st.global.v2.f32"), ("f16", "st.global.u32")])
def test_pair_stores_compile_to_one_instruction(tmp_path, dt, store):
    k = _kernel(tmp_path, dt)
    src = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", n=32))
    res = compile_cuda(src.code, "sm_90a", options=("--ptxas-options=-v",))
    assert res.ptx.count(store) == 4 and "0 bytes stack frame" in res.log, res.log   # 8 values: 4 pairs


def test_layouts_whose_registers_do_not_pair_decline():
    import axe
    from lowering.register_stores import paired_registers

    assert paired_registers(axe.Layout.parse("S[(64,2):(1@lane,1@reg)]"), (64, 2)) is None
    assert "replicated" in paired_registers(axe.Layout.parse("S[(32,2):(1@lane,1@reg)] + R[2:1@warp]"), (32, 2))
    assert "one element" in paired_registers(axe.Layout.parse("S[(32,):(1@lane,)]"), (32,))
