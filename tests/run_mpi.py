"""Run the tests marked ``mpi`` under ``mpiexec -n 4`` (each rank runs pytest on them).

Exits 0 with a message when no test is marked ``mpi`` yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    files = [p for p in (ROOT / "tests").rglob("test_*.py") if "pytest.mark.mpi" in p.read_text()]
    if not files:
        print("mpi: no tests marked mpi")
        return 0
    mpiexec = Path(sys.executable).with_name("mpiexec")
    cmd = [str(mpiexec), "-n", "4", sys.executable, "-m", "pytest", "-q", "-m", "mpi", "-p", "no:cacheprovider",
           *map(str, files)]
    env = dict(os.environ, AXE_MPI_TEST="1")
    return subprocess.call(cmd, cwd=ROOT, env=env, timeout=900)


if __name__ == "__main__":
    sys.exit(main())
