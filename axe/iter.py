"""Iters (extent, stride, axis) and ``value @ axis`` scaled axis values."""

from __future__ import annotations

from dataclasses import dataclass

from . import axis as _axis_module
from . import values as V
from .axis import Axis, m
from .errors import AxeError


class AxisValue:
    """``n @ axis``: the vector holding ``n`` on ``axis`` and 0 elsewhere.

    >>> import axe
    >>> v = 4 @ axe.lane
    >>> v.value, v.axis.name
    (4, 'lane')
    """

    __slots__ = ("value", "axis")

    def __init__(self, value, axis):
        if type(value) is not int or not -V._LIMIT <= value <= V._LIMIT:
            value = V.value(value, "axis value")
        _SET_AV_VALUE(self, value)
        _SET_AV_AXIS(self, axis if type(axis) is Axis else Axis.get(axis))

    def __setattr__(self, k, v):
        raise AttributeError("AxisValue is immutable")

    def __eq__(self, other):
        return isinstance(other, AxisValue) and self.value == other.value and self.axis == other.axis

    def __hash__(self):
        return hash((self.value, self.axis))

    def __repr__(self) -> str:
        return f"AxisValue({self.value!r}, {self.axis.name!r})"

    def __reduce__(self):
        return (AxisValue, (self.value, self.axis.name))

    def __str__(self) -> str:
        from .printer import format_value

        return format_value(self.value, self.axis)

    def __neg__(self) -> AxisValue:
        return AxisValue(-self.value, self.axis)

    def __add__(self, other):
        from .layout import Offset

        return Offset.of(self) + other

    __radd__ = __add__


_axis_module._AXIS_VALUE = AxisValue
_SET_AV_VALUE = AxisValue.value.__set__
_SET_AV_AXIS = AxisValue.axis.__set__


def split_stride(stride, axis=None) -> tuple[V.Value, Axis]:
    """(value, Axis) from ``4``, ``4 @ lane``, or ``(4, "lane")``."""
    if isinstance(stride, AxisValue):
        if axis is not None and Axis.get(axis) != stride.axis:
            raise AxeError(f"stride {stride} given with a second axis {axis}")
        return stride.value, stride.axis
    return V.value(stride, "stride"), (m if axis is None else Axis.get(axis))


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

    extent: V.Value
    stride: V.Value
    axis: Axis = m

    def __init__(self, extent, stride=1, axis=None):
        if type(extent) is int and 1 <= extent <= V._LIMIT and axis is None and type(stride) is AxisValue:
            _SET_EXTENT(self, extent)  # fast path: S[(8, 4):(4 @ lane, 1 @ reg)]
            _SET_STRIDE(self, stride.value)
            _SET_AXIS(self, stride.axis)
            if type(stride.value) is not int or stride.value == 0:
                self.__init__(extent, stride.value, stride.axis)
            return
        e = V.value(extent, "iter extent")
        if type(e) is int:
            if e < 1:
                raise AxeError(f"iter extent must be >= 1, got {e}")
        elif V.prove_le(1, e) is False:
            raise AxeError(f"iter extent must be >= 1, got {e}")
        s, a = split_stride(stride, axis)
        if (type(s) is int and s == 0) or (type(s) is not int and V.prove_eq(s, 0) is True):
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
        from .printer import format_value

        return f"{format_value(self.extent)}:{format_value(self.stride, self.axis)}"

    def __repr__(self) -> str:
        return f"Iter({self.extent!r}, {self.stride!r}, {self.axis.name!r})"

    def __reduce__(self):
        return (Iter, (self.extent, self.stride, self.axis.name))


_new = object.__new__
_SET_EXTENT = Iter.__dict__["extent"].__set__
_SET_STRIDE = Iter.__dict__["stride"].__set__
_SET_AXIS = Iter.__dict__["axis"].__set__
