"""stmatrix (sm_90): the CPU emulation against the PTX ISA's arrangement (written out here) and ldmatrix,
the ``copy_stmatrix`` schedule on mma / wgmma fragment layouts run by the CPU backend under the CUDA lowering
against numpy, its refusals, and NVRTC compiles for sm_90a with ``stmatrix`` in the PTX."""

import re

import numpy as np
import pytest

import axe
import dsl
from axe.presets import nvidia
from backends.cpu.ldmatrix import ldmatrix, stmatrix
from backends.cuda.nvrtc import compile_cuda
from lowering.cuda import emit_cuda
from lowering.printer import to_text
from tests.kernel_source import kernel_from_source


@pytest.mark.parametrize("num", [1, 2, 4])
@pytest.mark.parametrize("trans", [False, True])
def test_emulation_matches_the_ptx_arrangement_and_inverts_ldmatrix(num, trans):
    rng = np.random.default_rng(num + 8 * trans)
    regs = rng.integers(0, 2**16, (2, 32, 2 * num)).astype(np.uint16)
    starts = rng.permutation(32)[:8 * num] * 8                       # matrix rows anywhere, 16-byte aligned
    rows = np.zeros((2, 32), np.int64)
    rows[0, :8 * num] = starts
    rows[1, :8 * num] = starts + 256
    smem = np.zeros(512, np.uint16)
    stmatrix(smem, rows, regs, num, trans)
    for w in range(2):
        for lane in range(32):
            for k in range(2 * num):
                j, e = k // 2, k % 2
                r, c = (lane // 4, 2 * (lane % 4) + e) if not trans else (2 * (lane % 4) + e, lane // 4)
                assert smem[rows[w, 8 * j + r] + c] == regs[w, lane, k]
    assert (ldmatrix(smem, rows, num, trans) == regs).all()


C_CTA = axe.tile(axe.Layout.parse("S[(2,2,2,4):(2@warp,4@reg,1@warp,1@reg)]"), nvidia.mma_m16n8k16("C"),
                 (4, 8), (16, 8))                                  # examples/gemm.py's CTA accumulator


def _epilogue(tmp_path, dt="f16", layout=C_CTA, shape=(64, 64), smem_layout=None, threads=128, force=False,
              stem="ep"):
    """gemm into an f32 accumulator, cast to ``dt`` in the same layout, copy to shared memory (stmatrix on
    sm_90; ``force``: dispatch="copy_stmatrix"), barrier, copy to global."""
    sl = f", layout={smem_layout}" if smem_layout else ""      # a Python expression in the kernel file
    how = ', dispatch="copy_stmatrix"' if force else ""
    src = f"""
    @dsl.kernel(threads={threads})
    def k(a: dsl.Tensor[({shape[0]}, 32), dsl.{dt}], b: dsl.Tensor[(32, {shape[1]}), dsl.{dt}],
          c: dsl.Tensor[{shape}, dsl.{dt}]):
        As = dsl.alloc_shared(({shape[0]}, 32), dsl.{dt})
        Bs = dsl.alloc_shared((32, {shape[1]}), dsl.{dt})
        Cs = dsl.alloc_shared({shape}, dsl.{dt}{sl})
        acc = dsl.alloc_local({shape}, dsl.f32, layout="{layout}")
        h = dsl.alloc_local({shape}, dsl.{dt}, layout="{layout}")
        dsl.copy(As, a)
        dsl.copy(Bs, b)
        dsl.barrier()
        dsl.gemm(acc, As, Bs, accumulate=False)
        dsl.cast(h, acc)
        dsl.copy(Cs, h{how})
        dsl.barrier()
        dsl.copy(c, Cs)
    """
    return kernel_from_source(tmp_path, src, stem=stem)[0]


def _stores(text):
    """(num, trans) of every stmatrix in the IR text."""
    return re.findall(r'\(Call "stmatrix" .*?\(Const (\d) "i32"\) \(Const (\w+) "bool"\)\] "i32"\)', text)


def _bits(x, dt):
    if dt == "f16":
        return x.astype(np.float16)
    return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)


def _values(x, dt):
    return x.astype(np.float32) if dt == "f16" else (x.astype(np.uint32) << 16).view(np.float32)


