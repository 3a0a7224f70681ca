"""Expert parallelism as one DSL kernel: each rank hosts one expert; tokens travel to their expert by
all-to-all and come back, both all-to-alls derived from layouts.

Every rank holds T tokens of width D and a router choice per token. The kernel packs its tokens into a
(source, expert, C, D) buffer sharded on the source dim (C = capacity = T, so nothing is dropped), copies
it into the same tensor sharded on the expert dim (the layouts make that an all-to-all), applies this
rank's expert weight, copies the results back to the source-sharded layout (the second all-to-all) and
unpacks each token. Three kernel segments around two host collectives. Checked against numpy.
Run: mpiexec -n 4 python examples/moe_dispatch.py    or    python examples/moe_dispatch.py --simulate 4
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

E, T, D = 4, 64, 32                     # experts (= ranks), tokens per rank, width
C = T                                   # capacity per (source, expert) pair
BY_SOURCE = f"S[({E},{E},{C},{D}):(1@gpuid,{C * D},{D},1)]"    # rank s holds [s, :, :, :]
BY_EXPERT = f"S[({E},{E},{C},{D}):({C * D},1@gpuid,{D},1)]"    # rank e holds [:, e, :, :]
TOKENS = f"S[({E},{T},{D}):(1@gpuid,{D},1)]"
ROUTES = f"S[({E},{T}):(1@gpuid,1)]"
WEIGHTS = f"S[({E},{D},{D}):(1@gpuid,{D},1)]"


@dsl.kernel(grid=(E * C,), threads=D, example={})
def moe(tokens: dsl.Tensor[(E * T, D), dsl.f32, TOKENS], routes: dsl.Tensor[(E * T,), dsl.i32, ROUTES],
        w: dsl.Tensor[(E, D, D), dsl.f32, WEIGHTS], out: dsl.Tensor[(E * T, D), dsl.f32, TOKENS],
        slots: dsl.Tensor[(E * T,), dsl.i32, ROUTES],
        send: dsl.Tensor[(E, E, C, D), dsl.f32, BY_SOURCE], recv: dsl.Tensor[(E, E, C, D), dsl.f32, BY_EXPERT],
        done: dsl.Tensor[(E, E, C, D), dsl.f32, BY_EXPERT], back: dsl.Tensor[(E, E, C, D), dsl.f32, BY_SOURCE]):
    if dsl.cta_id() == 0:                                # pack: token t goes to slot cnt[e] of expert e
        cnt = dsl.alloc_local((E,), dsl.i32)
        d = dsl.thread_id()
        for t in range(T):
            e = routes[t]
            send[0, e, cnt[e], d] = tokens[t, d]
            if d == 0:
                slots[t] = cnt[e]
            cnt[e] = cnt[e] + 1
    with dsl.kernel_scope():
        dsl.copy(recv, send)                             # dispatch: an all-to-all
    src = dsl.cta_id() // C                              # the expert: one (source, slot) row per CTA
    c = dsl.cta_id() % C
    col = dsl.thread_id()
    acc = 0.0
    for k in range(D):
        acc += recv[src, 0, c, k] * w[0, k, col]
    done[src, 0, c, col] = acc
    with dsl.kernel_scope():
        dsl.copy(back, done)                             # combine: the all-to-all back
    if dsl.cta_id() < T:                                 # unpack: token t from its expert's slot
        tok = dsl.cta_id()
        out[tok, dsl.thread_id()] = back[0, routes[tok], slots[tok], dsl.thread_id()]


def problem():
    """The same inputs on every rank: tokens (E, T, D), routes (E, T), expert weights (E, D, D)."""
    rng = np.random.default_rng(11)
    tokens = rng.standard_normal((E, T, D)).astype(np.float32)
    routes = rng.integers(0, E, size=(E, T)).astype(np.int32)
    weights = (rng.standard_normal((E, D, D)) / np.sqrt(D)).astype(np.float32)
    return tokens, routes, weights


def main(rank) -> tuple[bool, str]:
    if rank.mesh.size != E:
        return False, f"this example is written for {E} ranks, got {rank.mesh.size}"
    tokens, routes, weights = problem()
    r = rank.rank
    work = [np.zeros((1, E, C, D), np.float32), np.zeros((E, 1, C, D), np.float32),
            np.zeros((E, 1, C, D), np.float32), np.zeros((1, E, C, D), np.float32)]
    out, slots = np.zeros((T, D), np.float32), np.zeros(T, np.int32)
    t = time.perf_counter()
    moe(tokens[r], routes[r], weights[r:r + 1], out, slots, *work, mesh=rank)
    elapsed = time.perf_counter() - t
    want = np.einsum("td,tde->te", tokens[r], weights[routes[r]])
    ok = bool(np.allclose(out, want, rtol=1e-4, atol=1e-4))
    if r == 0:
        prog = moe.compile()
        lay = {p.name: p.layout for p in prog.params}
        print(f"send {lay['send']}\nrecv {lay['recv']}\nsplit: " + " | ".join(
            f"{type(s).__name__} {getattr(s, 'name', '') or s.kernel.name}" for s in prog.steps))
        plan = plan_copy(lay["send"], lay["recv"], (E, E, C, D), rank.mesh)
        print(f"plan of the dispatch copy: {', '.join(map(str, plan))}")
    return ok, f"rank {r}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms, {T} tokens over {E} experts)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(ep=n), description=__doc__) else 1)
