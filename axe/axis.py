"""Named axes (the hardware vocabulary layouts map into), ``n @ axis`` values and their sums.

:class:`Axis`, :class:`AxisValue` and :class:`Offset` live together because they refer to one
another: ``n @ axis`` (``Axis.__rmatmul__``) makes an ``AxisValue``, a sum of axis values is an
``Offset``, and both resolve axis names through the registry here.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from . import values
from .coord import Coord
from .errors import AxeError
from .printer import format_value

MEMORY, THREAD, DEVICE = "memory", "thread", "device"
KINDS = (MEMORY, THREAD, DEVICE)

# Hierarchy levels of thread and device axes (lower = finer).
LEVELS = {"lane": 0, "warp": 1, "warpgroup": 2, "cta": 3, "cluster": 4, "gpuid": 5}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Axis:
    """A named axis of the coordinate space Z^A.

    ``kind`` is ``"memory"``, ``"thread"`` or ``"device"``; thread and device axes carry a
    ``level`` in the hierarchy lane < warp < warpgroup < cta < cluster < gpuid.

    >>> import axe
    >>> axe.lane.kind, axe.lane.level, str(axe.Axis.get("laneid"))
    ('thread', 0, 'lane')
    """

    name: str
    kind: str = MEMORY
    level: int | None = None

    def __str__(self) -> str:
        return self.name

    def __rmatmul__(self, v):
        if type(v) is int and -values.LIMIT <= v <= values.LIMIT:  # fast path: 4 @ lane
            av = _new(AxisValue)
            _SET_AV_VALUE(av, v)
            _SET_AV_AXIS(av, self)
            return av
        return AxisValue(v, self)

    @property
    def is_memory(self) -> bool:
        return self.kind == MEMORY

    @property
    def is_thread(self) -> bool:
        return self.kind == THREAD

    @property
    def is_device(self) -> bool:
        return self.kind == DEVICE

    @staticmethod
    def get(name: str | Axis) -> Axis:
        """The registered axis called ``name`` (aliases resolved).

        An unknown, well-formed name is registered on the fly as a memory axis, so layout text
        may use any axis name; register device or thread axes first with :func:`register_axis`.
        A name that looks like a typo of a declared axis (a built-in one, an alias, or one given to
        :func:`register_axis`) is refused instead, with a suggestion; register it to use it.

        >>> Axis.get("warpp")
        Traceback (most recent call last):
        ...
        axe.errors.AxeError: unknown axis 'warpp'; did you mean 'warp'? (axe.register_axis('warpp') declares a new axis)
        """
        if isinstance(name, Axis):
            return name
        if not isinstance(name, str):
            raise AxeError(f"axis must be an Axis or a name, got {type(name).__name__} {name!r}")
        name = _ALIASES.get(name, name)
        ax = _REGISTRY.get(name)
        if ax is None:
            if not _NAME.match(name):
                raise AxeError(f"invalid axis name {name!r}")
            close = suggest_axis(name)
            if close is not None:
                raise AxeError(f"unknown axis {name!r}; did you mean {close!r}? "
                               f"(axe.register_axis({name!r}) declares a new axis)")
            with _LOCK:
                ax = _REGISTRY.setdefault(name, Axis(name, MEMORY, None))
        return ax


_REGISTRY: dict[str, Axis] = {}
_ALIASES: dict[str, str] = {"laneid": "lane", "warpid": "warp", "wgid": "warpgroup"}
_DECLARED: set[str] = set(_ALIASES)  # built-in, alias and register_axis names: what a typo is near
_LOCK = threading.Lock()
SUGGEST_CUTOFF = 0.75  # difflib similarity above which an unknown name is taken for a typo


def suggest_axis(name: str) -> str | None:
    """The declared axis name (built-in, alias or registered) that ``name`` looks like a typo of, or None.

    A typo differs from a declared name only in case, or is close to it by :mod:`difflib`'s measure
    (``SUGGEST_CUTOFF``) and at least 3 characters long; a declared name extended with ``_suffix`` or
    digits (``gpuid_x``, ``cta0``) is taken as meant.

    >>> suggest_axis("lan"), suggest_axis("Warp"), suggest_axis("tx"), suggest_axis("gpuid_x")
    ('lane', 'warp', None, None)
    """
    if name in _DECLARED:
        return None
    names = sorted(_DECLARED)
    low = name.lower()
    for n in names:
        if len(name) > 1 and n.lower() == low:
            return n
    if len(name) < 3 or any(_extends(name, n) for n in names):
        return None
    close = difflib.get_close_matches(name, names, n=1, cutoff=SUGGEST_CUTOFF)
    return close[0] if close else None


def _extends(name: str, base: str) -> bool:
    rest = name[len(base):] if name.startswith(base) else ""
    return bool(rest) and (rest[0] == "_" or rest.isdigit())


def register_axis(name: str, kind: str = MEMORY, level: int | None = None) -> Axis:
    """Register a named axis (e.g. a mesh axis ``dp`` of kind ``"device"``) and return it.

    Re-registering the same name with the same kind is a no-op; a different kind is an error.

    >>> import axe
    >>> tp = axe.register_axis("tp", kind="device")
    >>> tp.kind, tp.level
    ('device', 5)
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise AxeError(f"invalid axis name {name!r}")
    if kind not in KINDS:
        raise AxeError(f"axis {name!r}: kind must be one of {KINDS}, got {kind!r}")
    if name in _ALIASES:
        raise AxeError(f"axis name {name!r} is an alias of {_ALIASES[name]!r}")
    if kind == MEMORY:
        level = None
    elif level is None:
        level = LEVELS["gpuid"] if kind == DEVICE else LEVELS.get(name, 0)
    ax = Axis(name, kind, level)
    with _LOCK:
        old = _REGISTRY.get(name)
        if old is not None and old != ax:
            if name in _BUILTIN or old.kind != MEMORY:
                raise AxeError(f"axis {name!r} is already registered as {old.kind} (level {old.level})")
        _REGISTRY[name] = ax
        _DECLARED.add(name)
    return ax


