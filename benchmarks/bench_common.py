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


def timed_stream(fn, reps: int, torch) -> float:
    """Mean GPU time of ``fn()`` in seconds when ``reps`` calls are queued back to back on torch's current
    stream between two CUDA events (after one warm-up): the host work of each call overlaps the kernel
    before it, as in a real model, so the figure is the kernel's throughput. ``fn`` must launch
    asynchronously (torch ops do; DSL kernels with ``stream=torch.cuda.current_stream()``)."""
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / reps
