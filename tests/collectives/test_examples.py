"""The distributed examples pass in one process (--simulate 4) and under mpiexec -n 4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MPIEXEC = Path(sys.executable).with_name("mpiexec")


@pytest.mark.parametrize("name", ["tp_mlp", "reduce_scatter", "allgather_gemm", "gemm_reduce_scatter", "moe_dispatch"])
@pytest.mark.parametrize("mode", ["simulate", "mpiexec"])
def test_example(name, mode):
    script = [sys.executable, str(ROOT / "examples" / f"{name}.py")]
    if mode == "simulate":
        cmd = script + ["--simulate", "4"]
    else:
        if not MPIEXEC.exists():
            pytest.skip("no mpiexec beside the interpreter")
        cmd = [str(MPIEXEC), "-n", "4"] + script
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("PASS") == 4 and "FAIL" not in res.stdout
