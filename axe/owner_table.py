"""Vectorised ownership tables for compile-time checks: where every element of a layout lives, by numpy.

>>> import axe
>>> L = axe.Layout.parse("S[(2,4):(1@warp,1@lane)] + R[2:4@lane]")
>>> base_coords(L, ("warp", "lane"))[5].tolist(), replica_vectors(L, ("warp", "lane")).tolist()
([1, 1], [[0, 0], [0, 4]])
"""

from __future__ import annotations

import itertools

import numpy as np


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
    """``(R, len(axes))``: the distinct replica offsets on ``axes`` (the zero vector first)."""
    index = {a: i for i, a in enumerate(axes)}
    vecs = []
    for ks in itertools.product(*[range(it.extent) for it in layout.replica]):
        v = [0] * len(axes)
        for k, it in zip(ks, layout.replica):
            if it.axis.name in index:
                v[index[it.axis.name]] += k * it.stride
        vecs.append(tuple(v))
    uniq = list(dict.fromkeys(vecs)) or [tuple([0] * len(axes))]
    return np.array(uniq, np.int64).reshape(len(uniq), len(axes))
