"""Tensor-parallel MLP on 4 GPUs as one DSL kernel: Y = gelu(X @ W1) @ W2, the layouts deciding the
communication (Megatron style).

X is replicated, W1 column-sharded, W2 row-sharded: each rank computes its hidden columns and a partial
product with plain per-thread code, then one kernel-scope ``dsl.sum`` over the partials gives the
row-sharded Y. The compiler splits the kernel there; from the two layouts the sum is a local sum and a
reduce-scatter. Each rank checks on entry that it was given its own shards.
Run: mpiexec -n 4 python examples/tp_mlp.py    or    python examples/tp_mlp.py --simulate 4
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

TP, B, D, H = 4, 64, 128, 512
HL = H // TP                                              # hidden columns per rank
LAYOUTS = {
    "x": f"S[({B},{D}):({D},1)] + R[{TP}:1@gpuid]",       # replicated
    "w1": f"S[({D},{TP},{HL}):({HL},1@gpuid,1)]",         # column-sharded
    "w2": f"S[({TP},{HL},{D}):(1@gpuid,{D},1)]",          # row-sharded
    "h": f"S[({B},{TP},{HL}):({HL},1@gpuid,1)]",          # hidden activations, column-sharded (workspace)
    "partial": f"S[({TP},{B},{D}):(1@gpuid,{D},1)]",     # one partial product per rank (workspace)
    "y": f"S[({TP},{B // TP},{D}):(1@gpuid,{D},1)]",     # output rows sharded
}
X_L, W1_L, W2_L, H_L, P_L, Y_L = (LAYOUTS[k] for k in ("x", "w1", "w2", "h", "partial", "y"))


@dsl.kernel(grid=(B,), threads=128, example={})
def tp_mlp(x: dsl.Tensor[(B, D), dsl.f32, X_L], w1: dsl.Tensor[(D, H), dsl.f32, W1_L],
           w2: dsl.Tensor[(H, D), dsl.f32, W2_L], h: dsl.Tensor[(B, H), dsl.f32, H_L],
           partial: dsl.Tensor[(TP, B, D), dsl.f32, P_L], y: dsl.Tensor[(B, D), dsl.f32, Y_L]):
    b = dsl.cta_id()                                      # one row of the batch per CTA
    for j in range(dsl.thread_id(), HL, 128):             # this rank's hidden columns
        acc = 0.0
        for k in range(D):
            acc += x[b, k] * w1[k, j]
        h[b, j] = 0.5 * acc * (1.0 + dsl.tanh(0.7978845608 * (acc + 0.044715 * acc * acc * acc)))
    dsl.barrier()
    for d in range(dsl.thread_id(), D, 128):              # its partial product of Y
        acc2 = 0.0
        for j2 in range(HL):
            acc2 += h[b, j2] * w2[j2, d]
        partial[0, b, d] = acc2
    with dsl.kernel_scope():
        dsl.sum(y, partial, dims=(0,))                    # the layouts make this a reduce-scatter


def gelu(v):
    return 0.5 * v * (1 + np.tanh(0.7978845608 * (v + 0.044715 * v**3)))


def main(rank) -> tuple[bool, str]:
    mesh = rank.mesh
    if mesh.size != TP:
        return False, f"this example is written for {TP} ranks, got {mesh.size}"
    rng = np.random.default_rng(0)  # the same global tensors on every rank (a stand-in for loading shards)
    X = rng.standard_normal((B, D)).astype(np.float32)
    W1 = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(np.float32)
    W2 = (rng.standard_normal((H, D)) / np.sqrt(H)).astype(np.float32)
    prog = tp_mlp.compile()
    lay = {p.name: p.layout for p in prog.params}

    def mine(name, full):
        return np.ascontiguousarray(full[rank_blocks(lay[name], mesh, full.shape)[rank.rank]])

    x, w1, w2 = mine("x", X), mine("w1", W1), mine("w2", W2)
    h, part = np.zeros((B, HL), np.float32), np.zeros((1, B, D), np.float32)
    y = np.zeros((B // TP, D), np.float32)
    t = time.perf_counter()
    tp_mlp(x, w1, w2, h, part, y, mesh=rank)
    elapsed = time.perf_counter() - t
    want = mine("y", gelu(X @ W1) @ W2)
    err = float(np.abs(y - want).max() / np.abs(want).max())
    if rank.rank == 0:
        for name in ("x", "w1", "w2", "partial", "y"):
            print(f"{name:>7} {lay[name]}")
        steps = " | ".join(f"{type(s).__name__} {getattr(s, 'name', '') or s.kernel.name}" for s in prog.steps)
        print(f"split: {steps}")
        print(f"plan of the sum: {', '.join(map(str, plan_sum(lay['partial'], (TP, B, D), 0, lay['y'], mesh)))}")
        print("W1 placement in miniature (4 x 8 block, column groups over the GPUs):")
        print(axe.draw(axe.Layout.parse(f"S[(4,{TP},2):(2,1@gpuid,1)]"), (4, 2 * TP)), flush=True)
    ok = err < 1e-4
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} (rel err {err:.1e}, {elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(tp=n), description=__doc__) else 1)
