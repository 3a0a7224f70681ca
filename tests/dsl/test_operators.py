"""Collective operators on the CPU backend against numpy: copy / fill / pointwise with broadcasting,
reduce across registers, lanes, warps and tx, gemm at thread, warp and CTA scope (with transposes),
scope slices and elect_one."""


import numpy as np
import pytest

import axe
import dsl
from tests.kernel_source import kernel_from_source


def build(tmp_path, src, name="k"):
    """Import a kernel from source written to a file (kernels need their source for the frontend)."""
    return kernel_from_source(tmp_path, src, name)[0]


REDUCE_CASES = [
    # (source layout, shape, dims, threads, scope)
    ("S[(4,8,32):(1@warp,1@reg,1@lane)]", (4, 256), (1,), 128, "cta"),      # lanes only
    ("S[(4,8,32):(1@warp,1@reg,1@lane)]", (4, 256), (0, 1), 128, "cta"),    # lanes and warps
    ("S[(4,8,32):(1@warp,1@reg,1@lane)]", (4, 256), (0,), 128, "cta"),      # warps only
    ("S[(8,4,4):(4@lane,1@reg,1@lane)]", (8, 16), (1,), 32, "warp"),        # registers and low lane bits
    ("S[(32,4):(1@lane,1@reg)]", (32, 4), (0,), 32, "warp"),                # all lanes
    ("S[(4,256):(1@reg,1@tx)]", (4, 256), (0, 1), 256, "cta"),              # tx: lanes and warps
    ("S[(2,4,16):(1@reg,1@warp,1@lane)] + R[2:16@lane]", (2, 64), (1,), 128, "cta"),  # replicated source
]


@pytest.mark.parametrize("layout, shape, dims, threads, scope", REDUCE_CASES)
@pytest.mark.parametrize("kind", ["sum", "max", "min"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_matches_numpy(tmp_path, layout, shape, dims, threads, scope, kind, keepdims):
    L = axe.Layout.parse(layout)
    out_layout = dsl.reduce_layout(L, shape, dims, keepdims=keepdims)
    out_shape = tuple(1 if i in dims else s for i, s in enumerate(shape)) if keepdims else \
        tuple(s for i, s in enumerate(shape) if i not in dims) or (1,)
    k = build(tmp_path, f"""
    @dsl.kernel(threads={threads})
    def k(x: dsl.Tensor[{shape}, dsl.i32], y: dsl.Tensor[{out_shape}, dsl.i32]):
        r = dsl.alloc_local({shape}, dsl.i32, layout="{layout}")
        s = dsl.alloc_local({out_shape}, dsl.i32, layout="{out_layout}")
        with dsl.{scope}():
            dsl.copy(r, x)
            dsl.reduce(s, r, kind="{kind}", dims={dims})
            dsl.copy(y, s)
    """)
    x = np.random.default_rng(1).integers(-1000, 1000, shape, dtype=np.int32)
    y = np.zeros(out_shape, np.int32)
    k(x, y)
    want = {"sum": np.sum, "max": np.max, "min": np.min}[kind](x, axis=dims, keepdims=keepdims)
    assert np.array_equal(y.reshape(np.shape(want) or (1,)), np.reshape(want, np.shape(want) or (1,)))


def test_reduce_refuses_a_destination_in_other_threads(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(32, 4), dsl.i32]):
        r = dsl.alloc_local((32, 4), dsl.i32, layout="S[(32,4):(1@lane,1@reg)]")
        s = dsl.alloc_local((4,), dsl.i32, layout="S[4:1@lane]")
        with dsl.warp():
            dsl.sum(s, r, dims=(0,))
    """)
    with pytest.raises(dsl.DslError, match="reduce_partition: .*thread 0 holds source element"):
        k.compile()


def test_pointwise_broadcasts_registers_scalars_and_memory(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(4, 64), dsl.f32], b: dsl.Tensor[(64,), dsl.f32], y: dsl.Tensor[(4, 64), dsl.f32],
          z: dsl.Tensor[(4, 64), dsl.f32], alpha: dsl.f32):
        r = dsl.alloc_local((4, 64), dsl.f32, layout="S[(4,2,32):(1@warp,1@reg,1@lane)]")
        m = dsl.alloc_local((4, 1), dsl.f32, layout="S[(4,1):(1@warp,1@reg)] + R[32:1@lane]")
        dsl.copy(r, x)
        dsl.max(m, r, dims=(1,))
        dsl.pointwise(r, lambda v, mx, bias: (v - mx) * alpha + bias, r, m, b)   # (4,1) and (64,) broadcast
        dsl.copy(y, r)
        dsl.pointwise(z, lambda u, v: dsl.maximum(u, v) if False else u * v + 1.0, x, b)  # memory, strided
    """)
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((4, 64), np.float32), rng.standard_normal(64, np.float32)
    y, z = np.zeros_like(x), np.zeros_like(x)
    k(x, b, y, z, 0.5)
    np.testing.assert_allclose(y, (x - x.max(1, keepdims=True)) * np.float32(0.5) + b, rtol=1e-6)
    np.testing.assert_allclose(z, x * b + 1, rtol=1e-6)


