"""Tensor-parallel MLP on a `tp` mesh: Y = gelu(X @ W1) @ W2, with the layouts deciding the communication.

X is replicated, W1 column-sharded, W2 row-sharded (Megatron style). Each rank computes its slice of the
hidden activations and a partial product; summing the partials over `tp` into a row-sharded Y is a
reduce-scatter, derived from the layouts by lowering.transitions. Local math is numpy for now (the kernel
DSL will take it over).
Run: mpiexec -n 4 python examples/tp_mlp.py    or    python examples/tp_mlp.py --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
from collectives import check_shard, distributed_sum, local_shard  # noqa: E402
from collectives.launch import launch  # noqa: E402
from lowering.transitions import plan_sum  # noqa: E402

B, D, H = 64, 128, 512


def gelu(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def main(rank) -> tuple[bool, str]:
    mesh, tp = rank.mesh, rank.mesh.sizes["tp"]
    rng = np.random.default_rng(0)  # the same global tensors on every rank (a stand-in for loading shards)
    X = rng.standard_normal((B, D)).astype(np.float32)
    W1 = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(np.float32)
    W2 = (rng.standard_normal((H, D)) / np.sqrt(H)).astype(np.float32)
    layouts = {
        "X": axe.shard((B, D), mesh, (None, None)),       # replicated
        "W1": axe.shard((D, H), mesh, (None, "tp")),      # column-sharded
        "W2": axe.shard((H, D), mesh, ("tp", None)),      # row-sharded
    }
    partial = axe.shard((tp, B, D), mesh, ("tp", None, None))  # one partial product per rank
    Y = axe.shard((B, D), mesh, ("tp", None))                   # output rows sharded
    x = check_shard(local_shard(X, layouts["X"], mesh, rank.rank), layouts["X"], mesh, rank.rank, (B, D), "X")
    w1 = local_shard(W1, layouts["W1"], mesh, rank.rank)
    w2 = local_shard(W2, layouts["W2"], mesh, rank.rank)
    t = time.perf_counter()
    h = gelu(x @ w1)                                   # (B, H/tp): this rank's hidden columns
    z = (h @ w2)[None]                                 # (1, B, D): its partial sum of Y
    y = distributed_sum(rank, z, partial, (tp, B, D), 0, Y)
    elapsed = time.perf_counter() - t
    want = local_shard(gelu(X @ W1) @ W2, Y, mesh, rank.rank)
    err = float(np.abs(y - want).max() / np.abs(want).max())
    if rank.rank == 0:
        for name, lay in layouts.items():
            print(f"{name:>3} {lay}")
        print(f"  Y {Y}\nplan for sum over tp: {', '.join(map(str, plan_sum(partial, (tp, B, D), 0, Y, mesh)))}")
        print("W1 placement (first 4x8 block, tp owners):")
        print(axe.draw(axe.shard((4, 8), mesh, (None, "tp")), (4, 8)), flush=True)
    ok = err < 1e-4
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} (rel err {err:.1e}, {elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(tp=n), description=__doc__) else 1)
