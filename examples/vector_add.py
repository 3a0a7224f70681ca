"""Vector add: c = a + b for a dynamic length n, one element per thread (plain thread-level code).

Run: python examples/vector_add.py [N] [--backend cpu|cuda]
"""

import time

import numpy as np

import dsl

N = dsl.dim("n")


@dsl.kernel(grid=lambda n: ((n + 127) // 128,), threads=128, example={"n": 100_003})
def vector_add(a: dsl.Tensor[(N,), dsl.f32], b: dsl.Tensor[(N,), dsl.f32],
               c: dsl.Tensor[(N,), dsl.f32], n: dsl.i32):
    i = dsl.cta_id() * 128 + dsl.thread_id()
    if i < n:
        c[i] = a[i] + b[i]


def main(n: int = 100_003, backend: str = "cpu") -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n, np.float32), rng.standard_normal(n, np.float32)
    c = np.zeros(n, np.float32)
    t0 = time.perf_counter()
    vector_add(a, b, c, n, backend=backend)
    dt = time.perf_counter() - t0
    assert np.array_equal(c, a + b), "mismatch"
    print(f"vector_add n={n} on {backend}: PASS ({dt * 1e3:.1f} ms)")


if __name__ == "__main__":
    main(*map(int, dsl.positional()[:1]), backend=dsl.backend_option())