def test_fill_cast_and_thread_scope_operators(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=4)
    def k(x: dsl.Tensor[(4, 3), dsl.f32], y: dsl.Tensor[(4, 3), dsl.i32], s: dsl.Tensor[(4,), dsl.f32]):
        a = dsl.alloc_local((1, 3), dsl.f32)
        t = dsl.alloc_local((1,), dsl.f32)
        i = dsl.thread_id()
        with dsl.thread():
            dsl.copy(a, x[i:i + 1, 0:3])
            dsl.mul(a, a, 2.0)
            dsl.cast(y[i:i + 1, 0:3], a)
            dsl.sum(t, a)
            dsl.copy(s[i:i + 1], t)
    """)
    x = np.arange(12, dtype=np.float32).reshape(4, 3) + 0.25
    y, s = np.zeros((4, 3), np.int32), np.zeros(4, np.float32)
    k(x, y, s)
    assert np.array_equal(y, (x * 2).astype(np.int32)) and np.allclose(s, (x * 2).sum(1))


def test_copy_between_register_layouts_beyond_the_scope_is_refused_with_reasons(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=64)
    def k(x: dsl.Tensor[(64, 4), dsl.f32]):
        a = dsl.alloc_local((64, 4), dsl.f32, layout="S[(64,4):(1@tx,1@reg)]")
        b = dsl.alloc_local((64, 4), dsl.f32, layout="S[(2,32,4):(1@warp,1@lane,1@reg)] + 0@reg")
        c = dsl.alloc_local((64, 4), dsl.f32, layout="S[(64,4):(1@tx,-1@reg)] + 3@reg")
        with dsl.warp():
            dsl.copy(c, a)
    """)
    with pytest.raises(dsl.DslError) as e:
        k.compile()
    msg = str(e.value)
    assert "copy_shuffle: each thread already holds what it needs" in msg
    assert "copy_partition: layout of 'c' spreads over ['tx'], beyond one warp" in msg
    assert "copy_strided: every operand must be a global or shared tensor" in msg


def test_gemm_at_thread_scope_with_transposes(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=1)
    def k(a: dsl.Tensor[(3, 5), dsl.f32], b: dsl.Tensor[(4, 3), dsl.f32], c: dsl.Tensor[(5, 4), dsl.f32]):
        with dsl.thread():
            dsl.gemm(c, a, b, transpose_a=True, transpose_b=True, accumulate=False)
    """)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 5), np.float32), rng.standard_normal((4, 3), np.float32)
    c = np.full((5, 4), 7, np.float32)
    k(a, b, c)
    np.testing.assert_allclose(c, a.T @ b.T, rtol=1e-5)


def test_gemm_cta_scope_with_transposed_b(tmp_path):
    """B given as (N, K) in shared memory, C over 4 warps: fragments are read through the transpose."""
    C = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
                 axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))
    k = build(tmp_path, f"""
    @dsl.kernel(threads=128)
    def k(a: dsl.Tensor[(64, 32), dsl.f16], bt: dsl.Tensor[(32, 32), dsl.f16], c: dsl.Tensor[(64, 32), dsl.f32]):
        As = dsl.alloc_shared((64, 32), dsl.f16)
        Bs = dsl.alloc_shared((32, 32), dsl.f16, layout="S[(32,32):(1,32)]")   # column-major
        acc = dsl.alloc_local((64, 32), dsl.f32, layout="{C}")
        dsl.copy(As, a)
        dsl.copy(Bs, bt)
        dsl.barrier()
        dsl.gemm(acc, As, Bs, transpose_b=True, accumulate=False)
        dsl.copy(c, acc)
    """)
    rng = np.random.default_rng(3)
    a, bt = rng.standard_normal((64, 32)).astype(np.float16), rng.standard_normal((32, 32)).astype(np.float16)
    c = np.zeros((64, 32), np.float32)
    k(a, bt, c)
    np.testing.assert_allclose(c, a.astype(np.float32) @ bt.astype(np.float32).T, rtol=1e-3, atol=1e-3)


def test_gemm_dispatch_explains_why_mma_declines(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(16, 16), dsl.f32]):
        a = dsl.alloc_local((16, 16), dsl.f32, layout="S[(16,8,2):(1@reg,1@lane,16@reg)]")
        with dsl.warp():
            dsl.gemm(a, a, a)
    """)
    with pytest.raises(dsl.DslError) as e:
        k.compile()
    msg = str(e.value)
    assert "gemm_mma_warp: mma.m16n8k16 here takes f16 A/B and f32 C, or bf16 A/B and f32 C, got f32/f32/f32" in msg
    assert "gemm_thread: runs at thread scope, not warp" in msg


