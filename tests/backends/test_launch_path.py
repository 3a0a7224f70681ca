"""The CUDA launch path's host side: what ``prepare`` decides needs no driver, per-kernel facts are found once
per kernel object, and the launch-overhead benchmark runs (and says what it timed) without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.cuda import driver
from backends.cuda import run as cuda_run
from lowering import ir, irutil
from lowering.irutil import written_tensors

ROOT = Path(__file__).parents[2]


class FakeDevice:
    def __init__(self, shape, typestr, address):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (address, False), "version": 3}


def _kernel():
    x, y = (ir.Buffer(n, "f32", 64, "global", (ir.Const(64, "i32"),)) for n in "xy")
    i = ir.ThreadIdx("tx")
    return ir.Kernel("k", (x, y), (1,), 64, (ir.Store(y, i, ir.Load(x, i)),))


@pytest.mark.nvrtc
def test_prepare_makes_no_driver_call(monkeypatch):
    def no_driver():
        raise AssertionError("prepare called the driver")
    monkeypatch.setattr(cuda_run, "_driver", no_driver)
    monkeypatch.setattr(driver, "_driver", no_driver)
    k = _kernel()
    x, y = FakeDevice((64,), "<f4", 1 << 20), FakeDevice((64,), "<f4", 2 << 20)
    req = cuda_run.prepare(k, [x, y], stream=5)
    assert [e[0] for e in req.plan] == ["device", "device"] and req.handle == 5 and req.stage == [None, None]
    host = np.zeros(64, np.float32)
    req = cuda_run.prepare(k, [x, host])
    assert req.plan[1][0] == "host" and req.back == {0: True}


def test_written_tensors_walks_a_kernel_once(monkeypatch):
    k, other = _kernel(), _kernel()             # equal, but two objects: each walked on its own, once
    walks = []
    real = irutil.statements
    monkeypatch.setattr(irutil, "statements", lambda stmts: walks.append(stmts) or real(stmts))
    assert written_tensors(k) == {"y"} and written_tensors(k) == {"y"}
    assert sum(w is k.body for w in walks) == 1
    assert written_tensors(other) == {"y"} and sum(w is other.body for w in walks) == 1


@pytest.mark.nvrtc
def test_the_launch_overhead_benchmark_runs_without_a_gpu():
    if driver.available():
        pytest.skip("a GPU is present: the benchmark times the real launch instead")
    out = subprocess.run([sys.executable, "benchmarks/launch_overhead.py", "--calls", "5"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("launch overhead: ") and "host work up to the driver call, no GPU" in last


def test_ranks_pick_their_gpu_from_their_node_local_rank(monkeypatch):
    """Rank-to-device mapping with a faked device count: 8 ranks on 8 GPUs, 4 ranks on 2, AXE_DEVICE wins."""
    monkeypatch.setattr(driver, "available", lambda: True)
    monkeypatch.setattr(driver, "device_count", lambda: 8)
    monkeypatch.setattr(driver, "_SELECTED", [None])
    monkeypatch.delenv("AXE_DEVICE", raising=False)
    assert driver.bind_local_rank(5, 8) is None and driver.device_ordinal() == 5
    monkeypatch.setattr(driver, "_SELECTED", [None])
    monkeypatch.setattr(driver, "device_count", lambda: 2)
    assert "4 ranks on this node share 2 GPU(s)" in driver.bind_local_rank(3, 4)
    assert driver.device_ordinal() == 1
    monkeypatch.setattr(driver, "_SELECTED", [None])
    monkeypatch.setenv("AXE_DEVICE", "1")
    assert driver.bind_local_rank(0, 4) is None and driver.device_ordinal() == 1   # the override stays
    monkeypatch.setenv("AXE_DEVICE", "gpu1")
    with pytest.raises(driver.CudaDriverError, match="AXE_DEVICE must be a device ordinal"):
        driver.device_ordinal()
    with pytest.raises(driver.CudaDriverError, match="non-negative int"):
        driver.use_device(-1)
    monkeypatch.delenv("AXE_DEVICE")
    assert driver.bind_local_rank(0, 4, device=3) is None and driver.device_ordinal() == 3   # ProcessMesh(device=)


def test_the_registry_lets_each_backend_bind_a_rank(monkeypatch):
    import backends
    seen = []
    backends.register(backends.Backend("toy_dev", "cpu", lambda *a, **k: None,
                                       bind_local_rank=lambda r, n, d: seen.append((r, n, d)) or "shared"))
    try:
        monkeypatch.setattr(driver, "available", lambda: False)     # the cuda backend: no GPU, no note
        assert backends.bind_local_rank(2, 4) == ["toy_dev: shared"] and seen == [(2, 4, None)]
    finally:
        backends.unregister("toy_dev")