_BUILTIN = {
    "m": (MEMORY, None),
    "reg": (MEMORY, None),
    "P": (MEMORY, None),
    "F": (MEMORY, None),
    "tlane": (MEMORY, None),
    "tcol": (MEMORY, None),
    "lane": (THREAD, 0),
    "warp": (THREAD, 1),
    "warpgroup": (THREAD, 2),
    "cta": (THREAD, 3),
    "cluster": (THREAD, 4),
    "gpuid": (DEVICE, 5),
}
for _n, (_k, _l) in _BUILTIN.items():
    _REGISTRY[_n] = Axis(_n, _k, _l)
    _DECLARED.add(_n)

m = _REGISTRY["m"]
reg = _REGISTRY["reg"]
P = _REGISTRY["P"]
F = _REGISTRY["F"]
tlane = _REGISTRY["tlane"]
tcol = _REGISTRY["tcol"]
lane = laneid = _REGISTRY["lane"]
warp = warpid = _REGISTRY["warp"]
warpgroup = _REGISTRY["warpgroup"]
cta = _REGISTRY["cta"]
cluster = _REGISTRY["cluster"]
gpuid = _REGISTRY["gpuid"]


class AxisValue:
    """``n @ axis``: the vector holding ``n`` on ``axis`` and 0 elsewhere.

    >>> import axe
    >>> v = 4 @ axe.lane
    >>> v.value, v.axis.name
    (4, 'lane')
    """

    __slots__ = ("value", "axis")

    def __init__(self, value, axis):
        if type(value) is not int or not -values._LIMIT <= value <= values._LIMIT:
            value = values.layout_value(value, "axis value")
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
        return format_value(self.value, self.axis)

    def __neg__(self) -> AxisValue:
        return AxisValue(-self.value, self.axis)

    def __add__(self, other):
        return Offset.of(self) + other

    __radd__ = __add__


_new = object.__new__
_SET_AV_VALUE = AxisValue.value.__set__
_SET_AV_AXIS = AxisValue.axis.__set__


class OffsetOperand:
    """Base of the non-offset things written with ``+`` (a layout, ``R[...]``).

    ``offset + x`` returns ``NotImplemented`` for these, so ``x`` (its ``__radd__``, or Python's
    ``TypeError``) decides, rather than ``x`` being read as an offset.
    """

    __slots__ = ()


class Offset(Coord):
    """A fixed coordinate O, built by adding ``n @ axis`` terms; ints go to ``m``.

    >>> import axe
    >>> dict(Offset.of(5 @ axe.warp) + 3)
    {'warp': 5, 'm': 3}
    """

    __slots__ = ()

    @staticmethod
    def of(v) -> Offset:
        return Offset(_offset_items(v))

    def __add__(self, other):
        if isinstance(other, OffsetOperand):
            return NotImplemented
        d = dict(self._d)
        for k, v in _offset_items(other).items():
            d[k] = values.add(d.get(k, 0), v)
        return Offset({k: v for k, v in d.items() if not is_zero(v)})

    __radd__ = __add__


def is_zero(v) -> bool:
    """``v == 0`` for an int, provably zero for a symbolic value."""
    return v == 0 if type(v) is int else values.prove_eq(v, 0) is True


def _offset_items(o) -> dict:
    if o is None:
        return {}
    if isinstance(o, AxisValue):
        return {o.axis.name: o.value}
    if isinstance(o, Mapping):
        out = {}
        for k, v in o.items():
            name = Axis.get(k).name
            out[name] = values.add(out.get(name, 0), values.layout_value(v, f"offset on {name}"))
        return out
    if isinstance(o, tuple | list):
        out: dict = {}
        for x in o:
            for k, v in _offset_items(x).items():
                out[k] = values.add(out.get(k, 0), v)
        return out
    return {m.name: values.layout_value(o, "offset")}
