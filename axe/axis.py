"""Named axes: the hardware vocabulary layouts map into (memory, threads, devices)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .errors import AxeError

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
        return _AXIS_VALUE(v, self)

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
            with _LOCK:
                ax = _REGISTRY.setdefault(name, Axis(name, MEMORY, None))
        return ax


_AXIS_VALUE = None  # set by iter.py (AxisValue), which imports this module
_REGISTRY: dict[str, Axis] = {}
_ALIASES: dict[str, str] = {"laneid": "lane", "warpid": "warp", "wgid": "warpgroup"}
_LOCK = threading.Lock()


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
