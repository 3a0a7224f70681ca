"""CPU backend figures: tiled GEMM 256^3 and softmax 4096x1024 (time per run, ratio to numpy), and
compile time (source -> thread-level IR, cache cleared) for every example.

Run: python benchmarks/cpu_backend.py
"""

from __future__ import annotations

import time

import numpy as np
from bench_common import ROOT, example

import dsl

EX = ROOT / "examples"


def best(fn, reps: int = 3) -> float:
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    gemm = example("gemm")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 256)).astype(np.float16)
    b = rng.standard_normal((256, 256)).astype(np.float16)
    c = np.zeros((256, 256), np.float32)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    tn = best(lambda: a32 @ b32, 20)
    for kern in (gemm.gemm, gemm.gemm_cta):
        kern(a, b, c, 256, 256, 256)
        t = best(lambda kern=kern: kern(a, b, c, 256, 256, 256))
        print(f"{kern.name} 256x256x256 (f16 in, f32 acc, mma.sync emulated): {t * 1e3:.1f} ms/run, "
              f"numpy f32 matmul {tn * 1e3:.3f} ms, ratio {t / tn:.0f}x")

    sm = example("softmax")
    x = rng.standard_normal((4096, 1024)).astype(np.float32)
    y = np.zeros_like(x)
    sm.softmax(x, y, 4096, 1024)
    t = best(lambda: sm.softmax(x, y, 4096, 1024))
    tn = best(lambda: sm.reference(x), 5)
    print(f"softmax 4096x1024 (register tiles, shuffle reductions): {t * 1e3:.1f} ms/run, numpy {tn * 1e3:.1f} ms, "
          f"ratio {t / tn:.1f}x")

    print("compile time, source -> thread-level IR through every pass (cold cache), example specialisation:")
    for path in sorted(EX.glob("*.py")):
        mod = example(path.stem)
        for name, k in vars(mod).items():
            if not isinstance(k, dsl.KernelFunction) or k.fn.__module__ != mod.__name__:
                continue

            def cold(k=k):
                k._cache.clear()
                k.specialise(**k.example)
            print(f"  {path.stem}.{name}: {best(cold) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
