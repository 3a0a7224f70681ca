"""Device meshes and PartitionSpec-style sharding expressed as Axe layouts.

A ``Mesh(dp=2, tp=4)`` names sub-axes of ``gpuid`` (row-major: the last mesh axis is fastest), so a
layout may place data on mesh axes by name; :meth:`Mesh.to_gpuid` rewrites it onto ``gpuid``.
"""

from __future__ import annotations

from .axis import _REGISTRY, DEVICE, Axis, register_axis
from .coord import Coord
from .errors import AxeError
from .iter import Iter
from .layout import Layout


class Mesh:
    """A device mesh: named axes with sizes, major -> minor, row-major over ``gpuid``.

    >>> import axe
    >>> mesh = axe.Mesh(dp=2, tp=4)
    >>> mesh.size, mesh.coords(6), mesh.rank(dp=1, tp=2), mesh.axis_stride("dp")
    (8, {'dp': 1, 'tp': 2}, 6, 4)
    """

    __slots__ = ("_axes",)

    def __init__(self, **axes: int):
        if not axes:
            raise AxeError("a mesh needs at least one axis, e.g. Mesh(tp=4)")
        items = []
        for name, size in axes.items():
            if type(size) is not int or size < 1:
                raise AxeError(f"mesh axis {name!r} must have a positive integer size, got {size!r}")
            if name == "gpuid":
                raise AxeError("mesh axes are sub-axes of gpuid; name them (e.g. dp, tp)")
            ax = Axis.get(name) if name in _known() else register_axis(name, DEVICE)
            if ax.kind != DEVICE:
                raise AxeError(f"mesh axis {name!r} is already a {ax.kind} axis")
            items.append((name, size))
        object.__setattr__(self, "_axes", tuple(items))

    def __setattr__(self, k, v):
        raise AttributeError("Mesh is immutable")

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self._axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s for _, s in self._axes)

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self._axes)

    @property
    def size(self) -> int:
        n = 1
        for _, s in self._axes:
            n *= s
        return n

    def _check(self, name: str) -> str:
        if name not in self.sizes:
            raise AxeError(f"{name!r} is not an axis of {self!r} (axes: {', '.join(self.axis_names)})")
        return name

    def axis_stride(self, name: str) -> int:
        """The ``gpuid`` stride of mesh axis ``name``."""
        self._check(name)
        stride = 1
        for n, s in reversed(self._axes):
            if n == name:
                return stride
            stride *= s
        raise AssertionError("unreachable")  # pragma: no cover

    def coords(self, rank: int) -> dict[str, int]:
        """Mesh coordinates of ``rank`` (row-major)."""
        if type(rank) is not int or not 0 <= rank < self.size:
            raise AxeError(f"rank {rank!r} is out of range [0, {self.size}) for {self!r}")
        out = {}
        for n, s in reversed(self._axes):
            out[n] = rank % s
            rank //= s
        return {n: out[n] for n in self.axis_names}

    def rank(self, **coords: int) -> int:
        """The rank at mesh coordinates ``coords`` (every axis named).

        >>> import axe
        >>> axe.Mesh(dp=2, tp=4).rank(dp=1, tp=2)
        6
        """
        extra = [n for n in coords if n not in self.sizes]
        if extra:
            raise AxeError(f"{extra} are not axes of {self!r} (axes: {', '.join(self.axis_names)})")
        missing = [n for n in self.axis_names if n not in coords]
        if missing:
            raise AxeError(f"rank() needs a coordinate for every mesh axis; missing {missing}")
        r = 0
        for n, s in self._axes:
            c = coords[n]
            if type(c) is not int or not 0 <= c < s:
                raise AxeError(f"mesh coordinate {n}={c!r} is out of range [0, {s})")
            r = r * s + c
        return r

    def to_gpuid(self, layout):
        """Rewrite iters and offsets on mesh axes as iters on ``gpuid``.

        >>> import axe
        >>> str(axe.Mesh(dp=2, tp=4).to_gpuid(axe.Layout.parse("S[(2,8):(1@dp,1)] + R[4:1@tp]")))
        'S[(2,8):(4@gpuid,1)] + R[4:1@gpuid]'
        """
        def conv(it):
            name = it.axis.name
            if name in self.sizes:
                return Iter(it.extent, it.stride * self.axis_stride(name), "gpuid")
            return it

        off: dict = {}
        for k, v in layout.offset.items():
            if k in self.sizes:
                off["gpuid"] = off.get("gpuid", 0) + v * self.axis_stride(k)
            else:
                off[k] = off.get(k, 0) + v
        return Layout([conv(i) for i in layout.shard], [conv(i) for i in layout.replica], off)

    def device_of(self, coord) -> int:
        """The rank a coordinate (from ``layout.apply``) lands on, via mesh axes or ``gpuid``.

        Memory and thread axes are ignored; a mesh coordinate out of its axis' range, or a device axis
        that is not part of this mesh, is an ``AxeError``.

        >>> import axe
        >>> mesh = axe.Mesh(dp=2, tp=4)
        >>> [mesh.device_of(c) for c in axe.shard((4, 8), mesh, ("dp", "tp")).apply(3, 5, shape=(4, 8))]
        [6]
        """
        coord = coord if isinstance(coord, Coord) else Coord(coord)
        r = 0
        for a in coord:
            v = coord[a]
            if a == "gpuid":
                r += v
            elif a in self.sizes:
                if not 0 <= v < self.sizes[a]:
                    raise AxeError(f"mesh coordinate {a}={v!r} in {coord!r} is out of range [0, {self.sizes[a]}) "
                                   f"for {self!r}")
                r += v * self.axis_stride(a)
            elif a in _REGISTRY and _REGISTRY[a].kind == DEVICE:
                raise AxeError(f"device axis {a!r} in {coord!r} is not an axis of {self!r}")
        if not 0 <= r < self.size:
            raise AxeError(f"coordinate {coord!r} is outside {self!r} (rank {r}, size {self.size})")
        return r

    def __eq__(self, other):
        return isinstance(other, Mesh) and self._axes == other._axes

    def __hash__(self):
        return hash(("Mesh", self._axes))

    def __repr__(self) -> str:
        return "Mesh(" + ", ".join(f"{n}={s}" for n, s in self._axes) + ")"

    def __reduce__(self):
        return (_make_mesh, (self._axes,))


