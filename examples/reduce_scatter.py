"""The paper's Figure 8: sum a (4, 64, 64) tensor sharded on dim 0 over 4 GPUs into (64, 64), 16 rows each.

    input:  Tensor((4, 64, 64), layout=S[(4,64,64):(1@gpuid,64,1)])
    output: Tensor((64, 64),    layout=S[(4,16,64):(1@gpuid,64,1)])

The layouts alone imply the communication: a local sum, then a reduce-scatter over the GPUs.
Run: mpiexec -n 4 python examples/reduce_scatter.py    or    python examples/reduce_scatter.py --simulate 4
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

INPUT = axe.Layout.parse("S[(4,64,64):(1@gpuid,64,1)]")
OUTPUT = axe.Layout.parse("S[(4,16,64):(1@gpuid,64,1)]")


def main(rank) -> tuple[bool, str]:
    mesh = rank.mesh
    x = np.random.default_rng(7).standard_normal((4, 64, 64)).astype(np.float32)  # same on every rank
    gpu_layout = axe.Layout.parse("S[(4,64,64):(1@g,64,1)]")
    local_in = local_shard(x, gpu_layout, mesh, rank.rank)
    t = time.perf_counter()
    local_out = distributed_sum(rank, local_in, INPUT, (4, 64, 64), 0, OUTPUT)
    elapsed = time.perf_counter() - t
    want = x.sum(axis=0)[16 * rank.rank:16 * (rank.rank + 1)]
    ok = bool(np.allclose(local_out, want, rtol=1e-5, atol=1e-5))
    if rank.rank == 0:
        plan = ", ".join(map(str, plan_sum(INPUT, (4, 64, 64), 0, OUTPUT, mesh)))
        print(f"input  {INPUT}\noutput {OUTPUT}\nplan   {plan}", flush=True)
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(g=n), description=__doc__) else 1)
