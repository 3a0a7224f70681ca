"""XOR swizzles (CuTe's ``Swizzle<B, M, S>``) and layouts composed with them.

A swizzle is outside the affine model: it permutes the addresses a layout produces on one memory axis,
``addr -> addr ^ ((addr & yyy_mask) >> S)`` where ``yyy_mask`` covers ``B`` bits starting at bit
``M + max(0, S)``. Shared-memory swizzles of 32/64/128 bytes use ``B = 1/2/3``, ``S = 3`` and ``M`` the
number of address bits inside a 16-byte chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

from .axis import Axis
from .coord import Coord
from .errors import AxeError
from .layout import Layout


@dataclass(frozen=True)
class Swizzle:
    """``Swizzle(bits, base, shift)``, point by point equal to CuTe's ``Swizzle<B, M, S>``.

    >>> sw = Swizzle(3, 3, 3)
    >>> [sw(x) for x in (0, 8, 64, 72, 520)]
    [0, 8, 72, 64, 520]
    """

    bits: int
    base: int
    shift: int

    def __post_init__(self):
        for name in ("bits", "base", "shift"):
            v = getattr(self, name)
            if type(v) is not int:
                raise AxeError(f"Swizzle {name} must be an int, got {v!r}")
        if self.bits < 0 or self.base < 0:
            raise AxeError(f"Swizzle bits and base must be >= 0, got {self}")
        if abs(self.shift) < self.bits:
            raise AxeError(f"Swizzle |shift| must be >= bits (source and target bits overlap), got {self}")

    @property
    def yyy_mask(self) -> int:
        return ((1 << self.bits) - 1) << (self.base + max(0, self.shift))

    def __call__(self, x: int) -> int:
        if type(x) is not int:
            raise AxeError(f"a swizzle applies to an int address, got {x!r}")
        if self.shift >= 0:
            return x ^ ((x & self.yyy_mask) >> self.shift)
        return x ^ ((x & self.yyy_mask) << -self.shift)

    def __str__(self) -> str:
        return f"Sw<{self.bits},{self.base},{self.shift}>"


def smem_swizzle(swizzle_bytes: int, dtype_bits: int) -> Swizzle:
    """The shared-memory swizzle of ``swizzle_bytes`` (32, 64, 128) for elements of ``dtype_bits``.

    >>> str(smem_swizzle(128, 16))
    'Sw<3,3,3>'
    """
    b = {32: 1, 64: 2, 128: 3}.get(swizzle_bytes)
    if b is None:
        raise AxeError(f"swizzle_bytes must be 32, 64 or 128, got {swizzle_bytes!r}")
    if dtype_bits not in (4, 8, 16, 32, 64):
        raise AxeError(f"dtype_bits must be one of 4, 8, 16, 32, 64, got {dtype_bits!r}")
    per_chunk = 128 // dtype_bits  # elements in 16 bytes
    return Swizzle(b, per_chunk.bit_length() - 1, 3)


class SwizzleLayout:
    """A layout followed by a swizzle of its addresses on one memory axis (default ``m``).

    >>> import axe
    >>> L = SwizzleLayout(axe.Layout.parse("S[(8,64):(64,1)]"), smem_swizzle(128, 16))
    >>> sorted(c["m"] for c in L.apply(1, 0, shape=(8, 64)))
    [72]
    """

    __slots__ = ("layout", "swizzle", "axis")

    def __init__(self, layout, swizzle: Swizzle, axis="m"):
        if not isinstance(layout, Layout):
            raise AxeError(f"SwizzleLayout needs an axe.Layout, got {type(layout).__name__}")
        if not isinstance(swizzle, Swizzle):
            raise AxeError(f"SwizzleLayout needs an axe.Swizzle, got {type(swizzle).__name__}")
        ax = Axis.get(axis)
        if not ax.is_memory:
            raise AxeError(f"a swizzle permutes memory addresses; {ax.name!r} is a {ax.kind} axis")
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "swizzle", swizzle)
        object.__setattr__(self, "axis", ax)

    def __setattr__(self, k, v):
        raise AttributeError("SwizzleLayout is immutable")

    @property
    def size(self):
        return self.layout.size

    def _swz(self, c: Coord) -> Coord:
        d = dict(c)
        name = self.axis.name
        if name in d:
            d[name] = self.swizzle(d[name])
        return Coord(d)

    def apply(self, *coord, shape=None) -> frozenset:
        """The set of coordinates, with the swizzle applied to the memory axis."""
        return frozenset(self._swz(c) for c in self.layout.apply(*coord, shape=shape))

    def apply_base(self, *coord, shape=None) -> Coord:
        return self._swz(self.layout.apply_base(*coord, shape=shape))

    def __eq__(self, other):
        return (isinstance(other, SwizzleLayout) and self.layout == other.layout
                and self.swizzle == other.swizzle and self.axis == other.axis)

    def __hash__(self):
        return hash((self.layout, self.swizzle, self.axis))

    def __str__(self) -> str:
        on = "" if self.axis.name == "m" else f"@{self.axis.name}"
        return f"{self.swizzle}{on} o {self.layout}"

    def __repr__(self) -> str:
        return f"SwizzleLayout({self.layout!r}, {self.swizzle!r}, {self.axis.name!r})"
