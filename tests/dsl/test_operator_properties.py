"""Property tests of the operators against numpy on the CPU backend, over random register layouts:
copy global -> registers -> global, reductions over random dims into dsl.reduce_layout, and copies
between two random register layouts (shuffles / shared memory), under the CPU and the CUDA lowering."""


import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axe
import dsl
from tests.kernel_source import kernel_from_source

SHAPE = (8, 16)          # 128 elements
_KERNELS: dict = {}


def build(tmp_path_factory, src):
    """Kernels are cached by source (hypothesis repeats layouts)."""
    if src not in _KERNELS:
        _KERNELS[src] = kernel_from_source(tmp_path_factory.mktemp("prop"), src, stem=f"k{len(_KERNELS)}")[0]
    return _KERNELS[src]


@st.composite
def warp_layouts(draw):
    """A layout of SHAPE over lane (all 32) and reg, as an arbitrary mixed radix in a random iter order."""
    factors = [2, 2, 2, 2, 2, 2, 2]                     # 128 = 2^7: 5 bits to lanes, 2 to registers
    owners = ["lane"] * 5 + ["reg"] * 2
    order = draw(st.permutations(list(range(7))))       # which iter gets the next stride of its axis
    iters, lane_stride, reg_stride = [], 1, 1
    for i in order:
        if owners[i] == "lane":
            iters.append(axe.Iter(factors[i], lane_stride, "lane"))
            lane_stride *= 2
        else:
            iters.append(axe.Iter(factors[i], reg_stride, "reg"))
            reg_stride *= 2
    perm = draw(st.permutations(list(range(7))))       # and where each iter sits in the logical index
    return axe.Layout([iters[p] for p in perm])


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(params=["cpu", "cuda"])
def lowering(request, monkeypatch):
    monkeypatch.setenv("AXE_CPU_LOWERING", request.param)
    return request.param


@given(layout=warp_layouts())
@SETTINGS
def test_copy_round_trip_through_registers(tmp_path_factory, lowering, layout):
    k = build(tmp_path_factory, f"""
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[{SHAPE}, dsl.i32], y: dsl.Tensor[{SHAPE}, dsl.i32]):
        r = dsl.alloc_local({SHAPE}, dsl.i32, layout="{layout}")
        with dsl.warp():
            dsl.copy(r, x)
            dsl.copy(y, r)
    """)
    x = np.arange(128, dtype=np.int32).reshape(SHAPE)
    y = np.zeros_like(x)
    k(x, y)
    assert np.array_equal(x, y)


@given(layout=warp_layouts(), dims=st.sampled_from([(0,), (1,), (0, 1)]), kind=st.sampled_from(["sum", "max"]))
@SETTINGS
def test_reduce_over_random_layouts(tmp_path_factory, lowering, layout, dims, kind):
    out = dsl.reduce_layout(layout, SHAPE, dims)
    out_shape = tuple(s for i, s in enumerate(SHAPE) if i not in dims) or (1,)
    k = build(tmp_path_factory, f"""
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[{SHAPE}, dsl.i32], y: dsl.Tensor[{out_shape}, dsl.i32]):
        r = dsl.alloc_local({SHAPE}, dsl.i32, layout="{layout}")
        s = dsl.alloc_local({out_shape}, dsl.i32, layout="{out}")
        with dsl.warp():
            dsl.copy(r, x)
            dsl.reduce(s, r, kind="{kind}", dims={dims})
            dsl.copy(y, s)
    """)
    x = np.random.default_rng(len(str(layout))).integers(-50, 50, SHAPE, dtype=np.int32)
    y = np.zeros(out_shape, np.int32)
    k(x, y)
    want = (np.sum if kind == "sum" else np.max)(x, axis=dims)
    assert np.array_equal(y.reshape(-1), np.reshape(want, -1))


@given(src=warp_layouts(), dst=warp_layouts())
@SETTINGS
def test_copy_between_random_register_layouts(tmp_path_factory, lowering, src, dst):
    k = build(tmp_path_factory, f"""
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[{SHAPE}, dsl.i32], y: dsl.Tensor[{SHAPE}, dsl.i32]):
        a = dsl.alloc_local({SHAPE}, dsl.i32, layout="{src}")
        b = dsl.alloc_local({SHAPE}, dsl.i32, layout="{dst}")
        with dsl.warp():
            dsl.copy(a, x)
            dsl.copy(b, a)
            dsl.copy(y, b)
    """)
    x = np.arange(128, dtype=np.int32).reshape(SHAPE) * 3
    y = np.zeros_like(x)
    k(x, y)
    assert np.array_equal(x, y)


@given(layout=warp_layouts(), alpha=st.integers(-3, 3))
@SETTINGS
def test_pointwise_with_row_broadcast(tmp_path_factory, lowering, layout, alpha):
    stats = dsl.reduce_layout(layout, SHAPE, (1,), keepdims=True)
    k = build(tmp_path_factory, f"""
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[{SHAPE}, dsl.i32], y: dsl.Tensor[{SHAPE}, dsl.i32], alpha: dsl.i32):
        r = dsl.alloc_local({SHAPE}, dsl.i32, layout="{layout}")
        m = dsl.alloc_local((8, 1), dsl.i32, layout="{stats}")
        with dsl.warp():
            dsl.copy(r, x)
            dsl.max(m, r, dims=(1,))
            dsl.pointwise(r, lambda v, mx: (v - mx) * alpha, r, m)
            dsl.copy(y, r)
    """)
    x = np.random.default_rng(abs(alpha)).integers(-50, 50, SHAPE, dtype=np.int32)
    y = np.zeros_like(x)
    k(x, y, alpha)
    assert np.array_equal(y, (x - x.max(1, keepdims=True)) * alpha)


