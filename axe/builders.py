"""``axe.S[...]`` and ``axe.R[...]``: Python spellings of the text syntax.

>>> import axe
>>> from axe import S, R, lane, warp
>>> L = S[(8, 4):(4 @ lane, 1 @ lane)] + R[2:(4 @ warp)] + 5 @ warp
>>> str(L)
'S[(8,4):(4@lane,1@lane)] + R[2:4@warp] + 5@warp'
"""

from __future__ import annotations

from . import values
from .errors import AxeError
from .iter import Iter, ReplicaSpec
from .layout import Layout


def _iters(key, what: str, allow_plain: bool) -> tuple:
    if isinstance(key, slice):
        if key.step is not None:
            raise AxeError(f"{what}[extents:strides] takes one colon")
        ext, strides = key.start, key.stop
        if ext is None or strides is None:
            raise AxeError(f"{what}[extents:strides] needs both parts")
        if not isinstance(ext, tuple | list):
            if isinstance(strides, tuple | list):
                raise AxeError(f"{what}: one extent {ext!r} but several strides {strides!r}")
            return (Iter(ext, strides),)
        if not isinstance(strides, tuple | list) or len(strides) != len(ext):
            raise AxeError(f"{what}: extents {ext!r} and strides {strides!r} must have the same length")
        return tuple([Iter(e, s) for e, s in zip(ext, strides)])
    if not allow_plain:
        raise AxeError(f"{what}[...] needs strides: {what}[extent:stride@axis]")
    exts = key if isinstance(key, tuple | list) else (key,)
    iters, stride = [], 1
    for e in reversed(exts):
        iters.append(Iter(e, stride))
        stride = values.prod([stride, e])
    return tuple(iters[::-1])


class _ShardBuilder:
    def __getitem__(self, key):
        return Layout._make(_iters(key, "S", True))

    def __repr__(self):
        return "axe.S"


class _ReplicaBuilder:
    def __getitem__(self, key):
        return ReplicaSpec(_iters(key, "R", False))

    def __repr__(self):
        return "axe.R"


S = _ShardBuilder()
R = _ReplicaBuilder()
