"""Skips for what this machine lacks, shared by the tests and the doctests.

It lives at the root, not in tests/, because pytest loads a conftest from the root and the folders it is
given: ``pytest --doctest-modules axe dsl lowering backends collectives --doctest-glob='*.md' docs``
never looks in tests/.

- ``@pytest.mark.nvrtc``: the test compiles with NVRTC (``cuda.bindings.nvrtc``, needs no GPU); skipped
  when cuda-python is not installed.
- ``@pytest.mark.gpu``: the test launches on a CUDA device; skipped when cuda-python is not installed or
  the machine has no CUDA GPU.
- ``# doctest: +NVRTC`` on a doctest example: the example is skipped when cuda-python is not installed
  (flag the examples after it that use its results too); a doctest made only of such examples is skipped.
"""

from __future__ import annotations

import doctest
import functools
import importlib.util

import pytest

NVRTC = doctest.register_optionflag("NVRTC")
NO_CUDA_PYTHON = "cuda-python is not installed (pip install -e '.[cuda]')"


@functools.cache
def cuda_python() -> bool:
    """Whether ``cuda.bindings`` (cuda-python) can be imported; imports nothing."""
    return importlib.util.find_spec("cuda") is not None and importlib.util.find_spec("cuda.bindings") is not None


@functools.cache
def cuda_gpus() -> int:
    """How many CUDA devices the driver reports; 0 without a driver or a device, never raises."""
    if not cuda_python():
        return 0
    try:
        from cuda.bindings import driver as drv

        (err,) = drv.cuInit(0)
        if err != drv.CUresult.CUDA_SUCCESS:
            return 0
        err, count = drv.cuDeviceGetCount()
        return count if err == drv.CUresult.CUDA_SUCCESS else 0
    except Exception:  # no libcuda.so: the binding raises on first use
        return 0


def _missing(item) -> str | None:
    """Why ``item`` cannot run here, or None."""
    if item.get_closest_marker("gpu") is not None:
        if not cuda_python():
            return f"{NO_CUDA_PYTHON}: GPU tests skipped"
        if cuda_gpus() == 0:
            return "no CUDA GPU on this machine"
    if item.get_closest_marker("nvrtc") is not None and not cuda_python():
        return f"{NO_CUDA_PYTHON}: NVRTC compile checks skipped"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # tryfirst and a conftest: runs before the skipping plugin evaluates a test's own skipif marks, so a
    # missing GPU is the reason given rather than, say, "needs sm_90" computed from no device at all
    reason = _missing(item)
    if reason is not None:
        pytest.skip(reason)
    if isinstance(item, pytest.DoctestItem) and not cuda_python():
        examples = item.dtest.examples
        flagged = [ex for ex in examples if ex.options.get(NVRTC)]
        if flagged and len(flagged) == len(examples):
            pytest.skip(f"{NO_CUDA_PYTHON}: NVRTC doctest skipped")
        for ex in flagged:
            ex.options[doctest.SKIP] = True