@st.composite
def memory_layouts(draw):
    """A layout of a (16, 32) tile over memory: the two dims split into random factors placed at random
    strides (a random permutation of a dense mixed radix), sometimes with padding."""
    rows = draw(st.sampled_from([(16,), (2, 8), (4, 4), (8, 2)]))
    cols = draw(st.sampled_from([(32,), (4, 8), (2, 16), (8, 4), (2, 2, 8)]))
    iters = [(e, d) for d, es in enumerate((rows, cols)) for e in es]
    order = draw(st.permutations(list(range(len(iters)))))        # which iter is fastest in memory
    pad = draw(st.sampled_from([0, 0, 8]))
    strides = [0] * len(iters)
    s = 1
    for i in reversed(order):
        strides[i] = s
        s *= iters[i][0]
        if i == order[0]:
            s += pad
    return axe.Layout([axe.Iter(e, st_) for (e, _), st_ in zip(iters, strides)])


@given(layout=memory_layouts())
@SETTINGS
def test_copies_through_random_shared_layouts(tmp_path_factory, lowering, layout):
    """Global -> shared (any memory layout, vectorised / cp.async where the CUDA lowering proves it legal:
    the CPU backend checks every vector access is aligned) -> global, at a dynamic row offset."""
    k = build(tmp_path_factory, f"""
    @dsl.kernel(grid=(2,), threads=64)
    def k(x: dsl.Tensor[(32, 32), dsl.f16], y: dsl.Tensor[(32, 32), dsl.f16]):
        s = dsl.alloc_shared((16, 32), dsl.f16, layout="{layout}")
        r0 = dsl.cta_id() * 16
        dsl.copy(s, x[r0:r0 + 16, 0:32])
        dsl.barrier()
        dsl.copy(y[r0:r0 + 16, 0:32], s)
    """)
    x = (np.arange(1024) % 251).astype(np.float16).reshape(32, 32)
    y = np.zeros_like(x)
    k(x, y)
    assert np.array_equal(x, y)


@st.composite
def cta_layouts(draw):
    """A layout of an (8, 32) tile over a 128-thread CTA: 5 lane bits, 2 warp bits, 1 register bit, each
    axis a mixed radix in random order, iters at random places of the logical index."""
    owners = ["lane"] * 5 + ["warp"] * 2 + ["reg"]
    strides = {"lane": 1, "warp": 1, "reg": 1}
    iters = [None] * 8
    for i in draw(st.permutations(list(range(8)))):
        iters[i] = axe.Iter(2, strides[owners[i]], owners[i])
        strides[owners[i]] *= 2
    return axe.Layout([iters[p] for p in draw(st.permutations(list(range(8))))])


@given(layout=cta_layouts(), dims=st.sampled_from([(0,), (1,), (0, 1)]), kind=st.sampled_from(["sum", "min"]))
@SETTINGS
def test_reduce_across_warps_over_random_layouts(tmp_path_factory, lowering, layout, dims, kind):
    shape = (8, 32)
    out = dsl.reduce_layout(layout, shape, dims)
    out_shape = tuple(s for i, s in enumerate(shape) if i not in dims) or (1,)
    k = build(tmp_path_factory, f"""
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[{shape}, dsl.i32], y: dsl.Tensor[{out_shape}, dsl.i32]):
        r = dsl.alloc_local({shape}, dsl.i32, layout="{layout}")
        s = dsl.alloc_local({out_shape}, dsl.i32, layout="{out}")
        dsl.copy(r, x)
        dsl.reduce(s, r, kind="{kind}", dims={dims})
        dsl.copy(y, s)
    """)
    x = np.random.default_rng(1).integers(-50, 50, shape, dtype=np.int32)
    y = np.zeros(out_shape, np.int32)
    k(x, y)
    want = (np.sum if kind == "sum" else np.min)(x, axis=dims)
    assert np.array_equal(y.reshape(-1), np.reshape(want, -1))


@given(src=cta_layouts(), dst=cta_layouts())
@SETTINGS
def test_copy_between_random_cta_layouts(tmp_path_factory, lowering, src, dst):
    k = build(tmp_path_factory, f"""
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(8, 32), dsl.i32], y: dsl.Tensor[(8, 32), dsl.i32]):
        a = dsl.alloc_local((8, 32), dsl.i32, layout="{src}")
        b = dsl.alloc_local((8, 32), dsl.i32, layout="{dst}")
        dsl.copy(a, x)
        dsl.copy(b, a)
        dsl.copy(y, b)
    """)
    x = np.arange(256, dtype=np.int32).reshape(8, 32)
    y = np.zeros_like(x)
    k(x, y)
    assert np.array_equal(x, y)