def _make_mesh(axes):
    return Mesh(**dict(axes))


def _known():
    return {n for n, a in _REGISTRY.items() if a.kind == DEVICE}


def _spec_axes(entry, mesh: Mesh, dim: int) -> tuple[str, ...]:
    if entry is None:
        return ()
    if isinstance(entry, str):
        names = (entry,)
    elif isinstance(entry, (tuple, list)):
        names = tuple(entry)
    else:
        names = (entry,)
    for n in names:
        if not isinstance(n, str):
            raise AxeError(f"spec entry for dim {dim} must be None, a mesh axis name or a tuple of them, got {entry!r}")
        if n not in mesh.sizes:
            raise AxeError(f"spec entry for dim {dim} names {n!r}, which is not an axis of {mesh!r} "
                           f"(axes: {', '.join(mesh.axis_names)})")
    return names


def _spec_tuple(spec, ndim: int) -> tuple:
    if isinstance(spec, str) or not isinstance(spec, (tuple, list)):
        raise AxeError(f"spec must be a tuple with one entry per tensor dim (None, an axis or a tuple of axes), "
                       f"got {spec!r}" + (f"; for one dim write ({spec!r},)" if isinstance(spec, str) else ""))
    spec = tuple(spec)
    if len(spec) > ndim:
        raise AxeError(f"spec {spec} has {len(spec)} entries but the shape has {ndim} dims")
    return spec + (None,) * (ndim - len(spec))


