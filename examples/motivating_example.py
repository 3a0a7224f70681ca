"""The paper's motivating example: region [16:32, 64:128] of a (32, 128) f32 tensor loaded into registers
by a 128-thread CTA, written two ways that must agree:

- CuTe-style: a thread-local loop; each thread computes its own addresses;
- Triton-style: one CTA-collective ``dsl.copy`` into a register tensor whose Axe layout
  ``S[(16,8,8):(8@tx,1@tx,1@reg)]`` says which thread (tx) and register (reg) holds each element;
  the schedule derives the per-thread addresses from ``layout.partition``.
"""

import time

import numpy as np

import dsl

REGS = "S[(16,8,8):(8@tx,1@tx,1@reg)]"   # (16, 64) region: row r, col c -> tx = 8r + c//8, reg = c%8


@dsl.kernel(grid=(1,), threads=128, example={})
def cute_style(a: dsl.Tensor[(32, 128), dsl.f32], out: dsl.Tensor[(128, 8), dsl.f32]):
    regs = dsl.alloc_local((8,), dsl.f32)
    tx = dsl.thread_id()
    for k in range(8):
        regs[k] = a[16 + tx // 8, 64 + (tx % 8) * 8 + k]
    for k in range(8):
        out[tx, k] = regs[k] * 2.0


@dsl.kernel(grid=(1,), threads=128, example={})
def triton_style(a: dsl.Tensor[(32, 128), dsl.f32], out: dsl.Tensor[(128, 8), dsl.f32]):
    regs = dsl.alloc_local((16, 64), dsl.f32, layout=REGS)
    with dsl.cta():
        dsl.copy(regs, a[16:32, 64:128])
    for k in range(8):
        out[dsl.thread_id(), k] = regs[k] * 2.0


def main(backend: str = "cpu") -> None:
    a = np.random.default_rng(0).standard_normal((32, 128)).astype(np.float32)
    outs = []
    t0 = time.perf_counter()
    for k in (cute_style, triton_style):
        out = np.zeros((128, 8), np.float32)
        k(a, out, backend=backend)
        outs.append(out)
    dt = time.perf_counter() - t0
    want = (a[16:32, 64:128] * 2).reshape(16, 8, 8).reshape(128, 8)   # thread 8r + j holds cols 8j..8j+7 of row r
    assert np.array_equal(outs[0], want) and np.array_equal(outs[1], want), "mismatch"
    print(f"motivating example on {backend} (CuTe-style loop == Triton-style CTA copy): PASS ({dt * 1e3:.1f} ms)")


if __name__ == "__main__":
    main(backend=dsl.backend_option())
