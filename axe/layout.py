"""The Axe layout L = (D, R, O): a map from a logical index to a *set* of coordinates.

``L(x) = { D(x) + r + O : r in R }`` where D is an ordered list of shard iters (row-major
unflattening, last iter fastest), R a multiset of replica iters and O a fixed offset.

The operations behind :class:`Layout`'s methods live in modules below this one (canonical, group,
slicing, ownership, printer, syntax); they take a layout and build results with
``type(layout)._make``, so they never import this module. Modules that build layouts from scratch
(builders, tile, cute, mesh, presets, ...) sit above it and import :class:`Layout`.
"""

from __future__ import annotations

import functools
import itertools
import operator

import sympy

from . import values
from .axis import Axis, AxisValue, Offset, OffsetOperand, is_zero
from .canonical import canonicalize as _canonicalize
from .coord import Coord
from .errors import AxeError
from .group import group as _group
from .iter import Iter, ReplicaSpec, as_iter
from .ownership import Partition
from .ownership import image as _image
from .ownership import is_injective as _is_injective
from .ownership import is_surjective_onto as _is_surjective_onto
from .ownership import owned_by as _owned_by
from .ownership import partition as _partition
from .printer import format_layout
from .slicing import slice_layout as _slice_layout
from .syntax import parse_parts

__all__ = ["Layout", "Offset", "ReplicaSpec", "parse_layout"]


