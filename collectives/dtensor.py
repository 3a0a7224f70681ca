"""Distributed arrays on the host: local shards described by Axe layouts, and the collectives that
layout changes imply (planned by :mod:`axe.transitions`, run on a mesh rank)."""

from __future__ import annotations

import numpy as np

import axe
from axe.transitions import plan_copy, plan_sum, spec_of

from .errors import CollectiveError


def _block(layout, mesh, rank, shape):
    spec = spec_of(layout, mesh, shape)
    coords = mesh.coords(rank)
    index = []
    for n, axes in zip(shape, spec):
        parts, i = 1, 0
        for a in axes:
            parts *= mesh.sizes[a]
            i = i * mesh.sizes[a] + coords[a]
        size = n // parts
        index.append(slice(i * size, (i + 1) * size))
    return tuple(index)


def local_shard(global_array, layout: axe.Layout, mesh: axe.Mesh, rank: int) -> np.ndarray:
    """This rank's block of ``global_array`` under ``layout`` (a copy, C-contiguous).

    >>> m = axe.Mesh(x=2)
    >>> local_shard(np.arange(8).reshape(4, 2), axe.shard((4, 2), m, ("x", None)), m, 1).tolist()
    [[4, 5], [6, 7]]
    """
    g = np.asarray(global_array)
    return np.ascontiguousarray(g[_block(layout, mesh, rank, g.shape)])


def check_shard(local, layout: axe.Layout, mesh: axe.Mesh, rank: int, shape, name: str = "tensor", dtype=None):
    """Fail with a message naming the rank, tensor and expected shard when ``local`` does not fit."""
    block = _block(layout, mesh, rank, tuple(shape))
    want = tuple(s.stop - s.start for s in block)
    local = np.asarray(local)
    if local.shape != want or (dtype is not None and local.dtype != np.dtype(dtype)):
        rows = ", ".join(f"{s.start}:{s.stop}" for s in block)
        raise CollectiveError(
            f"rank {rank} ({mesh.coords(rank)}): {name} should be the shard [{rows}] of a {tuple(shape)} tensor "
            f"laid out as {layout}, i.e. shape {want}" + (f" dtype {np.dtype(dtype)}" if dtype is not None else "")
            + f"; got shape {local.shape} dtype {local.dtype}")
    return local


def _run(rank, local, steps):
    for st in steps:
        if st.kind == "all_gather":
            local = rank.all_gather(local, st.axes, st.dim)
        elif st.kind == "slice":
            i, n = rank.group(st.axes)
            local = np.ascontiguousarray(np.split(local, n, axis=st.dim)[i])
        elif st.kind == "all_to_all":
            local = rank.all_to_all(local, st.axes, split_dim=st.dim, concat_dim=st.dim2)
        elif st.kind == "local_sum":
            local = local.sum(axis=st.dim)
        elif st.kind == "reduce_scatter":
            local = rank.reduce_scatter(local, st.axes, "sum", st.dim)
        elif st.kind == "all_reduce":
            local = rank.all_reduce(local, st.axes)
        else:  # pragma: no cover - plans only hold the kinds above
            raise CollectiveError(f"unknown plan step {st}")
    return local


def redistribute(rank, local, src: axe.Layout, dst: axe.Layout, shape) -> np.ndarray:
    """Move this rank's shard of a ``src``-distributed tensor to its ``dst`` shard (collectives as needed)."""
    check_shard(local, src, rank.mesh, rank.rank, shape)
    return _run(rank, np.asarray(local), plan_copy(src, dst, shape, rank.mesh))


def distributed_sum(rank, local, src: axe.Layout, shape, dim: int, dst: axe.Layout) -> np.ndarray:
    """Sum a ``src``-distributed tensor over ``dim`` into a ``dst``-distributed result.

    A dim spread over devices costs a local sum, then ``reduce_scatter`` (``dst`` sharded over those axes)
    or ``all_reduce`` (replicated).
    """
    check_shard(local, src, rank.mesh, rank.rank, shape)
    return _run(rank, np.asarray(local), plan_sum(src, shape, dim, dst, rank.mesh))
