"""Expert parallelism: each rank hosts one expert; tokens travel to their expert by all-to-all and come back.

Every rank holds T tokens of width D and a router choice per token. Dispatch packs the tokens into a
(n_experts, C, D) buffer (C = capacity, padded with zeros), an all-to-all over the `ep` axis sends slot j to
rank j, the expert multiplies what it received by its weight, and a second all-to-all (combine) returns each
token to its owner. Checked against a single-process numpy reference.
Run: mpiexec -n 4 python examples/moe_dispatch.py    or    python examples/moe_dispatch.py --simulate 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import axe  # noqa: E402
from collectives.launch import launch  # noqa: E402

T, D = 64, 32


def problem(n: int):
    """The same inputs on every rank: tokens (n, T, D), routes (n, T), expert weights (n, D, D)."""
    rng = np.random.default_rng(11)
    tokens = rng.standard_normal((n, T, D)).astype(np.float32)
    routes = rng.integers(0, n, size=(n, T))
    weights = rng.standard_normal((n, D, D)).astype(np.float32) / np.sqrt(D)
    return tokens, routes, weights


def main(rank) -> tuple[bool, str]:
    n = rank.mesh.size
    tokens, routes, weights = problem(n)
    mine, route, w = tokens[rank.rank], routes[rank.rank], weights[rank.rank]
    capacity = T  # no token is ever dropped
    t = time.perf_counter()
    send = np.zeros((n, capacity, D), np.float32)
    slots = np.zeros(T, np.int64)
    for e in range(n):
        idx = np.nonzero(route == e)[0]
        send[e, :idx.size] = mine[idx]
        slots[idx] = np.arange(idx.size)
    received = rank.all_to_all(send, axes=("ep",), split_dim=0, concat_dim=0)     # (n, C, D) by source
    processed = received @ w                                                        # this rank's expert
    back = rank.all_to_all(processed, axes=("ep",), split_dim=0, concat_dim=0)     # (n, C, D) by expert
    out = back[route, slots]
    elapsed = time.perf_counter() - t
    want = np.einsum("td,tde->te", mine, weights[route])
    ok = bool(np.allclose(out, want, rtol=1e-4, atol=1e-4))
    return ok, f"rank {rank.rank}: {'PASS' if ok else 'FAIL'} ({elapsed * 1e3:.2f} ms, {T} tokens over {n} experts)"


if __name__ == "__main__":
    sys.exit(0 if launch(main, lambda n: axe.Mesh(ep=n), description=__doc__) else 1)
