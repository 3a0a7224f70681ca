"""Operators at warpgroup scope inside a scope slice past the first warpgroup: each warpgroup holds its own
register tensors (``warp`` in their layouts counts warps in the warpgroup), under both lowerings. Before,
warpgroups past the first silently did nothing."""

import numpy as np
import pytest

from tests.kernel_source import kernel_from_source

SRC = '''
from axe.presets import nvidia
ACC = nvidia.wgmma_accumulator(8)
ROWS = dsl.reduce_layout(ACC, (64, 8), (1,))
COLS = dsl.reduce_layout(ACC, (64, 8), (0,))
OTHER = axe.Layout.parse("S[(64,4,2):(1@reg,1@warp,1@lane)]")

@dsl.kernel(threads=384)
def k(c: dsl.Tensor[(128, 8), dsl.f32], rows: dsl.Tensor[(128,), dsl.f32], cols: dsl.Tensor[(16,), dsl.f32],
      t: dsl.Tensor[(128, 8), dsl.f32]):
    with dsl.warpgroup()[1:3]:
        w = dsl.warpgroup_id() - 1
        acc = dsl.alloc_local((64, 8), dsl.f32, layout=ACC)
        dsl.copy(acc, c[w * 64:w * 64 + 64, :])
        dsl.mul(acc, acc, 2.0)
        r = dsl.alloc_local((64,), dsl.f32, layout=ROWS)
        dsl.sum(r, acc, dims=(1,))                   # within warps: shuffles
        dsl.copy(rows[w * 64:w * 64 + 64], r)
        s = dsl.alloc_local((8,), dsl.f32, layout=COLS)
        dsl.sum(s, acc, dims=(0,))                   # across the warpgroup's warps: shared memory
        dsl.copy(cols[w * 8:w * 8 + 8], s)
        o = dsl.alloc_local((64, 8), dsl.f32, layout=OTHER)
        dsl.copy(o, acc)                             # another layout: through shared memory
        dsl.copy(t[w * 64:w * 64 + 64, :], o)
'''


@pytest.mark.parametrize("lowering", ["cpu", "cuda"])
def test_operators_of_every_warpgroup_in_a_slice(tmp_path, monkeypatch, lowering):
    monkeypatch.setenv("AXE_CPU_LOWERING", lowering)
    k, _ = kernel_from_source(tmp_path, SRC, "k")
    c = np.random.default_rng(3).standard_normal((128, 8)).astype(np.float32)
    rows, cols, t = np.zeros(128, np.float32), np.zeros(16, np.float32), np.zeros((128, 8), np.float32)
    k(c, rows, cols, t)
    np.testing.assert_allclose(rows, 2 * c.sum(1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cols, 2 * c.reshape(2, 64, 8).sum(1).ravel(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(t, 2 * c, rtol=1e-6)
