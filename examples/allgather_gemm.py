"""All-gather + GEMM (the paper's multi-GPU workload) as one DSL kernel: A is row-sharded over 4 GPUs,
B and C column-sharded. The kernel says, at kernel scope, "copy A into a replicated A"; the compiler
splits the kernel there: the copy becomes a host all-gather (derived from the two layouts), the rest a
kernel segment that computes this rank's column block of C with plain per-thread code.
Checked against a single-process numpy reference.
Run: mpiexec -n 4 python examples/allgather_gemm.py    or    python examples/allgather_gemm.py --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
import dsl  # noqa: E402
from axe.transitions import plan_copy  # noqa: E402
from collectives.launch import launch  # noqa: E402
from collectives.program import rank_blocks  # noqa: E402

TP, M, K, N = 4, 128, 64, 256
A_ROWS = f"S[({TP},{M // TP},{K}):(1@gpuid,{K},1)]"          # rows split over the GPUs
A_ALL = f"S[({M},{K}):({K},1)] + R[{TP}:1@gpuid]"           # every GPU holds all of A
B_COLS = f"S[({K},{TP},{N // TP}):({N // TP},1@gpuid,1)]"     # columns split over the GPUs
C_COLS = f"S[({M},{TP},{N // TP}):({N // TP},1@gpuid,1)]"


@dsl.kernel(grid=(M,), threads=N // TP, example={})
def allgather_gemm(a: dsl.Tensor[(M, K), dsl.f32, A_ROWS], a_all: dsl.Tensor[(M, K), dsl.f32, A_ALL],
                   b: dsl.Tensor[(K, N), dsl.f32, B_COLS], c: dsl.Tensor[(M, N), dsl.f32, C_COLS]):
    with dsl.kernel_scope():
        dsl.copy(a_all, a)                       # an all-gather: the layouts say so
    i = dsl.cta_id()                             # local code indexes this rank's shards
    j = dsl.thread_id()
    acc = 0.0
    for k in range(K):
        acc += a_all[i, k] * b[k, j]
    c[i, j] = acc


def main(rank) -> tuple[bool, str]:
    mesh = rank.mesh
    if mesh.size != TP:
        return False, f"this example is written for {TP} ranks, got {mesh.size}"
    rng = np.random.default_rng(3)
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    prog = allgather_gemm.compile()
    lay = {p.name: p.layout for p in prog.params}
    a = np.ascontiguousarray(A[rank_blocks(lay["a"], mesh, (M, K))[rank.rank]])
    b = np.ascontiguousarray(B[rank_blocks(lay["b"], mesh, (K, N))[rank.rank]])
    a_all = np.zeros((M, K), np.float32)
    c = np.zeros((M, N // TP), np.float32)
    t = time.perf_counter()
    allgather_gemm(a, a_all, b, c, mesh=rank)
    elapsed = time.perf_counter() - t
    want = (A @ B)[rank_blocks(lay["c"], mesh, (M, N))[rank.rank]]
    ok = bool(np.allclose(c, want, rtol=1e-4, atol=1e-3))
    if rank.rank == 0:
        steps = [type(s).__name__ + (f" {s.name}" if isinstance(s, dsl.ir.HostCall) else f" {s.kernel.name}")
                 for s in prog.steps]
        plan = ", ".join(map(str, plan_copy(lay["a"], lay["a_all"], (M, K), mesh)))
        print(f"A {lay['a']} -> {lay['a_all']}\nB {lay['b']}\nC {lay['c']}\nsplit: {' | '.join(steps)}\n"
              f"plan of the copy: {plan}")
        print(f"C placement in miniature (2 x {4 * TP}: column blocks over the GPUs):")
        print(axe.draw(axe.Layout.parse(f"S[(2,{TP},4):(4,1@gpuid,1)]"), (2, 4 * TP)), flush=True)
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(tp=n), description=__doc__) else 1)
