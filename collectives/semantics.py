"""The meaning of each collective on the list of the group's buffers (index order), in numpy.

The simulated mesh computes collectives with these functions; the MPI and NCCL paths must agree with
them, which the tests check. Semantics follow JAX's tiled collectives (``all_gather(tiled=True)``,
``psum_scatter(tiled=True)``, ``all_to_all``).
"""

from __future__ import annotations

import numpy as np

from .errors import CollectiveError

REDUCTIONS = {"sum": np.add, "max": np.maximum, "min": np.minimum, "prod": np.multiply}


def reduction(op: str):
    try:
        return REDUCTIONS[op]
    except KeyError:
        raise CollectiveError(f"unknown reduction {op!r}; use one of {', '.join(REDUCTIONS)}") from None


def check_split(x: np.ndarray, n: int, dim: int, what: str) -> None:
    if not -x.ndim <= dim < x.ndim:
        raise CollectiveError(f"{what}: dim {dim} is out of range for a rank-{x.ndim} buffer")
    if x.shape[dim] % n:
        raise CollectiveError(f"{what}: dim {dim} of size {x.shape[dim]} does not split evenly over {n} ranks")


def split(x: np.ndarray, n: int, dim: int, what: str) -> list[np.ndarray]:
    check_split(x, n, dim, what)
    return np.split(x, n, axis=dim)


def all_reduce(bufs, op="sum"):
    f = reduction(op)
    out = bufs[0].copy()
    for b in bufs[1:]:
        out = f(out, b)
    return [out.copy() for _ in bufs]


def all_gather(bufs, dim=0):
    out = np.concatenate(bufs, axis=dim)
    return [out.copy() for _ in bufs]


def reduce_scatter(bufs, op="sum", dim=0):
    total = all_reduce(bufs, op)[0]
    return [c.copy() for c in split(total, len(bufs), dim, "reduce_scatter")]


def all_to_all(bufs, split_dim=0, concat_dim=0):
    n = len(bufs)
    chunks = [split(b, n, split_dim, "all_to_all") for b in bufs]
    return [np.concatenate([chunks[src][dst] for src in range(n)], axis=concat_dim) for dst in range(n)]


def broadcast(bufs, root=0):
    if not 0 <= root < len(bufs):
        raise CollectiveError(f"broadcast root {root} is outside the group of {len(bufs)}")
    return [bufs[root].copy() for _ in bufs]


def permute(bufs, pairs):
    out = [np.zeros_like(b) for b in bufs]
    for src, dst in pairs:
        out[dst] = bufs[src].copy()
    return out


def check_pairs(pairs, n: int):
    pairs = [tuple(p) for p in pairs]
    for p in pairs:
        if len(p) != 2 or not all(type(v) is int and 0 <= v < n for v in p):
            raise CollectiveError(f"permute pairs must be (src, dst) group indices in [0, {n}), got {p!r}")
    for what, col in (("source", 0), ("destination", 1)):
        vals = [p[col] for p in pairs]
        if len(set(vals)) != len(vals):
            raise CollectiveError(f"permute: a {what} appears twice in {pairs}")
    return pairs
