"""Back-to-back cp.async copies share one wait (``lowering/async_waits.py``); a wait stays where the
copied data is read before the next one."""

from pathlib import Path

import numpy as np

from dsl.cli import load_module
from lowering.printer import to_text
from tests.kernel_source import kernel_from_source

WAIT = '(Call "cp_async_wait_all"'


def test_the_gemms_a_and_b_tiles_share_one_wait():
    g = load_module(Path(__file__).parents[2] / "examples" / "gemm.py", "aw_gemm")
    text = to_text(g.gemm_cta.specialise(backend="cuda", arch="sm_80", m=128, n=128, k=64))
    assert text.count('(Call "cp_async"') == 2 and text.count(WAIT) == 1


SRC = '''
@dsl.kernel(threads=64)
def k(a: dsl.Tensor[(64, 64), dsl.f16], b: dsl.Tensor[(64, 64), dsl.f16], out: dsl.Tensor[(64,), dsl.f16]):
    As = dsl.alloc_shared((64, 64), dsl.f16)
    Bs = dsl.alloc_shared((64, 64), dsl.f16)
    dsl.copy(As, a)
    x = As[dsl.thread_id() // 8, dsl.thread_id() % 8 * 8]   # a word this thread copied: its wait must stay
    dsl.copy(Bs, b)
    dsl.barrier()
    out[dsl.thread_id()] = x + Bs[0, dsl.thread_id()]
'''


def test_a_wait_stays_when_the_copy_is_read_before_the_next(tmp_path, monkeypatch):
    k = kernel_from_source(tmp_path, SRC, "k")[0]
    text = to_text(k.specialise(backend="cuda", arch="sm_80"))
    assert text.count('(Call "cp_async"') == 2 and text.count(WAIT) == 2
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    a = np.arange(64 * 64, dtype=np.float16).reshape(64, 64) / 64
    b = np.ones((64, 64), np.float16)
    out = np.zeros(64, np.float16)
    k(a, b, out)
    t = np.arange(64)
    np.testing.assert_allclose(out, a[t // 8, t % 8 * 8] + 1, rtol=1e-3)
