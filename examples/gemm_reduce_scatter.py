"""GEMM + reduce-scatter (the paper's multi-GPU workload): the contraction dim K is sharded over `tp`.

C = A @ B with A (M, K) column-sharded and B (K, N) row-sharded: each rank's local GEMM is a partial sum,
a (tp, M, N) tensor sharded on dim 0; the sum over that dim into C row-sharded is a reduce-scatter, derived
by `distributed_sum` from the two layouts. Checked against a single-process numpy reference.
Run: mpiexec -n 4 python examples/gemm_reduce_scatter.py    or    ... --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
from collectives import distributed_sum, local_shard  # noqa: E402
from collectives.launch import launch  # noqa: E402
from lowering.transitions import plan_sum  # noqa: E402

M, K, N = 128, 256, 64


def main(rank) -> tuple[bool, str]:
    mesh, tp = rank.mesh, rank.mesh.sizes["tp"]
    rng = np.random.default_rng(5)
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    a_layout = axe.shard((M, K), mesh, (None, "tp"))
    b_layout = axe.shard((K, N), mesh, ("tp", None))
    partial = axe.shard((tp, M, N), mesh, ("tp", None, None))
    c_layout = axe.shard((M, N), mesh, ("tp", None))
    a = local_shard(A, a_layout, mesh, rank.rank)
    b = local_shard(B, b_layout, mesh, rank.rank)
    t = time.perf_counter()
    z = (a @ b)[None]                                            # this rank's partial product
    c = distributed_sum(rank, z, partial, (tp, M, N), 0, c_layout)  # reduce-scatter, from the layouts
    elapsed = time.perf_counter() - t
    want = local_shard(A @ B, c_layout, mesh, rank.rank)
    ok = bool(np.allclose(c, want, rtol=1e-4, atol=1e-3))
    if rank.rank == 0:
        plan = ", ".join(map(str, plan_sum(partial, (tp, M, N), 0, c_layout, mesh)))
        print(f"partial {partial}\nC       {c_layout}\nplan    {plan}", flush=True)
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(tp=n), description=__doc__) else 1)
