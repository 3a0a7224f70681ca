"""``axe.S[...]`` and ``axe.R[...]``: Python spellings of the text syntax.

>>> import axe
>>> from axe import S, R, lane, warp
>>> L = S[(8, 4):(4 @ lane, 1 @ lane)] + R[2:(4 @ warp)] + 5 @ warp
>>> str(L)
'S[(8,4):(4@lane,1@lane)] + R[2:4@warp] + 5@warp'
"""

from __future__ import annotations

from . import values
from .axis import AxisValue, m
from .errors import AxeError
from .iter import Iter, ReplicaSpec
from .layout import Layout

_LIMIT = values.LIMIT
_make_iter = Iter._make


def _strided(ext, strides) -> tuple[tuple, tuple | None]:
    """The iters of ``S[(e0, ...):(s0, ...)]`` and, when all are ints, ``(size, sum |s|(e-1))`` for the
    64-bit check (``Layout._checked``); validated like ``Iter(e, s)``, with a fast path for ints."""
    out = []
    size = 1
    total = 0
    for e, s in zip(ext, strides):
        if type(e) is int and 1 <= e <= _LIMIT:
            if type(s) is AxisValue:
                v, axis = s.value, s.axis
            elif type(s) is int and -_LIMIT <= s <= _LIMIT:
                v, axis = s, m
            else:
                v = None
            if type(v) is int and v:
                out.append(_make_iter(e, v, axis))
                size *= e
                total += (e - 1) * (v if v > 0 else -v)
                continue
        out.append(Iter(e, s))
        total = None
    return tuple(out), (None if total is None else (size, total))


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
        return _strided(ext, strides)[0]
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
        if type(key) is slice and type(key.start) is tuple and type(key.stop) is tuple \
                and key.step is None and len(key.start) == len(key.stop):
            iters, fit = _strided(key.start, key.stop)  # fast path: S[(e0, ...):(s0, ...)]
            return Layout._make(iters)._checked(fit)
        return Layout._make(_iters(key, "S", True))._checked()

    def __repr__(self):
        return "axe.S"


class _ReplicaBuilder:
    def __getitem__(self, key):
        return ReplicaSpec(_iters(key, "R", False))

    def __repr__(self):
        return "axe.R"


S = _ShardBuilder()
R = _ReplicaBuilder()
