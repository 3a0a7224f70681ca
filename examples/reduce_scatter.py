"""The paper's Figure 8 written in the DSL: sum a (4, 64, 64) tensor sharded on dim 0 over 4 GPUs into a
(64, 64) tensor sharded on rows, 16 per GPU.

    @dsl.kernel
    def reduce_scatter(input:  Tensor((4, 64, 64), layout=((4, 64, 64), (1@gpuid, 64, 1))),
                       output: Tensor((64, 64),    layout=((4, 16, 64), (1@gpuid, 64, 1)))):
        with dsl.kernel_scope():
            dsl.sum(output, input, dims=(0,))

The layouts alone imply the communication: the compiler splits the kernel around the kernel-scope sum,
which becomes a host call; at run time its plan is a local sum then a reduce-scatter over the GPUs. Each
rank checks on entry that it was given its own shard.
Run: mpiexec -n 4 python examples/reduce_scatter.py    or    python examples/reduce_scatter.py --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
import dsl  # noqa: E402
from axe import gpuid  # noqa: E402
from axe.transitions import plan_sum  # noqa: E402
from collectives import local_shard  # noqa: E402
from collectives.launch import launch  # noqa: E402
from lowering.printer import to_text  # noqa: E402


@dsl.kernel(threads=128, example={})
def reduce_scatter(input: dsl.Tensor[(4, 64, 64), dsl.f32, ((4, 64, 64), (1 @ gpuid, 64, 1))],
                   output: dsl.Tensor[(64, 64), dsl.f32, ((4, 16, 64), (1 @ gpuid, 64, 1))]):
    with dsl.kernel_scope():
        dsl.sum(output, input, dims=(0,))


def main(rank) -> tuple[bool, str]:
    mesh = rank.mesh
    x = np.random.default_rng(7).standard_normal((4, 64, 64)).astype(np.float32)  # same on every rank
    layout_in = reduce_scatter.compile().params[0].layout
    local_in = local_shard(x, axe.Layout.parse("S[(4,64,64):(1@g,64,1)]"), mesh, rank.rank)
    local_out = np.zeros((16, 64), np.float32)
    t = time.perf_counter()
    reduce_scatter(local_in, local_out, mesh=rank)
    elapsed = time.perf_counter() - t
    want = x.sum(axis=0)[16 * rank.rank:16 * (rank.rank + 1)]
    ok = bool(np.allclose(local_out, want, rtol=1e-5, atol=1e-5))
    if rank.rank == 0:
        prog = reduce_scatter.compile()
        out_layout = prog.params[1].layout
        plan = ", ".join(map(str, plan_sum(layout_in, (4, 64, 64), 0, out_layout, mesh)))
        print(f"input  {layout_in}\noutput {out_layout}\nsplit  {to_text(prog.steps[0])}\nplan   {plan}")
        print(axe.draw(axe.Layout.parse("S[(4,16):(1@gpuid,1)]"), (4, 16)), flush=True)
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(g=n), description=__doc__) else 1)