def _check(k, monkeypatch, shape, dt, lowering="cuda"):
    monkeypatch.setenv("AXE_CPU_LOWERING", lowering)
    monkeypatch.setenv("AXE_CHECK_UNINIT", "1")               # stmatrix marks what it writes as written
    rng = np.random.default_rng(11)
    a, b = _bits(rng.standard_normal((shape[0], 32)), dt), _bits(rng.standard_normal((32, shape[1])), dt)
    c = np.zeros(shape, np.float16 if dt == "f16" else np.uint16)
    k(a, b, c)
    want = _values(a, dt) @ _values(b, dt)
    np.testing.assert_allclose(_values(c, dt), want, rtol=1e-2 if dt == "bf16" else 2e-3, atol=1e-2)


@pytest.mark.parametrize("dt", ["f16", "bf16"])
def test_gemm_epilogue_stores_the_accumulator_with_stmatrix(tmp_path, monkeypatch, dt):
    k = _epilogue(tmp_path, dt, stem=f"ep_{dt}")
    text = to_text(k.specialise(backend="cuda"))
    assert _stores(text) == [("4", "false")] * 4                   # 32 registers per warp: four x4 stores
    _check(k, monkeypatch, (64, 64), dt)
    assert "stmatrix" not in to_text(k.specialise(backend="cpu"))   # the generic lowering: copy_partition
    _check(k, monkeypatch, (64, 64), dt, lowering="cpu")


def test_transposed_shared_tile_uses_trans(tmp_path, monkeypatch):
    k = _epilogue(tmp_path, smem_layout='"S[(64,64):(1,64)]"', stem="ep_t")      # column-major tile
    text = to_text(k.specialise(backend="cuda"))
    assert _stores(text) == [("4", "true")] * 4
    _check(k, monkeypatch, (64, 64), "f16")


def test_padded_shared_tile(tmp_path, monkeypatch):
    k = _epilogue(tmp_path, smem_layout='"S[(64,64):(72,1)]"', stem="ep_pad")     # rows padded to 144 bytes
    assert to_text(k.specialise(backend="cuda")).count('(Call "stmatrix"') == 4
    _check(k, monkeypatch, (64, 64), "f16")


@pytest.mark.parametrize("groups", [1, 2])
def test_wgmma_accumulator_layout_at_warpgroup_scope(tmp_path, monkeypatch, groups):
    """The wgmma accumulator (64 x N over a warpgroup) cast to bf16 and stored at warpgroup scope; with two
    warpgroups each stores its own tensor into its rows of the tile."""
    acc = nvidia.wgmma_accumulator(32)
    rows = 64 * groups
    src = f"""
    @dsl.kernel(threads={128 * groups})
    def k(x: dsl.Tensor[({rows}, 32), dsl.f32], y: dsl.Tensor[({rows}, 32), dsl.bf16]):
        Ys = dsl.alloc_shared(({rows}, 32), dsl.bf16)
        r = dsl.alloc_local((64, 32), dsl.f32, layout="{acc}")
        h = dsl.alloc_local((64, 32), dsl.bf16, layout="{acc}")
        g = dsl.warpgroup_id() * 64
        with dsl.warpgroup():
            dsl.copy(r, x[g:g + 64, 0:32])
            dsl.cast(h, r)
            dsl.copy(Ys[g:g + 64, 0:32], h)
        dsl.barrier()
        dsl.copy(y, Ys)
    """
    k, _ = kernel_from_source(tmp_path, src, stem=f"wg{groups}")
    assert _stores(to_text(k.specialise(backend="cuda"))) == [("4", "false")] * 2    # 16 registers: two x4
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    x = np.random.default_rng(3).standard_normal((rows, 32)).astype(np.float32)
    y = np.zeros((rows, 32), np.uint16)
    k(x, y)
    u = x.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)     # to nearest even, as the cast does
    assert (y == rounded).all()


