"""Run the tests marked ``mpi`` under ``mpiexec -n 4`` (each rank runs pytest on them) and print one summary.

Each rank's pytest writes its output and a JUnit report to a temporary folder, so nothing interleaves;
then this prints one line per rank (``rank 0: 100 passed in 6.8s``), the whole pytest output of any rank
that failed or left no report, and closes with a count line in pytest's form (``100 passed in 7.5s``,
``98 passed, 2 failed in 8.0s``) where a test counts once: failed if it failed on any rank. Exits
non-zero when a rank failed, left no report (crashed, killed) or the run passed ``TIMEOUT_S``.

Exits 0 with a message when no test is marked ``mpi`` yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANKS = 4
TIMEOUT_S = 900
# where launchers put the rank: MPICH/Hydra, Open MPI, PMIx, MVAPICH, Slurm
RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK", "SLURM_PROCID")
_WORSE = ("passed", "skipped", "error", "failed")  # merging outcomes keeps the worse one


def worker(outdir: str, pytest_args: list[str]) -> None:
    """One rank: becomes ``python -m pytest`` with stdout and stderr in ``<outdir>/rank<r>.log``."""
    rank = next((os.environ[v] for v in RANK_VARS if v in os.environ), f"pid{os.getpid()}")
    out = Path(outdir)
    fd = os.open(out / f"rank{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={out / f'rank{rank}.xml'}"])


def _outcomes(report: Path) -> tuple[dict[str, str], float]:
    """Each test's outcome in one rank's JUnit report, and the time pytest took."""
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    outcomes: dict[str, str] = {}
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        outcome = next((o for o, t in (("failed", "failure"), ("error", "error"), ("skipped", "skipped")) if t in tags),
                       "passed")
        key = f"{case.get('classname')}::{case.get('name')}"
        outcomes[key] = max(outcomes.get(key, "passed"), outcome, key=_WORSE.index)
    return outcomes, sum(float(s.get("time", 0)) for s in suites)


def _count_line(counts: Counter, seconds: float) -> str:
    parts = [f"{counts['passed']} passed"]
    parts += [f"{counts[k]} {k}" for k in ("failed", "skipped") if counts[k]]
    if counts["error"]:
        parts.append(f"{counts['error']} error{'s' if counts['error'] != 1 else ''}")
    return ", ".join(parts) + f" in {seconds:.1f}s"


def _run(cmd: list[str], log: Path) -> tuple[int | None, float]:
    """Run ``cmd`` in its own session with its output in ``log``; kill the whole session after TIMEOUT_S.
    Returns (exit code or None on timeout, seconds)."""
    start = time.monotonic()
    env = dict(os.environ, AXE_MPI_TEST="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            if proc.poll() is None:  # timed out or interrupted: mpiexec and the ranks it started
                for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                    try:
                        os.killpg(proc.pid, sig)
                        proc.wait(timeout=grace)
                        break
                    except ProcessLookupError:
                        break
                    except subprocess.TimeoutExpired:
                        continue
    return rc, time.monotonic() - start


def _rank_order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (sys.maxsize, name)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        worker(argv[1], argv[2:])  # does not return
    files = sorted(p for p in (ROOT / "tests").rglob("test_*.py") if "pytest.mark.mpi" in p.read_text())
    if not files:
        print("mpi: no tests marked mpi")
        return 0
    mpiexec = Path(sys.executable).with_name("mpiexec")
    rel = [str(p.relative_to(ROOT)) for p in files]
    print(f"mpiexec -n {RANKS}: pytest -m mpi {' '.join(rel)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="axe-mpi-") as tmp:
        out = Path(tmp)
        cmd = [str(mpiexec), "-n", str(RANKS), sys.executable, "-m", "tests.run_mpi", "--worker", tmp,
               "-q", "-m", "mpi", "-p", "no:cacheprovider", *rel]
        rc, seconds = _run(cmd, out / "mpiexec.log")
        names = {p.stem[len("rank"):] for p in out.glob("rank*.log")}
        if all(n.isdigit() for n in names):
            names |= {str(r) for r in range(RANKS)}
        per_test: dict[str, list[str]] = {}
        problems = 0
        bad_ranks = []
        for name in sorted(names, key=_rank_order):
            report = out / f"rank{name}.xml"
            if not report.exists():
                problems += 1
                bad_ranks.append(name)
                print(f"rank {name}: no report (crashed, killed or timed out)")
                continue
            outcomes, took = _outcomes(report)
            for key, outcome in outcomes.items():
                per_test.setdefault(key, []).append(outcome)
            counts = Counter(outcomes.values())
            print(f"rank {name}: {_count_line(counts, took)}")
            if counts["failed"] or counts["error"]:
                bad_ranks.append(name)
        for name in bad_ranks:
            log = out / f"rank{name}.log"
            text = log.read_text(errors="replace") if log.exists() else "(no output)\n"
            print(f"\n{'=' * 30} rank {name}: pytest output {'=' * 30}\n{text.rstrip()}")
        total = Counter()
        for outcomes in per_test.values():
            worst = max(outcomes, key=_WORSE.index)
            total["skipped" if all(o == "skipped" for o in outcomes) else
                  worst if worst in ("failed", "error") else "passed"] += 1
        if rc != 0 and (rc is None or problems or not bad_ranks):  # not only failed tests: say what mpiexec saw
            text = (out / "mpiexec.log").read_text(errors="replace").strip()
            what = f"timed out after {TIMEOUT_S}s: mpiexec and its ranks were killed" if rc is None else \
                f"mpiexec exited with {rc}"
            print(f"\n{what}" + (f"; its output:\n{text}" if text else ""))
            if not bad_ranks:
                problems += 1  # every rank reported, yet the run failed (e.g. an abort in MPI_Finalize)
        total["error"] += problems
        if bad_ranks or rc != 0:
            print()
        print(_count_line(total, seconds))
    return 0 if rc == 0 and not bad_ranks and not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