def test_scope_slices_and_elect_one(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=128)
    def k(out: dsl.Tensor[(4, 32), dsl.i32], first: dsl.Tensor[(4,), dsl.i32]):
        with dsl.warp()[1:3]:
            out[dsl.warp_id(), dsl.lane_id()] = 1
        with dsl.warp():
            with dsl.thread()[dsl.elect_one()]:
                first[dsl.warp_id()] = dsl.lane_id() + 10
    """)
    out, first = np.zeros((4, 32), np.int32), np.zeros(4, np.int32)
    k(out, first)
    assert out.sum(1).tolist() == [0, 32, 32, 0] and first.tolist() == [10, 10, 10, 10]


def test_global_tensor_with_a_memory_layout(tmp_path):
    k = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(4, 8), dsl.f32, "S[(4,8):(1,4)]"], b: dsl.Tensor[(4, 8), dsl.f32]):
        t = dsl.thread_id()
        b[t // 8, t % 8] = a[t // 8, t % 8]
    """)
    a = np.asfortranarray(np.arange(32, dtype=np.float32).reshape(4, 8))
    b = np.zeros((4, 8), np.float32)
    k(a, b)
    assert np.array_equal(a, b)
    b[:] = 0
    k(np.ascontiguousarray(a).T.reshape(-1), b)           # raw column-major storage
    assert np.array_equal(a, b)
    with pytest.raises(axe.AxeError, match="laid out as S\\[\\(4,8\\):\\(1,4\\)\\]"):
        k(np.ascontiguousarray(a), b)


EXCHANGES = [
    # (source layout, destination layout, shape, threads, scope, expected schedule)
    ("S[(32,4):(1@lane,1@reg)]", "S[(8,4,4):(4@reg,1@lane,8@lane)]", (32, 4), 32, "warp", "copy_via_shared"),
    ("S[(32,4):(1@lane,1@reg)]", "S[(32,4):(1@lane,1@reg)] + 0@reg", (32, 4), 32, "warp", "copy_partition"),
    ("S[(4,32):(1@reg,1@lane)]", "S[(4,32):(1@reg,-1@lane)] + 31@lane", (4, 32), 32, "warp", "copy_shuffle"),
    ("S[(2,32):(1@reg,1@lane)]", "S[(32,2):(1@lane,1@reg)]", (2, 32), 32, "warp", "copy_via_shared"),
    ("S[(4,8,4):(1@warp,1@reg,1@lane)]", "S[(4,4,2,4):(2@reg,1@warp,1@reg,1@lane)]", (4, 32), 128, "cta",
     "copy_via_shared"),
    ("S[(16,2):(1@lane,1@reg)] + R[2:16@lane]", "S[(16,2):(-1@lane,1@reg)] + R[2:16@lane] + 15@lane", (16, 2), 32,
     "warp", "copy_shuffle"),
    ("S[(16,2):(1@lane,1@reg)] + R[2:16@lane]", "S[(2,16):(1@reg,1@lane)] + R[2:16@lane]", (16, 2), 32, "warp",
     "copy_via_shared"),
]


