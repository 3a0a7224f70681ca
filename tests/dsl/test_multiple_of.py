"""``@dsl.kernel(multiple_of=...)``: stated shape requirements, checked before compiling or launching."""

from pathlib import Path

import numpy as np
import pytest

import dsl
from dsl.cli import load_module
from lowering.printer import to_text
from tests.kernel_source import kernel_from_source

N = dsl.dim("n")


def _ones():
    @dsl.kernel(grid=lambda n: (n // 8,), threads=8, multiple_of={"n": 8}, example={"n": 16})
    def ones(a: dsl.Tensor[(N,), dsl.i32], n: dsl.i32):
        a[dsl.cta_id() * 8 + dsl.thread_id()] = n // 8
    return ones


def test_a_multiple_runs():
    a = np.zeros(24, np.int32)
    _ones()(a, 24)
    assert a.tolist() == [3] * 24


@pytest.mark.parametrize("n", [12, 0, -8])
def test_other_values_are_refused_before_running(n):
    a = np.full(max(n, 1), 7, np.int32)
    with pytest.raises(dsl.DslError, match=rf"kernel 'ones': n = {n} must be a positive multiple of 8"):
        _ones()(a, n)
    assert (a == 7).all()


def test_ahead_of_time_specialisation_is_checked():
    k = _ones()
    assert k.specialise(n=32).grid == (4,)
    with pytest.raises(dsl.DslError, match="n = 20 must be a positive multiple of 8"):
        k.specialise(n=20)


def test_the_divisor_is_a_fact_for_the_compiler(tmp_path):
    """The register-pair epilogue needs an even pitch: n = 24 is not a multiple of 16, so only a stated
    multiple of 2 proves it (tests/lowering/test_register_vectors.py has the kernel without one)."""
    src = """
from axe.presets import nvidia
ACC = nvidia.wgmma_accumulator(16)

@dsl.kernel(threads=128, multiple_of=MULT)
def k(x: dsl.Tensor[(64, dsl.dim("n")), dsl.f32], y: dsl.Tensor[(64, dsl.dim("n")), dsl.f32], n: dsl.i32):
    acc = dsl.alloc_local((64, 16), dsl.f32, layout=ACC)
    dsl.copy(acc, x[0:64, 0:16])
    dsl.copy(y[0:64, 0:16], acc)
"""
    for mult, paired in (("None", False), ('{"n": 2}', True)):
        k = kernel_from_source(tmp_path, src.replace("MULT", mult), "k", stem=f"k{paired}")[0]
        assert ('(Call "copy_vec"' in to_text(k.specialise(backend="cuda", arch="sm_90a", n=24))) == paired


@pytest.mark.parametrize("spec, msg", [({"x": 4}, "names 'x', which is not an integer scalar parameter"),
                                       ({"a": 4}, "names 'a', which is not an integer scalar parameter"),
                                       ({"n": 0}, r"multiple_of\['n'\] must be a positive int, got 0"),
                                       ({"n": True}, r"multiple_of\['n'\] must be a positive int")])
def test_bad_declarations_name_the_culprit_and_the_line(spec, msg):
    with pytest.raises(dsl.DslError, match=msg) as e:
        @dsl.kernel(multiple_of=spec)
        def k(a: dsl.Tensor[(4,), dsl.i32], n: dsl.i32):
            a[0] = n
    assert "test_multiple_of.py:" in str(e.value)


def test_hopper_gemms_state_their_tiles():
    ex = load_module(Path(__file__).parents[2] / "examples" / "gemm_hopper.py", "mult_gemm_hopper")
    assert ex.gemm_hopper_ws.multiple_of == {"m": 128, "n": 256, "k": 64}
    a = np.zeros((256, 96), np.float16)
    with pytest.raises(dsl.DslError, match="k = 96 must be a positive multiple of 64"):
        ex.gemm_hopper_persistent(a, a, np.zeros((256, 256), np.float32), 256, 256, 96, 2)


@pytest.mark.parametrize("n, error", [(np.int64(16), None), (16.5, "n must be an integer"),
                                      ("16", "n must be an integer"), (np.array([16]), "n must be an integer"),
                                      (16.0, "grid must be 1-3 positive ints")])
def test_values_of_other_types_are_integers_or_refused(n, error):
    """numpy integers are integers; a float that is whole passes the multiple check (it converts to the
    i32 parameter) but not as a grid size."""
    k = _ones()
    if error is None:
        assert k.specialise(n=n).grid == (2,)
    else:
        with pytest.raises(dsl.DslError, match=error):
            k.specialise(n=n)
