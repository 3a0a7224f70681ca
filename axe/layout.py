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
from .replicas import MAX_POINTS, MAX_SYMBOLIC_POINTS, axis_sums
from .slicing import slice_layout as _slice_layout
from .syntax import parse_parts

__all__ = ["MAX_POINTS", "MAX_SYMBOLIC_POINTS", "Layout", "Offset", "ReplicaSpec", "parse_layout"]

_CACHED_REPLICAS = 4096  # replica vector lists up to this length are kept with the layout (<= MAX_SYMBOLIC_POINTS)


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

    # _fit: (size, sum of |s|(e-1) + |O|) once the 64-bit bound has been checked (unset until then)
    __slots__ = ("shard", "replica", "offset", "_canon", "_hash", "_plan", "_fit")

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
        self._checked()

    def _init(self, shard, replica, offset):
        _SET_SHARD(self, shard)
        _SET_REPLICA(self, replica)
        _SET_OFFSET(self, offset)
        _SET_CANON(self, None)
        _SET_HASH(self, None)
        _SET_PLAN(self, None)

    def _checked(self, fit=None) -> Layout:
        """``self`` after the 64-bit bound (:meth:`_check_fits`), tested cheaply on ints first.

        ``fit`` is ``(size, sum of |s|(e-1) over D and R + sum |O|)`` when the caller knows it.
        """
        if fit is None:
            fit = _totals(self.shard, self.replica, self.offset._d)
        try:
            if fit[0] <= _LIMIT and fit[1] < _LIMIT:
                _SET_FIT(self, fit)
                return self
        except TypeError:  # symbolic: a sympy comparison has no truth value
            pass
        self._check_fits()
        return self

    def _check_fits(self):
        """A layout's size and every coordinate it reaches fit in 64 bits, so that every layout derived from
        it by canonicalize, group or slice does too (and prints as text that parses back): ``size <= 2**63 - 1``
        and, per axis, ``span <= 2**63 - 1`` (span = ``1 + sum |s|(e-1)`` over D and R: it bounds every stride
        and extent that fusing, merging or splitting iters makes) and every coordinate is within
        ``+-(2**63 - 1)`` (it bounds the offsets, also those C1 makes). Only int parts are checked."""
        size = values.prod(it.extent for it in self.shard if type(it.extent) is int)
        if size > _LIMIT:
            raise AxeError(f"layout {self} has size {values.describe(size)}, beyond 64 bits (the most is 2**63 - 1)")
        span: dict = {}
        lo: dict = {}
        hi: dict = {}
        for it in self.shard + self.replica:
            e, st = it.extent, it.stride
            if type(e) is int and type(st) is int:
                k = it.axis.name
                span[k] = span.get(k, 1) + (e - 1) * abs(st)
                if st < 0:
                    lo[k] = lo.get(k, 0) + (e - 1) * st
                else:
                    hi[k] = hi.get(k, 0) + (e - 1) * st
        for k, v in self.offset.items():
            if type(v) is int:
                lo[k] = lo.get(k, 0) + v
                hi[k] = hi.get(k, 0) + v
        for k, r in span.items():
            if r > _LIMIT:
                raise AxeError(f"layout {self} spans more than 64 bits on axis {k!r} "
                               f"(span {values.describe(r)}; the most is 2**63 - 1)")
        for k in set(lo) | set(hi):
            for end in (lo.get(k, 0), hi.get(k, 0)):
                if not -_LIMIT <= end <= _LIMIT:
                    raise AxeError(f"layout {self} reaches coordinate {values.describe(end)} on axis {k!r}, "
                                   "beyond 64 bits (|coordinate| <= 2**63 - 1)")

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
            out = Layout._make(self.shard, self.replica + other.iters, self.offset)
            try:  # the 64-bit check, from self's checked totals
                size, total = self._fit
                for it in other.iters:
                    total += (it.extent - 1) * abs(it.stride)
                if total < _LIMIT:
                    _SET_FIT(out, (size, total))
                    return out
            except (AttributeError, TypeError):  # self unchecked, or symbolic: count
                pass
            return out._checked()
        if isinstance(other, Layout):
            raise AxeError("layouts do not add; use axe.tile or axe.direct_sum to combine two layouts")
        if type(other) is AxisValue and type(other.value) is int and not self.offset:
            v = other.value
            if v == 0:
                return self
            out = Layout._make(self.shard, self.replica, _offset_of({other.axis.name: v}))
            try:
                size, total = self._fit
                total += v if v > 0 else -v
                if total < _LIMIT:
                    _SET_FIT(out, (size, total))
                    return out
            except (AttributeError, TypeError):
                pass
            return out._checked()
        off = self.offset + other
        return Layout._make(self.shard, self.replica, Offset({k: off[k] for k in sorted(off)}))._checked()

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
            # the replica vectors are listed on first use (apply), not here: apply_base never needs them
            reps = [[0] * len(axes)] if not self.replica else _UNLISTED
            plan = [axes, dplan, base, concrete, reps, place]
            _SET_PLAN(self, plan)
        return plan

    def _replica_plan(self, plan):
        """The distinct replica vectors: a list of vectors (over ``axes``) when there are few, else
        ``_AxisSums`` (per axis, the distinct sums), combined on each apply. Bounded by :data:`MAX_POINTS`."""
        reps = plan[4]
        if reps is _UNLISTED:
            try:
                sums = axis_sums(self.replica, f"layout {self}")
            except AxeError as e:
                plan[4] = _Refused(type(e), str(e))
                raise
            index = {a: i for i, a in enumerate(plan[0])}
            sums = tuple((index[a], v) for a, v in sums)
            n = 1
            for _, v in sums:
                n *= len(v)
            if n <= _CACHED_REPLICAS and all(type(d) is int for _, v in sums for d in v):
                reps = []
                for combo in itertools.product(*[v for _, v in sums]):
                    r = [0] * len(plan[0])
                    for (ai, _), d in zip(sums, combo):
                        r[ai] = d
                    reps.append(r)
            else:
                reps = _AxisSums(sums, n)
            plan[4] = reps
        elif type(reps) is _Refused:
            raise reps.kind(reps.message)
        return reps

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

        Equal replica vectors collapse; the time and memory taken grow with the number of distinct
        ones, and more than :data:`MAX_POINTS` (2**18) is an :class:`~axe.AxeError`.

        >>> L = Layout.parse("S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]")
        >>> sorted(c["gpuid"] for c in L.apply(5, 0, shape=(64, 128)))
        [0, 2]
        """
        if not coord:
            raise AxeError("apply needs a logical index")
        x = coord[0] if (shape is None and len(coord) == 1) else self._flat(coord, shape)
        plan = self._plan or self._get_plan()
        axes, dplan, base, concrete, reps, size = plan
        if type(reps) is not list:
            reps = self._replica_plan(plan)
        if concrete and type(x) is int and type(reps) is list:
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
        if type(reps) is list:
            if all(type(v) is int for v in vec):
                return frozenset(Coord(zip(axes, [a + b for a, b in zip(vec, r)])) for r in reps)
            return frozenset(Coord(zip(axes, [_plus(a, b) for a, b in zip(vec, r)])) for r in reps)
        return frozenset(reps.points(axes, vec, f"layout {self}"))

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


def _totals(shard, replica, offset: dict, _abs=abs) -> tuple:
    """``(size, sum of |s|(e-1) over D and R + sum of |O|)``: the cheap test of ``Layout._check_fits``."""
    size = 1
    total = 0
    for it in shard:
        e = it.extent
        size *= e
        total += (e - 1) * _abs(it.stride)
    for it in replica:
        total += (it.extent - 1) * _abs(it.stride)
    for v in offset.values():
        total += _abs(v)
    return size, total


class _AxisSums:
    """Replica vectors kept per axis: ``sums`` is ``((axis index, distinct sums), ...)``; ``n`` is how many
    vectors they make."""

    __slots__ = ("sums", "n")

    def __init__(self, sums, n):
        self.sums, self.n = sums, n

    def points(self, axes, vec, owner):
        """The coordinates ``vec + r``, one per distinct replica vector ``r``."""
        idx = [ai for ai, _ in self.sums]
        lists = [v for _, v in self.sums]
        if all(type(a) is int for a in vec) and all(type(d) is int for v in lists for d in v):
            out = []
            for combo in itertools.product(*lists):
                v = list(vec)
                for ai, d in zip(idx, combo):
                    v[ai] += d
                out.append(_coord_of(dict(zip(axes, v))))
            return out
        if self.n > MAX_SYMBOLIC_POINTS:
            raise AxeError(f"{owner} has {self.n} distinct replica vectors: a symbolic apply lists at most "
                           f"{MAX_SYMBOLIC_POINTS} (axe.replicas.MAX_SYMBOLIC_POINTS); bind the symbols first")
        out = []
        for combo in itertools.product(*lists):
            v = list(vec)
            for ai, d in zip(idx, combo):
                v[ai] = _plus(v[ai], d)
            out.append(Coord(zip(axes, v)))
        return out


def _plus(a, b):
    """a + b with sympy's automatic simplification only (cheap: no ``sympy.simplify``)."""
    if type(a) is int and type(b) is int:
        return a + b
    if type(b) is int and b == 0:
        return a
    if type(a) is int and a == 0:
        return b
    r = sympy.sympify(a) + b
    return int(r) if r.is_Integer else r


class _Refused:
    """A replica listing that failed (too many vectors, symbolic extents): raised again on each apply."""

    __slots__ = ("kind", "message")

    def __init__(self, kind, message):
        self.kind, self.message = kind, message


_UNLISTED = object()
_LIMIT = values.LIMIT
_EMPTY_OFFSET = Offset()
_offset_of = Offset._of
_int_add = operator.add
_coord_of = Coord._of
_SET_SHARD = Layout.shard.__set__
_SET_REPLICA = Layout.replica.__set__
_SET_OFFSET = Layout.offset.__set__
_SET_CANON = Layout._canon.__set__
_SET_HASH = Layout._hash.__set__
_SET_PLAN = Layout._plan.__set__
_SET_FIT = Layout._fit.__set__
