"""Under mpiexec, no rank waits forever: a rank that raises aborts the whole job quickly with its error printed
once; a rank that skips a collective makes the others time out (AXE_COLLECTIVE_TIMEOUT) naming the collective,
and the job exits non-zero; a rank killed by a signal is named in the crash report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MPIEXEC = Path(sys.executable).with_name("mpiexec")
SCRIPT = """
import numpy as np, axe
from collectives import ProcessMesh
pm = ProcessMesh(axe.Mesh(tp=4))
if pm.rank == 2:
    raise RuntimeError("rank two fails on purpose")
pm.all_reduce(np.ones(4), "tp")   # the other ranks would wait here forever without the abort
"""
SKIP_ALL_REDUCE = """
import numpy as np, axe
from collectives import ProcessMesh
pm = ProcessMesh(axe.Mesh(tp=4))          # the timeout comes from AXE_COLLECTIVE_TIMEOUT
x, out = np.ones(4), np.empty(4)
pm.all_reduce(x, "tp", out=out)
if pm.rank != 2:                          # rank 2 skips the second one and finishes
    pm.all_reduce(x, "tp", out=out)
"""
SKIP_KERNEL = """
import numpy as np, axe
from collectives import ProcessMesh
from dsl.cli import load_module
ex = load_module("examples/reduce_scatter.py", "ex_reduce_scatter")
pm = ProcessMesh(axe.Mesh(g=4), timeout=2)
x, out = np.ones((1, 64, 64), np.float32), np.zeros((16, 64), np.float32)
ex.reduce_scatter(x, out, mesh=pm)
if pm.rank != 2:                          # rank 2 skips the second run of the kernel
    ex.reduce_scatter(x, out, mesh=pm)
"""
SIGNAL = """
import os, signal, numpy as np, axe
from collectives import ProcessMesh
pm = ProcessMesh(axe.Mesh(tp=4))
if pm.rank == 2:
    os.kill(os.getpid(), signal.SIGSEGV)
pm.all_reduce(np.ones(4), "tp")
"""
needs_mpiexec = pytest.mark.skipif(not MPIEXEC.exists() and shutil.which("mpiexec") is None, reason="no mpiexec")


def mpiexec(script: str, **env) -> tuple[int, str, float]:
    """Run ``script`` on 4 ranks: (exit code, stdout + stderr, seconds)."""
    exe = str(MPIEXEC) if MPIEXEC.exists() else "mpiexec"
    t = time.monotonic()
    res = subprocess.run([exe, "-n", "4", sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env={**os.environ, **env})
    return res.returncode, res.stdout + res.stderr, time.monotonic() - t


@needs_mpiexec
def test_failing_rank_aborts_the_job():
    rc, out, elapsed = mpiexec(SCRIPT)
    assert rc != 0
    assert out.count("[rank 2] aborting the job: RuntimeError: rank two fails on purpose") == 1
    assert elapsed < 60


def _kernel_line() -> int:
    lines = (ROOT / "examples" / "reduce_scatter.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("        dsl.sum("))


@needs_mpiexec
@pytest.mark.parametrize("script, said", [
    (SKIP_ALL_REDUCE, "in all_reduce over ('tp',) with ranks [0, 1, 2, 3];"),
    (SKIP_KERNEL, "in reduce_scatter over ('g',) with ranks [0, 1, 2, 3] (host call reduce at line {line});"),
], ids=["all_reduce", "kernel"])
def test_a_rank_skipping_a_collective_makes_the_job_time_out(script, said):
    rc, out, elapsed = mpiexec(script, AXE_COLLECTIVE_TIMEOUT="2")
    assert rc != 0, out
    assert elapsed < 15, out
    said = said.format(line=_kernel_line())
    waiting = [r for r in range(4) if f"[rank {r}] collective timeout: waited " in out]
    assert waiting and 2 not in waiting, out  # the ranks that waited say so; rank 2 never reached the call
    assert all(f"[rank {r}] collective timeout: waited 2." in out for r in waiting), out
    assert said in out and "Aborting the job (timeout 2 s: AXE_COLLECTIVE_TIMEOUT" in out, out


@needs_mpiexec
def test_a_rank_killed_by_a_signal_is_named():
    rc, out, elapsed = mpiexec(SIGNAL)
    assert rc != 0 and elapsed < 60
    assert "Fatal Python error: Segmentation fault" in out and "<rank 2 of 4, pid " in out, out
