"""Vectorised ownership tables for compile-time checks: where every element of a layout lives, by numpy.

>>> import axe
>>> L = axe.Layout.parse("S[(2,4):(1@warp,1@lane)] + R[2:4@lane]")
>>> base_coords(L, ("warp", "lane"))[5].tolist(), replica_vectors(L, ("warp", "lane")).tolist()
([1, 1], [[0, 0], [0, 4]])
"""

from __future__ import annotations

import itertools

import numpy as np

from .replicas import axis_sums


def base_coords(layout, axes) -> np.ndarray:
    """``(size, len(axes))``: the base (replica-free) coordinate of every flat logical index on ``axes``."""
    size = int(layout.size)
    x = np.arange(size, dtype=np.int64)
    out = np.zeros((size, len(axes)), np.int64)
    index = {a: i for i, a in enumerate(axes)}
    place = 1
    for it in reversed(layout.shard):
        col = index.get(it.axis.name)
        if col is not None:
            out[:, col] += (x // place) % it.extent * it.stride
        place *= it.extent
    for a, i in index.items():
        out[:, i] += layout.offset.get(a, 0)
    return out


def replica_vectors(layout, axes) -> np.ndarray:
    """``(R, len(axes))``: the distinct replica offsets on ``axes`` (the zero vector first).

    Listed without enumerating equal vectors (see :mod:`axe.replicas`); more than ``axe.layout.MAX_POINTS``
    of them is an ``AxeError``.
    """
    index = {a: i for i, a in enumerate(axes)}
    sums = axis_sums([it for it in layout.replica if it.axis.name in index], f"layout {layout}")
    uniq = []
    for combo in itertools.product(*[v for _, v in sums]):
        v = [0] * len(axes)
        for (name, _), d in zip(sums, combo):
            v[index[name]] = d
        uniq.append(v)
    return np.array(uniq, np.int64).reshape(len(uniq), len(axes))