def shard(shape, mesh: Mesh, spec):
    """The layout of a tensor of ``shape`` sharded over ``mesh`` by a PartitionSpec-like ``spec``.

    ``spec[d]`` is None, a mesh axis, or a tuple of mesh axes (major -> minor) splitting dim ``d``.
    Each device holds a compact row-major local block on ``m``; mesh axes the spec does not use become
    replicas. A dim not divisible by its mesh axes is an ``AxeError`` (no implicit padding).

    >>> import axe
    >>> str(axe.shard((64, 128), axe.Mesh(x=2, y=2), ("x", "y")))
    'S[(2,32,2,64):(1@x,64,1@y,1)]'
    >>> str(axe.shard((64, 128), axe.Mesh(x=2, y=2), ("x", None)))
    'S[(2,32,128):(1@x,128,1)] + R[2:1@y]'
    """
    if not isinstance(mesh, Mesh):
        raise AxeError(f"shard needs an axe.Mesh, got {type(mesh).__name__}")
    try:
        shape = tuple(shape)
    except TypeError:
        raise AxeError(f"shard needs a shape tuple of positive ints, got {shape!r}") from None
    spec = _spec_tuple(spec, len(shape))
    used: list[str] = []
    local = []
    per_dim = []
    for d, (n, entry) in enumerate(zip(shape, spec)):
        if type(n) is not int or n < 1:
            raise AxeError(f"shape entry {n!r} of dim {d} must be a positive integer")
        names = _spec_axes(entry, mesh, d)
        for a in names:
            if a in used:
                raise AxeError(f"mesh axis {a!r} is used twice in spec {spec}")
            used.append(a)
        parts = 1
        for a in names:
            parts *= mesh.sizes[a]
        if n % parts:
            fits = [a for a in names if n % mesh.sizes[a] == 0]
            hint = f"; of these axes, only {fits} divide {n}" if fits and len(names) > 1 else ""
            raise AxeError(
                f"dim {d} of size {n} does not divide evenly over mesh axes {names} ({parts} parts): use a size "
                f"that is a multiple of {parts}{hint} (axe.shard does not pad)")
        local.append(n // parts)
        per_dim.append(names)
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * local[d + 1]
    iters = []
    for d, names in enumerate(per_dim):
        for a in names:
            iters.append(Iter(mesh.sizes[a], 1, a))
        iters.append(Iter(local[d], strides[d], "m"))
    replica = [Iter(s, 1, n) for n, s in zip(mesh.axis_names, mesh.shape) if n not in used]
    return Layout(iters, replica)


def _infer_shape(layout, mesh: Mesh) -> tuple:
    """Dims as written by :func:`shard`: mesh-axis iters, then one memory iter, per dim."""
    shape, cur = [], 1
    for it in layout.shard:
        cur *= it.extent
        if it.axis.name not in mesh.sizes:
            shape.append(cur)
            cur = 1
    if cur != 1 or not shape:
        raise AxeError(f"cannot infer a tensor shape from {layout}; pass shape=")
    return tuple(shape)


def to_spec(layout, mesh: Mesh, shape=None) -> tuple:
    """The PartitionSpec-like spec with ``shard(shape, mesh, spec) == layout``, or AxeError.

    ``shape`` defaults to the dims read off the layout (mesh iters followed by a memory iter per dim).

    >>> import axe
    >>> mesh = axe.Mesh(x=2, y=2)
    >>> axe.to_spec(axe.shard((64, 128), mesh, (("y", "x"), None)), mesh)
    (('y', 'x'), None)
    """
    if not isinstance(mesh, Mesh):
        raise AxeError(f"to_spec needs an axe.Mesh, got {type(mesh).__name__}")
    if isinstance(layout, str):
        layout = Layout.parse(layout)
    if not isinstance(layout, Layout):
        raise AxeError(f"to_spec needs an axe.Layout (or its text), got {type(layout).__name__}")
    if shape is None:
        shape = _infer_shape(layout, mesh)
    grouped, seps = layout.group(tuple(shape))
    spec = []
    for d in range(len(shape)):
        names = tuple(it.axis.name for it in grouped.shard[seps[d]:seps[d + 1]]
                      if it.axis.name in mesh.sizes and it.extent != 1)
        spec.append(None if not names else names[0] if len(names) == 1 else names)
    spec = tuple(spec)
    try:
        candidate = shard(shape, mesh, spec)
    except AxeError as e:
        raise AxeError(f"layout {layout} is not a mesh sharding of {mesh!r}: {e}") from None
    if candidate != layout:
        raise AxeError(f"layout {layout} is not representable as a spec over {mesh!r} "
                       f"(closest spec {spec} gives {candidate})")
    return spec
