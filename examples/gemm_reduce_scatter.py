"""GEMM + reduce-scatter (the paper's multi-GPU workload) as one DSL kernel: the contraction dim K is
sharded over 4 GPUs.

C = A @ B with A (M, K) column-sharded and B (K, N) row-sharded: each rank's local GEMM (per-thread code)
is a partial sum, a (tp, M, N) tensor sharded on dim 0; the kernel-scope ``dsl.sum`` over that dim into a
row-sharded C is, from the two layouts, a local sum then a reduce-scatter. Checked against numpy.
Run: mpiexec -n 4 python examples/gemm_reduce_scatter.py    or    ... --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
import dsl  # noqa: E402
from axe.transitions import plan_sum  # noqa: E402
from collectives.launch import launch  # noqa: E402
from collectives.program import rank_blocks  # noqa: E402

TP, M, K, N = 4, 128, 256, 64
KL = K // TP
A_COLS = f"S[({M},{TP},{KL}):({KL},1@gpuid,1)]"
B_ROWS = f"S[({TP},{KL},{N}):(1@gpuid,{N},1)]"
PARTIAL = f"S[({TP},{M},{N}):(1@gpuid,{N},1)]"
C_ROWS = f"S[({TP},{M // TP},{N}):(1@gpuid,{N},1)]"


@dsl.kernel(grid=(M,), threads=N, example={})
def gemm_reduce_scatter(a: dsl.Tensor[(M, K), dsl.f32, A_COLS], b: dsl.Tensor[(K, N), dsl.f32, B_ROWS],
                        partial: dsl.Tensor[(TP, M, N), dsl.f32, PARTIAL], c: dsl.Tensor[(M, N), dsl.f32, C_ROWS]):
    i = dsl.cta_id()
    j = dsl.thread_id()
    acc = 0.0
    for k in range(KL):                       # this rank's slice of the contraction
        acc += a[i, k] * b[k, j]
    partial[0, i, j] = acc
    with dsl.kernel_scope():
        dsl.sum(c, partial, dims=(0,))        # a reduce-scatter: the layouts say so


def main(rank) -> tuple[bool, str]:
    mesh = rank.mesh
    if mesh.size != TP:
        return False, f"this example is written for {TP} ranks, got {mesh.size}"
    rng = np.random.default_rng(5)
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    prog = gemm_reduce_scatter.compile()
    lay = {p.name: p.layout for p in prog.params}
    a = np.ascontiguousarray(A[rank_blocks(lay["a"], mesh, (M, K))[rank.rank]])
    b = np.ascontiguousarray(B[rank_blocks(lay["b"], mesh, (K, N))[rank.rank]])
    partial, c = np.zeros((1, M, N), np.float32), np.zeros((M // TP, N), np.float32)
    t = time.perf_counter()
    gemm_reduce_scatter(a, b, partial, c, mesh=rank)
    elapsed = time.perf_counter() - t
    want = (A @ B)[rank_blocks(lay["c"], mesh, (M, N))[rank.rank]]
    ok = bool(np.allclose(c, want, rtol=1e-4, atol=1e-3))
    if rank.rank == 0:
        plan = ", ".join(map(str, plan_sum(lay["partial"], (TP, M, N), 0, lay["c"], mesh)))
        print(f"A {lay['a']}\nB {lay['b']}\npartial {lay['partial']}\nC {lay['c']}\nplan of the sum: {plan}")
        print("C placement in miniature (8 x 2: row blocks over the GPUs):")
        print(axe.draw(axe.Layout.parse(f"S[({TP},2,2):(1@gpuid,2,1)]"), (2 * TP, 2)), flush=True)
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(tp=n), description=__doc__) else 1)