@pytest.mark.parametrize("src, dst, shape, threads, scope, expect", EXCHANGES)
def test_copies_between_register_layouts(tmp_path, src, dst, shape, threads, scope, expect):
    """Thread-level transitions: the two layouts decide whether data moves by shuffles or shared memory."""
    k = build(tmp_path, f"""
    @dsl.kernel(grid=(1,), threads={threads})
    def k(x: dsl.Tensor[{shape}, dsl.i32], y: dsl.Tensor[{shape}, dsl.i32]):
        a = dsl.alloc_local({shape}, dsl.i32, layout="{src}")
        b = dsl.alloc_local({shape}, dsl.i32, layout="{dst}")
        with dsl.{scope}():
            dsl.copy(a, x)
            dsl.copy(b, a)
            dsl.copy(y, b)
    """)
    x = np.arange(shape[0] * shape[1], dtype=np.int32).reshape(shape)
    y = np.zeros_like(x)
    k(x, y)
    assert np.array_equal(x, y)
    front = k.passes((1,))[0][1]
    middle = [s for s in front.body if isinstance(s, dsl.ir.OpCall)][1]
    assert dsl.dispatch(middle, "cpu", front).name == expect


@pytest.mark.nvrtc
def test_copy_across_the_ctas_of_a_cluster_uses_distributed_shared_memory(tmp_path):
    """Thread-level transition across CTAs: a tile spread one row per CTA becomes replicated in every CTA
    of the cluster; on the GPU the reads are mapa + ld.shared::cluster."""
    k = build(tmp_path, """
    @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
    def k(x: dsl.Tensor[(8, 32), dsl.f32], y: dsl.Tensor[(8, 4, 32), dsl.f32]):
        a = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@cta,1@tx)]")
        b = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@reg,1@tx)] + R[4:1@cta]")
        a[0] = x[dsl.cta_id(), dsl.thread_id()]
        with dsl.cluster():
            dsl.copy(b, a)
        for r in range(4):
            y[dsl.cta_id(), r, dsl.thread_id()] = b[r]
    """)
    x = np.arange(256, dtype=np.float32).reshape(8, 32)
    y = np.zeros((8, 4, 32), np.float32)
    k(x, y)
    assert np.array_equal(y, np.stack([x[(c // 4) * 4:(c // 4) * 4 + 4] for c in range(8)]))
    from backends.cuda.nvrtc import compile_cuda
    from lowering.cuda import emit_cuda
    src = emit_cuda(k.compile((8,))).code
    assert "mapa.shared::cluster.u32" in src and "ld.shared::cluster.f32" in src and "barrier.cluster" in src
    compile_cuda(src, "sm_90a")
    with pytest.raises(dsl.DslError, match="copy_via_dsmem: runs at cluster scope, not cta"):
        build(tmp_path, """
        @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
        def k(x: dsl.Tensor[(8, 32), dsl.f32]):
            a = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@cta,1@tx)]")
            b = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@reg,1@tx)] + R[4:1@cta]")
            dsl.copy(b, a)
        """).compile((8,))


@pytest.mark.nvrtc
def test_reduce_across_the_ctas_of_a_cluster(tmp_path):
    """A sum over rows held one per CTA, and a max over everything: each CTA of the cluster ends with the
    result, read through distributed shared memory (compiles for sm_90a; emitted integer max must not
    duplicate its operands, or 128 nested maxima would blow up)."""
    src = "S[(4,32):(1@cta,1@tx)]"
    L = axe.Layout.parse(src)
    k = build(tmp_path, f"""
    @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
    def k(x: dsl.Tensor[(8, 32), dsl.i32], y: dsl.Tensor[(8, 32), dsl.i32], z: dsl.Tensor[(8,), dsl.i32]):
        a = dsl.alloc_local((4, 32), dsl.i32, layout="{src}")
        s = dsl.alloc_local((32,), dsl.i32, layout="{dsl.reduce_layout(L, (4, 32), (0,))}")
        t = dsl.alloc_local((1,), dsl.i32, layout="{dsl.reduce_layout(L, (4, 32), (0, 1))}")
        a[0] = x[dsl.cta_id(), dsl.thread_id()]
        with dsl.cluster():
            dsl.sum(s, a, dims=(0,))
            dsl.max(t, a)
        y[dsl.cta_id(), dsl.thread_id()] = s[0]
        z[dsl.cta_id()] = t[0]
    """)
    x = np.random.default_rng(0).integers(-100, 100, (8, 32), dtype=np.int32)
    y, z = np.zeros_like(x), np.zeros(8, np.int32)
    k(x, y, z)
    for c in range(8):
        block = x[(c // 4) * 4:(c // 4) * 4 + 4]
        assert np.array_equal(y[c], block.sum(0)) and z[c] == block.max()
    from backends.cuda.nvrtc import compile_cuda
    from lowering.cuda import emit_cuda
    src_code = emit_cuda(k.compile((8,))).code
    assert src_code.count("ld.shared::cluster") == 4 + 128 and len(src_code) < 200_000
    compile_cuda(src_code, "sm_90a")
