"""Register tensors to and from global memory in vectors (CUDA): the accumulator epilogues' 8-byte pair
stores, 16-byte loads and stores of rows whose lanes hold consecutive columns, halves packed into words,
the layouts that decline, and the fallback when alignment is not provable; run on the CPU under the CUDA
lowering against numpy and compiled with NVRTC."""

import re

import numpy as np
import pytest

from backends.cpu import dtypes
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


@pytest.mark.nvrtc
@pytest.mark.parametrize("dt, store", [("f32", "st.global.v2.f32"), ("f16", "st.global.u32")])
def test_pair_stores_compile_to_one_instruction(tmp_path, dt, store):
    k = _kernel(tmp_path, dt)
    src = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", n=32))
    res = compile_cuda(src.code, "sm_90a", options=("--ptxas-options=-v",))
    assert res.ptx.count(store) == 4 and "0 bytes stack frame" in res.log, res.log   # 8 values: 4 pairs


def test_layouts_whose_registers_do_not_pair_decline():
    import axe
    from lowering.schedules.copy_registers import paired_registers

    assert paired_registers(axe.Layout.parse("S[(64,2):(1@lane,1@reg)]"), (64, 2)) is None
    assert "replicated" in paired_registers(axe.Layout.parse("S[(32,2):(1@lane,1@reg)] + R[2:1@warp]"), (32, 2))
    assert "one element" in paired_registers(axe.Layout.parse("S[(32,):(1@lane,)]"), (32,))


ROWS = '''
L = "S[(4,2,32,4):(1@warp,4@reg,1@lane,1@reg)]"     # a row per warp, 4 consecutive columns per lane

@dsl.kernel(threads=128, multiple_of=MULT)
def rows(x: dsl.Tensor[(4, dsl.dim("n")), DT], y: dsl.Tensor[(4, dsl.dim("n")), DT], n: dsl.i32):
    t = dsl.alloc_local((4, 256), DT, layout=L)
    dsl.copy(t, x[0:4, 0:256])
    dsl.copy(y[0:4, 0:256], t)
'''


def _rows(tmp_path, dt, mult):
    src = ROWS.replace("DT", f"dsl.{dt}").replace("MULT", mult)
    return kernel_from_source(tmp_path, src, "rows", stem=f"rows_{dt}_{abs(hash(mult)) % 1000}")[0]


@pytest.mark.nvrtc
@pytest.mark.parametrize("dt, n, mult, width, load, store", [
    ("f32", 256, "None", 4, "ld.global.v4.f32", "st.global.v4.f32"),        # 16 bytes
    ("f32", 264, '{"n": 8}', 4, "ld.global.v4.f32", "st.global.v4.f32"),    # stated multiple of 8
    ("f32", 260, '{"n": 2}', 2, "ld.global.v2.f32", "st.global.v2.f32"),    # only pairs provable
    ("f16", 256, "None", 4, "ld.global.v2.u32", "st.global.v2.u32"),        # 4 halves per lane: 8 bytes
    ("bf16", 256, "None", 4, "ld.global.v2.u32", "st.global.v2.u32"),
])
def test_register_rows_load_and_store_in_vectors(tmp_path, monkeypatch, dt, n, mult, width, load, store):
    """Both directions, the widest group the layout and the alignment allow; the register array stays in
    registers (no stack); the CUDA lowering run on the CPU moves the right elements."""
    k = _rows(tmp_path, dt, mult)
    text = to_text(k.specialise(backend="cuda", arch="sm_90a", n=n))
    assert text.count('(Call "copy_vec"') == 2 * 8 // width          # 8 registers a thread, both ways
    src = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", n=n))
    res = compile_cuda(src.code, "sm_90a", options=("--ptxas-options=-v",))
    assert re.search(load.replace("ld.global", r"ld\.global(\.nc)?"), res.ptx) and store in res.ptx, res.ptx
    assert "0 bytes stack frame" in res.log, res.log
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    x = (np.random.default_rng(0).standard_normal((4, n)) * 8).astype(np.float32)
    xs = dtypes.to_storage(x, "bf16") if dt == "bf16" else x.astype(np.float16 if dt == "f16" else np.float32)
    y = np.zeros_like(xs)
    k(xs, y, n)
    np.testing.assert_array_equal(y[:, :256], xs[:, :256])
    assert not y[:, 256:].any()


def test_unprovable_alignment_falls_back_to_element_copies(tmp_path):
    k = _rows(tmp_path, "f32", "None")
    text = to_text(k.specialise(backend="cuda", arch="sm_90a", n=258))     # rows 2 elements off 16 bytes
    assert '(Call "copy_vec"' not in text


@pytest.mark.nvrtc
def test_halves_move_eight_at_a_time_when_a_lane_holds_eight(tmp_path):
    src = ROWS.replace("DT", "dsl.f16").replace("MULT", "None").replace(
        'L = "S[(4,2,32,4):(1@warp,4@reg,1@lane,1@reg)]"', 'L = "S[(4,32,8):(1@warp,1@lane,1@reg)]"')
    k = kernel_from_source(tmp_path, src, "rows", stem="rows_h8")[0]
    code = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", n=256)).code
    assert "const uint4 axe_v" in code and "*reinterpret_cast<uint4*>" in code
    ptx = compile_cuda(code, "sm_90a").ptx            # a thread's 8 halves: one 16-byte load, one store
    assert len(re.findall(r"ld\.global(\.nc)?\.v4\.u32", ptx)) == 1 and ptx.count("st.global.v4.u32") == 1
