"""What the benchmark scripts share: loading an example file, and timing on the GPU with CUDA events.

Run the scripts from the repository root (``python benchmarks/gemm.py``); they put the root on the path.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dsl.cli import load_module  # noqa: E402


def example(name: str, prefix: str = "bench_"):
    """The module ``examples/<name>.py`` (imported as ``<prefix><name>``)."""
    return load_module(ROOT / "examples" / f"{name}.py", f"{prefix}{name}")


def timed(fn, reps: int, torch) -> float:
    """Best of ``reps`` GPU times of ``fn()`` in seconds, measured with CUDA events after one warm-up."""
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    return best
