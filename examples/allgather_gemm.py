"""All-gather + GEMM (the paper's multi-GPU workload): A is row-sharded over `tp`, B column-sharded.

C = A @ B with A (M, K) sharded on rows and B (K, N) sharded on columns: the layouts say A must become
replicated (an all-gather, derived by `redistribute` from the two layouts), then each rank computes its
column block of C locally. Checked against a single-process numpy reference.
Run: mpiexec -n 4 python examples/allgather_gemm.py    or    python examples/allgather_gemm.py --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
from collectives import local_shard, redistribute  # noqa: E402
from collectives.launch import launch  # noqa: E402
from lowering.transitions import plan_copy  # noqa: E402

M, K, N = 128, 64, 256


def main(rank) -> tuple[bool, str]:
    mesh = rank.mesh
    rng = np.random.default_rng(3)
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    a_sharded = axe.shard((M, K), mesh, ("tp", None))
    a_full = axe.shard((M, K), mesh, (None, None))
    b_layout = axe.shard((K, N), mesh, (None, "tp"))
    c_layout = axe.shard((M, N), mesh, (None, "tp"))
    a = local_shard(A, a_sharded, mesh, rank.rank)
    b = local_shard(B, b_layout, mesh, rank.rank)
    t = time.perf_counter()
    a_all = redistribute(rank, a, a_sharded, a_full, (M, K))    # all-gather, from the layouts
    c = a_all @ b
    elapsed = time.perf_counter() - t
    want = local_shard(A @ B, c_layout, mesh, rank.rank)
    ok = bool(np.allclose(c, want, rtol=1e-4, atol=1e-3))
    if rank.rank == 0:
        plan = ", ".join(map(str, plan_copy(a_sharded, a_full, (M, K), mesh)))
        print(f"A {a_sharded} -> {a_full}\nplan {plan}", flush=True)
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(tp=n), description=__doc__) else 1)