class Layout(OffsetOperand):
    """An Axe layout ``(shard D, replica R, offset O)``; immutable and hashable.

    ``==`` and ``hash`` are semantic (equal canonical forms); :meth:`same_as` is structural.

    >>> import axe
    >>> L = axe.Layout.parse("S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp")
    >>> sorted(c["warp"] for c in L.apply(7, 15, shape=(8, 16)))
    [6, 10]
    >>> L.size
    128
    """

    __slots__ = ("shard", "replica", "offset", "_canon", "_hash", "_plan")

    def __init__(self, shard, replica=(), offset=None):
        if isinstance(shard, str):
            other = Layout.parse(shard)
            shard, replica, offset = other.shard, other.replica + tuple(replica), \
                Offset(other.offset) + Offset.of(offset)
        if isinstance(shard, Iter):
            shard = (shard,)
        if isinstance(replica, Iter):
            replica = (replica,)
        try:
            shard = tuple(as_iter(i, "shard iters") for i in shard)
            replica = tuple(as_iter(i, "replica iters") for i in replica)
        except TypeError:
            raise AxeError(f"shard and replica must be sequences of Iter, got {shard!r}, {replica!r}") from None
        off = offset if isinstance(offset, Offset) else Offset.of(offset)
        off = Offset({k: off[k] for k in sorted(off) if not is_zero(off[k])})
        self._init(shard, replica, off)

    def _init(self, shard, replica, offset):
        _SET_SHARD(self, shard)
        _SET_REPLICA(self, replica)
        _SET_OFFSET(self, offset)
        _SET_CANON(self, None)
        _SET_HASH(self, None)
        _SET_PLAN(self, None)

    @classmethod
    def _make(cls, shard: tuple, replica: tuple = (), offset: Offset | None = None) -> Layout:
        """Trusted constructor: iters already validated, offset already normalised."""
        obj = object.__new__(cls)
        obj._init(shard, replica, offset if offset is not None else _EMPTY_OFFSET)
        return obj

    def __setattr__(self, k, v):
        raise AttributeError("Layout is immutable")

    def __reduce__(self):
        return (Layout, (self.shard, self.replica, dict(self.offset)))

    # ---- text --------------------------------------------------------------------------
    @staticmethod
    def parse(text: str) -> Layout:
        """Parse the text syntax, e.g. ``"S[(8,4):(4@lane,1)] + R[2:4@warp] + 5@warp"``.

        >>> str(Layout.parse("S[8:2@laneid]"))
        'S[8:2@lane]'
        """
        return parse_layout(text)

    def __str__(self) -> str:
        return format_layout(self)

    def __repr__(self) -> str:
        return f"Layout({str(self)!r})"

    # ---- builders ----------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, ReplicaSpec):
            return Layout._make(self.shard, self.replica + other.iters, self.offset)
        if isinstance(other, Layout):
            raise AxeError("layouts do not add; use axe.tile or axe.direct_sum to combine two layouts")
        if type(other) is AxisValue and type(other.value) is int and not self.offset:
            if other.value == 0:
                return self
            return Layout._make(self.shard, self.replica, Offset({other.axis.name: other.value}))
        off = self.offset + other
        return Layout._make(self.shard, self.replica, Offset({k: off[k] for k in sorted(off)}))

    # ---- basic facts -------------------------------------------------------------------
    @property
    def size(self) -> values.Value:
        """E_D: the number of logical elements (product of shard extents)."""
        return values.prod(it.extent for it in self.shard)

    @property
    def replica_size(self) -> values.Value:
        """E_R: the number of replica combinations (1 when R is empty)."""
        return values.prod(it.extent for it in self.replica)

    @property
    def axes(self) -> tuple[str, ...]:
        """Names of the axes this layout mentions, in order of first appearance."""
        seen: dict[str, None] = {}
        for it in self.shard + self.replica:
            seen.setdefault(it.axis.name)
        for k in self.offset:
            seen.setdefault(k)
        return tuple(seen)

    def span(self, axis=None):
        """Per-axis span ``1 + sum |s|(e-1)`` over D and R (App. C); 1 for unused axes.

        With no argument, a mapping axis name -> span for every axis the layout uses.

        >>> Layout.parse("S[(4,8):(1@lane,4@lane)] + R[2:32@lane]").span("lane")
        64
        """
        if axis is not None:
            name = Axis.get(axis).name
            total: values.Value = 1
            for it in self.shard + self.replica:
                if it.axis.name == name:
                    total = values.add(total, values.mul(values.absval(it.stride), values.add(it.extent, -1)))
            return total
        spans: dict = dict.fromkeys(self.axes, 1)
        for it in self.shard + self.replica:
            e, st, name = it.extent, it.stride, it.axis.name
            if type(e) is int and type(st) is int and type(spans[name]) is int:
                spans[name] += (st if st > 0 else -st) * (e - 1)
            else:
                spans[name] = values.add(spans[name], values.mul(values.absval(st), values.add(e, -1)))
        return spans

    # ---- evaluation --------------------------------------------------------------------
    def _get_plan(self):
        plan = self._plan
        if plan is None:
            axes = self.axes
            index = {a: i for i, a in enumerate(axes)}
            place: values.Value = 1
            dplan = []
            for it in reversed(self.shard):
                dplan.append((place, it.extent, it.stride, index[it.axis.name]))
                place = values.prod([place, it.extent])
            dplan.reverse()
            base = [0] * len(axes)
            for k, v in self.offset.items():
                base[index[k]] = v
            concrete = all(type(x) is int for t in dplan for x in t[:3]) and \
                all(type(x) is int for x in base)
            reps = None
            if all(type(it.extent) is int and type(it.stride) is int for it in self.replica):
                reps = [[0] * len(axes)]
                for it in self.replica:
                    ai = index[it.axis.name]
                    new = []
                    for r in reps:
                        for k in range(it.extent):
                            rr = list(r)
                            rr[ai] += k * it.stride
                            new.append(rr)
                    reps = new
                # distinct replica vectors only: the result is a set
                reps = [list(t) for t in dict.fromkeys(tuple(r) for r in reps)]
            plan = (axes, dplan, base, concrete, reps, place)
            _SET_PLAN(self, plan)
        return plan

    def _flat(self, coord, shape):
        if shape is None:
            if len(coord) == 1:
                return coord[0]
            shape = tuple(it.extent for it in self.shard)
            if len(coord) != len(shape):
                raise AxeError(
                    f"apply got {len(coord)} coordinates; pass shape= (the layout has "
                    f"{len(shape)} shard iters)")
        else:
            shape = tuple(values.value(s, "shape entry") for s in shape)
            if len(coord) != len(shape):
                raise AxeError(f"coordinate {coord} has rank {len(coord)} but shape {shape} has rank {len(shape)}")
            if values.require(values.prove_eq(values.prod(shape), self.size),
                         f"shape {shape} has size {self.size}") is False:
                raise AxeError(f"shape {shape} (size {values.prod(shape)}) is not admitted by a layout of size "
                               f"{self.size}")
        flat: values.Value = 0
        for u, s in zip(coord, shape):
            u = values.value(u, "coordinate")
            if type(u) is int and type(s) is int and not 0 <= u < s:
                raise AxeError(f"coordinate {tuple(coord)} is out of bounds for shape {shape}")
            flat = flat * s + u if (type(flat) is int and type(s) is int and type(u) is int) \
                else values.simplify(sympy.sympify(flat) * s + u)
        return flat

    def _base(self, x):
        axes, dplan, base, concrete, _, size = self._get_plan()
        if type(x) is int and concrete:
            if not 0 <= x < size:
                raise AxeError(f"logical index {x} is out of range [0, {size})")
            vec = list(base)
            for place, e, s, ai in dplan:
                vec[ai] += (x // place) % e * s
            return vec
        x = values.value(x, "logical index")
        if type(x) is int and type(size) is int and not 0 <= x < size:
            raise AxeError(f"logical index {x} is out of range [0, {size})")
        vec = list(base)
        for j, (place, e, s, ai) in enumerate(dplan):
            # x < size, so the most significant digit needs no modulo
            q = x if place == 1 else values.floordiv(x, place)
            digit = q if j == 0 else values.mod(q, e)
            vec[ai] = values.simplify(sympy.sympify(vec[ai]) + sympy.sympify(digit) * s)
        return vec

    def apply_base(self, *coord, shape=None) -> Coord:
        """D(x) + O alone (no replicas), as a :class:`~axe.Coord`.

        >>> dict(Layout.parse("S[4,8]").apply_base(10))
        {'m': 10}
        """
        if not coord:
            raise AxeError("apply needs a logical index")
        x = self._flat(coord, shape)
        return Coord(zip(self._get_plan()[0], self._base(x)))

    def apply(self, *coord, shape=None) -> frozenset[Coord]:
        """The set ``{ D(x) + r + O : r in R }`` for a flat index or a coordinate in ``shape``.

        >>> L = Layout.parse("S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]")
        >>> sorted(c["gpuid"] for c in L.apply(5, 0, shape=(64, 128)))
        [0, 2]
        """
        if not coord:
            raise AxeError("apply needs a logical index")
        x = coord[0] if (shape is None and len(coord) == 1) else self._flat(coord, shape)
        axes, dplan, base, concrete, reps, size = self._get_plan()
        if concrete and type(x) is int and reps is not None:
            if not 0 <= x < size:
                raise AxeError(f"logical index {x} is out of range [0, {size})")
            vec = list(base)
            for place, e, s, ai in dplan:
                vec[ai] += (x // place) % e * s
            if len(reps) == 1:
                return frozenset((_coord_of(dict(zip(axes, vec))),))
            return frozenset([_coord_of(dict(zip(axes, map(_int_add, vec, rep)))) for rep in reps])
        vec = self._base(x)
        if not self.replica:
            return frozenset((Coord(zip(axes, vec)),))
        if reps is None:
            return frozenset(Coord(zip(axes, v)) for v in self._symbolic_replicas(vec))
        if all(type(v) is int for v in vec):
            return frozenset(Coord(zip(axes, [a + b for a, b in zip(vec, r)])) for r in reps)
        return frozenset(Coord(zip(axes, [values.simplify(sympy.sympify(a) + b) for a, b in zip(vec, r)]))
                         for r in reps)

    def _symbolic_replicas(self, vec):
        axes = self.axes
        for it in self.replica:
            if type(it.extent) is not int:
                raise values.UnprovableError(
                    f"cannot enumerate replica iter {it} with a symbolic extent; bind its symbols first")
        ranges = [range(it.extent) for it in self.replica]
        for digits in itertools.product(*ranges):
            v = list(vec)
            for d, it in zip(digits, self.replica):
                i = axes.index(it.axis.name)
                v[i] = values.simplify(sympy.sympify(v[i]) + d * it.stride)
            yield v

    def __call__(self, *coord, shape=None):
        return self.apply(*coord, shape=shape)

    # ---- equality ----------------------------------------------------------------------
    def _canonical_key(self):
        c = self.canonicalize()
        return (c.shard, c.replica, tuple(sorted(c.offset.items(), key=lambda kv: kv[0])))

    def __eq__(self, other):
        if not isinstance(other, Layout):
            return NotImplemented
        if self is other:
            return True
        return self._canonical_key() == other._canonical_key()

    def __hash__(self):
        h = self._hash
        if h is None:
            h = hash(self._canonical_key())
            _SET_HASH(self, h)
        return h

    def same_as(self, other: Layout) -> bool:
        """Structural equality: the same iters in the same order and the same offset.

        >>> Layout.parse("S[(4,8):(8,1)]").same_as(Layout.parse("S[32:1]"))
        False
        """
        return (isinstance(other, Layout) and self.shard == other.shard
                and self.replica == other.replica and dict(self.offset) == dict(other.offset))

    # ---- operations (implemented in their own modules) ---------------------------------
    def canonicalize(self) -> Layout:
        """The canonical form: rules D0, D1 on D and C0, C1, C2 on (O, R) (App. A).

        >>> str(Layout.parse("S[(4,8,1):(8,1,5)]").canonicalize())
        'S[32:1]'
        """
        c = self._canon
        if c is None:
            c = _canonicalize(self)
            _SET_CANON(self, c)
            if c is not self:
                _SET_CANON(c, c)
        return c

    def group(self, shape):
        """Split/fuse D, without reordering, into blocks of extents ``shape`` (Algorithm 1).

        Returns ``(grouped_layout, separators)``; block i is ``grouped.shard[sep[i]:sep[i+1]]``.

        >>> g, sep = Layout.parse("S[32:1]").group((4, 8))
        >>> str(g), sep
        ('S[(4,8):(8,1)]', (0, 1, 2))
        """
        return _group(self, shape)

    def slice(self, shape, region):
        """The layout of the sub-tensor ``region`` (list of ``(begin, end)``) or None (Alg. 4).

        >>> L = Layout.parse("S[(2,8,3,8):(192,8,64,1)]")
        >>> str(L.slice((16, 24), [(0, 8), (8, 24)]))
        'S[(8,2,8):(8,64,1)] + 64'
        """
        return _slice_layout(self, shape, region)

    # ---- ownership (implemented in ownership.py) ----------------------------------------
    def owned_by(self, **coords):
        """Logical indices whose coordinate set contains the given thread/device coordinates.

        See :func:`axe.ownership.owned_by`.
        """
        return _owned_by(self, **coords)

    def partition(self, axes) -> Partition:
        """The local layout each owner along ``axes`` sees; see :func:`axe.ownership.partition`."""
        return _partition(self, axes)

    def is_injective(self) -> bool:
        """No two (index, replica) pairs land on the same coordinate."""
        return _is_injective(self)

    def is_surjective_onto(self, axis_extents) -> bool:
        """Every coordinate of the box ``axis_extents`` (axis -> extent) is reached."""
        return _is_surjective_onto(self, axis_extents)

    def image(self, axis=None):
        """The set of values taken on ``axis`` (or the set of coordinates when None)."""
        return _image(self, axis)


@functools.lru_cache(maxsize=4096)
def parse_layout(text: str) -> Layout:
    """Parse layout text into a :class:`Layout` (cached: layouts are immutable); ``Layout.parse``.

    >>> str(parse_layout("S[4,8]"))
    'S[(4,8):(8,1)]'
    """
    return Layout(*parse_parts(text))


_EMPTY_OFFSET = Offset()
_int_add = operator.add
_coord_of = Coord._of
_SET_SHARD = Layout.shard.__set__
_SET_REPLICA = Layout.replica.__set__
_SET_OFFSET = Layout.offset.__set__
_SET_CANON = Layout._canon.__set__
_SET_HASH = Layout._hash.__set__
_SET_PLAN = Layout._plan.__set__
