"""Coordinates in Z^A: read-only, hashable mappings axis name -> value."""

from __future__ import annotations

from collections.abc import Mapping


class Coord(Mapping):
    """A point of the multi-axis coordinate space.

    It lists every axis its layout mentions (zeros included) but compares and hashes as a
    vector of Z^A: missing axes count as 0, so ``Coord(lane=3) == {"lane": 3, "warp": 0}`` and
    ``Coord(lane=3)["warp"] == 0`` (iteration and ``in`` cover the mentioned axes only).

    >>> c = Coord({"lane": 31, "warp": 6, "reg": 1})
    >>> c["lane"], c == {"lane": 31, "warp": 6, "reg": 1, "m": 0}
    (31, True)
    """

    __slots__ = ("_d", "_h")

    def __init__(self, items=(), **kw):
        d = dict(items)
        if kw:
            d.update(kw)
        self._d = d
        self._h = None

    @classmethod
    def _of(cls, d: dict) -> Coord:
        """Trusted constructor that takes ownership of ``d``."""
        c = object.__new__(cls)
        c._d = d
        c._h = None
        return c

    def __getitem__(self, k):
        # A coordinate is a total vector on Z^A: axes it does not mention are 0.
        v = self._d.get(k)
        if v is None:
            if not isinstance(k, str):
                raise KeyError(k)
            return 0
        return v

    def get(self, k, default=0):
        return self._d.get(k, default)

    def __contains__(self, k):
        return k in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def _nonzero(self):
        return frozenset((k, v) for k, v in self._d.items() if v != 0)

    def __hash__(self):
        h = self._h
        if h is None:
            h = self._h = hash(self._nonzero())
        return h

    def __eq__(self, other):
        if isinstance(other, Coord):
            return self._nonzero() == other._nonzero()
        if isinstance(other, Mapping):
            return self._nonzero() == frozenset((k, v) for k, v in other.items() if v != 0)
        return NotImplemented

    def __repr__(self):
        inner = ", ".join(f"{k}={v}" for k, v in self._d.items())
        return f"Coord({inner})"

    def __reduce__(self):
        return (Coord, (self._d,))
