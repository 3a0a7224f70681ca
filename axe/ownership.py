"""Who owns what: invert the owner (thread/device) part of a layout for code generation.

``layout.partition(axes)`` answers, for an owner with coordinates on ``axes`` (e.g. a thread's
``lane`` and ``warp``), which logical elements it holds and where it stores them, as closed-form
index arithmetic so a code generator can emit one loop per owner with no search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from . import values
from .axis import Axis, Offset
from .coord import Coord
from .errors import AxeError

_ENUMERATION_LIMIT = 1 << 22


@dataclass(frozen=True)
class _Digit:
    """One iter on an owner axis: its stride (made positive), extent, and D position (None: replica)."""

    stride: values.Value
    extent: values.Value
    position: int | None
    flipped: bool


def _is_int(*vs) -> bool:
    return all(type(v) is int for v in vs)


class Partition:
    """The view of a layout from its owners along ``axes`` (see :func:`partition`).

    >>> import axe
    >>> p = axe.Layout.parse("S[(8,4,2):(4@lane,1@lane,1@reg)]").partition("lane")
    >>> str(p.local), p.num_local, [p.logical_index(k, lane=5) for k in range(2)]
    ('S[2:1@reg]', 2, [10, 11])
    """

    __slots__ = ("layout", "axes", "local", "_digits", "_base", "_places", "_local_positions", "_local_places")

    def __init__(self, layout, axes: tuple[str, ...]):
        self.layout = layout
        self.axes = axes
        owner = set(axes)
        shard = layout.shard
        places = [1] * len(shard)
        for i in range(len(shard) - 2, -1, -1):
            places[i] = values.prod([places[i + 1], shard[i + 1].extent])
        self._places = places
        self._local_positions = tuple(i for i, it in enumerate(shard) if it.axis.name not in owner)
        local_iters = tuple(shard[i] for i in self._local_positions)
        lp = [1] * len(local_iters)
        for i in range(len(local_iters) - 2, -1, -1):
            lp[i] = values.prod([lp[i + 1], local_iters[i + 1].extent])
        self._local_places = lp
        local_rep = tuple(it for it in layout.replica if it.axis.name not in owner)
        local_off = Offset({k: v for k, v in layout.offset.items() if k not in owner})
        self.local = type(layout)._make(local_iters, local_rep, local_off)
        self._digits = {}
        self._base = {}
        for a in axes:
            digits, base = [], layout.offset.get(a, 0)
            for pos, it in enumerate(shard):
                if it.axis.name == a and it.extent != 1:
                    digits.append((it, pos))
            for it in layout.replica:
                if it.axis.name == a and it.extent != 1:
                    digits.append((it, None))
            out = []
            for it, pos in digits:
                flipped = values.is_negative(it.stride)
                s = values.absval(it.stride)
                if flipped:  # d*s == (e-1)*s + d'*|s| with d' = e-1-d
                    base = values.add(base, values.mul(values.add(it.extent, -1), it.stride))
                out.append(_Digit(s, it.extent, pos, flipped))
            out.sort(key=lambda d: (0, d.stride) if type(d.stride) is int else (1, str(d.stride)))
            for lo, hi in zip(out, out[1:]):
                ok_div = values.prove_divides(lo.stride, hi.stride)
                ok_gap = values.prove_le(values.mul(lo.stride, lo.extent), hi.stride)
                if ok_div is not True or ok_gap is not True:
                    raise AxeError(
                        f"the owner part of {layout} on axis {a!r} is not invertible: iters of stride "
                        f"{lo.stride} (extent {lo.extent}) and {hi.stride} (extent {hi.extent}) "
                        "do not form a mixed radix (each stride must divide the next and not overlap)")
            self._digits[a] = tuple(out)
            self._base[a] = base

    @property
    def num_local(self):
        """Elements each owner holds (``local.size``)."""
        return self.local.size

    @property
    def owner_extents(self) -> dict:
        """Axis -> ``(lo, hi)``: owners outside ``[lo, hi)`` hold nothing."""
        out = {}
        for a in self.axes:
            lo = self._base[a]
            span = 1
            for d in self._digits[a]:
                span = values.add(span, values.mul(d.stride, values.add(d.extent, -1)))
            out[a] = (lo, values.add(lo, span))
        return out

    def _coords(self, coords: dict) -> dict:
        out = {}
        for k, v in coords.items():
            name = Axis.get(k).name
            if name not in self.axes:
                raise AxeError(f"partition over {self.axes} got a coordinate on axis {name!r}")
            out[name] = v if isinstance(v, sympy.Basic) else values.value(v, f"coordinate {name}")
        missing = [a for a in self.axes if a not in out]
        if missing:
            raise AxeError(f"partition over {self.axes} needs coordinates for {missing}")
        return out

    def _solve(self, a, c):
        """(digit values by D position, list of conditions) for owner coordinate ``c`` on axis ``a``."""
        rel = c - self._base[a] if _is_int(c, self._base[a]) else sympy.sympify(c) - self._base[a]
        digits = self._digits[a]
        found, conds = {}, []
        if not digits:
            conds.append(sympy.Eq(rel, 0) if not _is_int(rel) else rel == 0)
            return found, conds
        first = digits[0].stride
        if _is_int(rel, first):
            conds.append(rel >= 0 and rel % first == 0)
        else:
            conds += [sympy.sympify(rel) >= 0, sympy.Eq(sympy.Mod(rel, first), 0)]
        for j, d in enumerate(digits):
            q = values.floordiv(rel, d.stride)
            if j + 1 < len(digits):
                radix = values.exact_div(digits[j + 1].stride, d.stride)
                q = values.mod(q, radix)
            if _is_int(q, d.extent):
                conds.append(q < d.extent)
            else:
                conds.append(sympy.sympify(q) < d.extent)
            if d.position is not None:
                v = q
                if d.flipped:
                    v = values.add(values.add(d.extent, -1), values.neg(q))
                found[d.position] = v
        return found, conds

    def owns(self, **coords):
        """Whether the owner at ``coords`` holds data: a bool, or a sympy condition for symbols."""
        cs = self._coords(coords)
        conds = []
        for a in self.axes:
            conds += self._solve(a, cs[a])[1]
        if all(isinstance(c, bool) for c in conds):
            return all(conds)
        cond = sympy.And(*[sympy.true if c is True else sympy.false if c is False else c for c in conds])
        return bool(cond) if cond in (sympy.true, sympy.false) else cond

    def logical_index(self, k, **coords):
        """The flat logical index that the owner at ``coords`` holds in local slot ``k``.

        The result is meaningful where :meth:`owns` holds.
        """
        cs = self._coords(coords)
        k = k if isinstance(k, sympy.Basic) else values.value(k, "local index")
        if _is_int(k) and _is_int(self.num_local) and not 0 <= k < self.num_local:
            raise AxeError(f"local index {k} is out of range [0, {self.num_local})")
        digits: dict = {}
        for a in self.axes:
            digits.update(self._solve(a, cs[a])[0])
        n_local = len(self._local_positions)
        for j, pos in enumerate(self._local_positions):
            q = k if self._local_places[j] == 1 else values.floordiv(k, self._local_places[j])
            digits[pos] = q if j == 0 else values.mod(q, self.layout.shard[pos].extent)
        if n_local == 0 and not (_is_int(k) and k == 0) and not isinstance(k, sympy.Basic):
            raise AxeError("this owner holds one element: local index must be 0")
        x = 0
        for pos, place in enumerate(self._places):
            d = digits.get(pos, 0)
            x = x + d * place if _is_int(x, d, place) else values.simplify(sympy.sympify(x) + sympy.sympify(d) * place)
        return x

    def __repr__(self) -> str:
        return f"Partition({self.layout}, axes={self.axes}, local={self.local})"


def _axes(axes) -> tuple[str, ...]:
    if isinstance(axes, str | Axis):
        axes = (axes,)
    try:
        names = tuple(Axis.get(a).name for a in axes)
    except TypeError:
        raise AxeError(f"partition axes must be axis names, got {axes!r}") from None
    if len(set(names)) != len(names):
        raise AxeError(f"partition axes repeat: {names}")
    return names


def partition(layout, axes) -> Partition:
    """The local view of ``layout`` for each owner along ``axes``.

    Owner iters (on ``axes``, in D or R) are inverted as a mixed radix per axis; the other iters form
    ``p.local`` (in D order, so local slot k walks them row-major). Raises ``AxeError`` naming the axis when
    the owner part is not invertible.

    >>> import axe
    >>> L = axe.Layout.parse("S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp")
    >>> p = L.partition(("lane", "warp"))
    >>> p.owns(lane=31, warp=10), p.owns(lane=0, warp=7), [p.logical_index(k, lane=31, warp=10) for k in (0, 1)]
    (True, False, [126, 127])
    """
    return Partition(layout, _axes(axes))


def _points(layout):
    if not _is_int(layout.size, layout.replica_size):
        raise values.UnprovableError(f"cannot enumerate the symbolic layout {layout}; bind its symbols first")
    if layout.size * layout.replica_size > _ENUMERATION_LIMIT:
        raise AxeError(f"layout {layout} has too many points to enumerate ({layout.size * layout.replica_size})")
    for x in range(layout.size):
        for c in layout.apply(x):
            yield x, c


def owned_by(layout, **coords) -> dict:
    """Logical index -> storage coordinate (the axes not named) for the owner at ``coords``.

    Axes of the layout that are not named are unconstrained (they appear in the storage coordinate).
    With replicas on unnamed axes an index maps to its base storage coordinate.

    >>> import axe
    >>> L = axe.Layout.parse("S[(8,4,2):(4@lane,1@lane,1@reg)]")
    >>> {x: dict(c) for x, c in L.owned_by(lane=5).items()}
    {10: {'reg': 0}, 11: {'reg': 1}}
    """
    names = _axes(tuple(coords))
    want = {Axis.get(k).name: values.value(v, f"coordinate {k}") for k, v in coords.items()}
    try:
        p = Partition(layout, names)
    except AxeError:
        p = None
    if p is not None and _is_int(p.num_local):
        if not p.owns(**want):
            return {}
        return {p.logical_index(k, **want): p.local.apply_base(k) for k in range(p.num_local)}
    out: dict = {}
    for x, c in _points(layout):  # non-invertible owner part: search
        if all(c[a] == v for a, v in want.items()) and x not in out:
            out[x] = Coord({k: v for k, v in c.items() if k not in want})
    return out


def is_injective(layout) -> bool:
    """Distinct (index, replica) pairs land on distinct coordinates.

    >>> import axe
    >>> axe.Layout.parse("S[(4,4):(4,1)]").is_injective(), axe.Layout.parse("S[(4,4):(1,1)]").is_injective()
    (True, False)
    """
    seen = {c for _, c in _points(layout)}
    return len(seen) == layout.size * layout.replica_size  # apply collapses equal replica vectors


def is_surjective_onto(layout, axis_extents) -> bool:
    """Every coordinate of the box ``{axis: extent}`` (values ``0..extent-1``) is reached.

    >>> import axe
    >>> axe.Layout.parse("S[(8,4):(4@lane,1@lane)]").is_surjective_onto({"lane": 32})
    True
    """
    try:
        box = {Axis.get(a).name: values.value(e, f"extent of {a}") for a, e in dict(axis_extents).items()}
    except (TypeError, ValueError) as e:
        if isinstance(e, AxeError):
            raise
        raise AxeError(f"axis_extents must map axis names to extents, got {axis_extents!r}") from None
    reached = {tuple(c[a] for a in box) for _, c in _points(layout)}
    return all(pt in reached for pt in itertools.product(*[range(e) for e in box.values()]))


def image(layout, axis=None):
    """The set of values on ``axis``, or the set of all coordinates when ``axis`` is None.

    >>> import axe
    >>> sorted(axe.Layout.parse("S[4:2@lane] + R[2:1@warp]").image("lane"))
    [0, 2, 4, 6]
    """
    if axis is None:
        return frozenset(c for _, c in _points(layout))
    name = Axis.get(axis).name
    return frozenset(c[name] for _, c in _points(layout))