def test_warp_scope_regions_per_warp(tmp_path, monkeypatch):
    """Each warp stores its 32x32 quadrant (one C-fragment tiling) into its region of a shared tile."""
    warp_c = axe.tile(axe.Layout.parse("S[(2,4):(4@reg,1@reg)]"), nvidia.mma_m16n8k16("C"), (2, 4), (16, 8))
    src = f"""
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(64, 64), dsl.f16], y: dsl.Tensor[(64, 64), dsl.f16]):
        Ys = dsl.alloc_shared((64, 64), dsl.f16)
        h = dsl.alloc_local((32, 32), dsl.f16, layout="{warp_c}")
        wm = (dsl.warp_id() // 2) * 32
        wn = (dsl.warp_id() % 2) * 32
        with dsl.warp():
            dsl.copy(h, x[wm:wm + 32, wn:wn + 32])
            dsl.copy(Ys[wm:wm + 32, wn:wn + 32], h)
        dsl.barrier()
        dsl.copy(y, Ys)
    """
    k, _ = kernel_from_source(tmp_path, src, stem="wq")
    assert to_text(k.specialise(backend="cuda")).count('(Call "stmatrix"') == 4
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    x = np.random.default_rng(5).standard_normal((64, 64)).astype(np.float16)
    y = np.zeros((64, 64), np.float16)
    k(x, y)
    assert (y == x).all()


@pytest.mark.parametrize("what, kw, reason", [
    ("sm_80", {"arch": "sm_80"}, "CUDA sm_90+ only (stmatrix)"),
    ("swizzled", {"smem_layout": "axe.presets.nvidia.tma_smem_tile(64, 64)"},
     "'Cs' is not a 2-d strided shared tensor"),
    ("padded by 4", {"smem_layout": '"S[(64,64):(68,1)]"'}, "the stride of dim 0 of 'Cs' is not a multiple of 8"),
])
def test_refusals_fall_back_to_copy_partition_with_a_reason(tmp_path, what, kw, reason):
    arch = kw.pop("arch", "sm_90a")
    stem = "".join(ch for ch in what if ch.isalnum())
    k = _epilogue(tmp_path, stem=f"r_{stem}", **kw)
    assert '(Call "stmatrix"' not in to_text(k.specialise(backend="cuda", arch=arch))   # copy_partition stores
    forced = _epilogue(tmp_path, stem=f"f_{stem}", force=True, **kw)
    with pytest.raises(dsl.DslError, match="copy_stmatrix: " + re.escape(reason)):
        forced.specialise(backend="cuda", arch=arch)


@pytest.mark.parametrize("layout, dt, reason", [
    ("S[(64,2,32):(1@reg,1@warp,1@lane)]", "f16",
     "'h': registers 0, 1: lane 0 register 1 holds (1, 0), where stmatrix puts (0, 1) (nor the .trans arrangement) "
     "(warp 0)"),                                                   # a column per lane: registers run down rows
    (str(C_CTA), "f32", "stmatrix stores 16-bit values as they are: the source is f32, the destination f32"),
])
def test_layouts_that_are_not_fragments_are_refused(tmp_path, layout, dt, reason):
    src = f"""
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(64, 64), dsl.{dt}], y: dsl.Tensor[(64, 64), dsl.{dt}]):
        Ys = dsl.alloc_shared((64, 64), dsl.{dt})
        h = dsl.alloc_local((64, 64), dsl.{dt}, layout="{layout}")
        dsl.copy(h, x)
        dsl.copy(Ys, h, dispatch="copy_stmatrix")
    """
    k, _ = kernel_from_source(tmp_path, src, stem=f"nf_{dt}")
    with pytest.raises(dsl.DslError, match="copy_stmatrix: " + re.escape(reason)):
        k.specialise(backend="cuda")


@pytest.mark.nvrtc
def test_sm90a_compiles_with_stmatrix_in_the_ptx(tmp_path):
    k = _epilogue(tmp_path, stem="nv")
    src = emit_cuda(k.specialise(backend="cuda", arch="sm_90a"))
    assert src.code.count("stmatrix.sync.aligned.m8n8.x4.shared.b16") == 4
    res = compile_cuda(src.code, "sm_90a", options=("--ptxas-options=-v",))
    assert res.ptx.count("stmatrix.sync.aligned.m8n8.x4.shared.b16") == 4 and "0 bytes spill stores" in res.log
    t = _epilogue(tmp_path, smem_layout='"S[(64,64):(1,64)]"', dt="bf16", stem="nvt")
    code = emit_cuda(t.specialise(backend="cuda", arch="sm_90a")).code
    assert "stmatrix.sync.aligned.m8n8.x4.trans.shared.b16" in compile_cuda(code, "sm_90a").ptx
    old = emit_cuda(k.specialise(backend="cuda", arch="sm_80")).code
    assert "stmatrix" not in old and compile_cuda(old, "sm_80").cubin
