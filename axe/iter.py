"""Iters (extent, stride, axis) and ``R[...]``, replica iters waiting to join a layout.

``AxisValue`` (``value @ axis``) lives in :mod:`axe.axis` and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import values
from .axis import Axis, AxisValue, OffsetOperand, m
from .errors import AxeError
from .printer import format_iters, format_value

__all__ = ["AxisValue", "Iter", "ReplicaSpec", "as_iter", "split_stride"]


def split_stride(stride, axis=None) -> tuple[values.Value, Axis]:
    """(value, Axis) from ``4``, ``4 @ lane``, or ``(4, "lane")``."""
    if isinstance(stride, AxisValue):
        if axis is not None and Axis.get(axis) != stride.axis:
            raise AxeError(f"stride {stride} given with a second axis {axis}")
        return stride.value, stride.axis
    return values.layout_value(stride, "stride"), (m if axis is None else Axis.get(axis))


@dataclass(frozen=True, slots=True)
class Iter:
    """A strided walk ``x -> (x * stride) @ axis`` for ``x`` in ``[0, extent)``.

    >>> import axe
    >>> it = axe.Iter(8, 4, "lane")
    >>> it.extent, it.stride, it.axis.name, str(it)
    (8, 4, 'lane', '8:4@lane')
    >>> axe.Iter(8, 4 @ axe.lane) == it
    True
    """

    extent: values.Value
    stride: values.Value
    axis: Axis = m

    def __init__(self, extent, stride=1, axis=None):
        if type(extent) is int and 1 <= extent <= values._LIMIT and axis is None and type(stride) is AxisValue:
            _SET_EXTENT(self, extent)  # fast path: S[(8, 4):(4 @ lane, 1 @ reg)]
            _SET_STRIDE(self, stride.value)
            _SET_AXIS(self, stride.axis)
            if type(stride.value) is not int or stride.value == 0:
                self.__init__(extent, stride.value, stride.axis)
            return
        e = values.layout_value(extent, "iter extent")
        if type(e) is int:
            if e < 1:
                raise AxeError(f"iter extent must be >= 1, got {e}")
        elif values.prove_le(1, e) is False:
            raise AxeError(f"iter extent must be >= 1, got {e}")
        s, a = split_stride(stride, axis)
        if (type(s) is int and s == 0) or (type(s) is not int and values.prove_eq(s, 0) is True):
            raise AxeError(
                f"iter stride must be nonzero (extent {e} on axis {a.name}); "
                "to replicate data use a replica iter R[...] instead of a zero stride"
            )
        object.__setattr__(self, "extent", e)
        object.__setattr__(self, "stride", s)
        object.__setattr__(self, "axis", a)

    @classmethod
    def _make(cls, extent, stride, axis: Axis) -> Iter:
        """Trusted constructor for already-validated values (hot paths)."""
        it = _new(cls)
        _SET_EXTENT(it, extent)
        _SET_STRIDE(it, stride)
        _SET_AXIS(it, axis)
        return it

    def __str__(self) -> str:
        return f"{format_value(self.extent)}:{format_value(self.stride, self.axis)}"

    def __repr__(self) -> str:
        return f"Iter({self.extent!r}, {self.stride!r}, {self.axis.name!r})"

    def __reduce__(self):
        return (Iter, (self.extent, self.stride, self.axis.name))


_new = object.__new__
_SET_EXTENT = Iter.__dict__["extent"].__set__
_SET_STRIDE = Iter.__dict__["stride"].__set__
_SET_AXIS = Iter.__dict__["axis"].__set__


def as_iter(it, what: str) -> Iter:
    """``it`` if it is an Iter, else an Iter from an ``(extent, stride[, axis])`` tuple."""
    if isinstance(it, Iter):
        return it
    if isinstance(it, tuple | list) and len(it) in (2, 3):
        return Iter(*it)
    raise AxeError(f"{what} must be Iter or (extent, stride[, axis]) tuples, got {it!r}")


class ReplicaSpec(OffsetOperand):
    """``R[...]``: replica iters waiting to be added to a layout with ``+``.

    ``Layout.__add__`` takes them; reaching ``__radd__`` means the left operand is not a layout.
    """

    __slots__ = ("iters",)

    def __init__(self, iters):
        self.iters = tuple([i if type(i) is Iter else as_iter(i, "replica iters") for i in iters])

    def __radd__(self, other):
        raise AxeError("R[...] must be added to a layout S[...]")

    def __add__(self, other):
        raise AxeError("write the shard part first: S[...] + R[...]")

    def __repr__(self):
        return f"R[{format_iters(self.iters)}]"
