"""Under mpiexec, a rank that raises aborts the whole job quickly with its error printed once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

MPIEXEC = Path(sys.executable).with_name("mpiexec")
SCRIPT = """
import numpy as np, axe
from collectives import ProcessMesh
pm = ProcessMesh(axe.Mesh(tp=4))
if pm.rank == 2:
    raise RuntimeError("rank two fails on purpose")
pm.all_reduce(np.ones(4), "tp")   # the other ranks would wait here forever without the abort
"""


@pytest.mark.skipif(not MPIEXEC.exists() and shutil.which("mpiexec") is None, reason="no mpiexec")
def test_failing_rank_aborts_the_job():
    exe = str(MPIEXEC) if MPIEXEC.exists() else "mpiexec"
    t = time.monotonic()
    res = subprocess.run([exe, "-n", "4", sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    elapsed = time.monotonic() - t
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert out.count("[rank 2] aborting the job: RuntimeError: rank two fails on purpose") == 1
    assert elapsed < 60
