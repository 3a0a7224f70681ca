"""Which collective a change of layout on device axes implies (pure layout analysis, no communication).

A distributed tensor's layout places each dim's blocks on mesh axes (a PartitionSpec, recovered with
``axe.to_spec``). Moving from one layout to another is, per mesh axis:

- sharded on dim d -> replicated: ``all_gather`` along d;
- replicated -> sharded on dim d: a local slice (no communication);
- sharded on dim d1 -> sharded on dim d2: ``all_to_all`` (split d2, concatenate d1);
- unchanged: nothing.

Reducing over a dim whose blocks are spread over mesh axes is a local reduction followed by
``reduce_scatter`` (when the result is sharded over those axes) or ``all_reduce`` (when replicated).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import AxeError
from .iter import Iter
from .layout import Layout
from .mesh import Mesh, to_spec


@dataclass(frozen=True)
class Step:
    """One step of a plan: ``kind`` is all_gather, slice, all_to_all, reduce_scatter, all_reduce or local_sum."""

    kind: str
    axes: tuple[str, ...] = ()
    dim: int | None = None
    dim2: int | None = None  # all_to_all: the concatenation dim (``dim`` is the split dim)

    def __str__(self) -> str:
        extra = f", split {self.dim}, concat {self.dim2}" if self.kind == "all_to_all" else \
            (f", dim {self.dim}" if self.dim is not None else "")
        return f"{self.kind}({', '.join(self.axes + ((extra[2:],) if extra else ()))})"


def from_gpuid(layout: Layout, mesh: Mesh) -> Layout:
    """Rewrite ``gpuid`` iters as mesh-axis iters (an iter of extent size(a), stride axis_stride(a) is axis a).

    >>> import axe
    >>> str(from_gpuid(axe.Layout.parse("S[(4,16,64):(1@gpuid,64,1)]"), axe.Mesh(g=4)))
    'S[(4,16,64):(1@g,64,1)]'
    """
    def conv(it):
        if it.axis.name != "gpuid":
            return it
        for a in mesh.axis_names:
            if it.extent == mesh.sizes[a] and it.stride == mesh.axis_stride(a):
                return Iter(it.extent, 1, a)
        raise AxeError(f"iter {it} of {layout} is not a whole axis of {mesh!r}")

    if "gpuid" in layout.offset:
        raise AxeError(f"layout {layout} has a gpuid offset; it places data on a subset of {mesh!r}")
    return Layout([conv(i) for i in layout.shard], [conv(i) for i in layout.replica], layout.offset)


def spec_of(layout: Layout, mesh: Mesh, shape) -> tuple:
    """The per-dim mesh axes tuple of a distributed layout (``()`` for a replicated dim)."""
    spec = to_spec(from_gpuid(layout, mesh), mesh, tuple(shape))
    return tuple(() if e is None else (e,) if isinstance(e, str) else tuple(e) for e in spec)


def plan_copy(src: Layout, dst: Layout, shape, mesh: Mesh) -> tuple[Step, ...]:
    """The collectives that turn ``src``-distributed data into ``dst``-distributed data.

    >>> import axe
    >>> m = axe.Mesh(x=2, y=2)
    >>> [str(s) for s in plan_copy(axe.shard((8, 8), m, ("x", "y")), axe.shard((8, 8), m, ("x", None)), (8, 8), m)]
    ['all_gather(y, dim 1)']
    """
    s, d = spec_of(src, mesh, shape), spec_of(dst, mesh, shape)
    return _plan_specs(s, d)


def _plan_specs(s: tuple, d: tuple) -> tuple[Step, ...]:
    """Steps from per-dim axes tuples ``s`` to ``d`` (each tuple major -> minor).

    Each step keeps every dim's blocks in row-major order over its axes: a gather removes the minor suffix
    that differs from the target, a slice appends the target's remaining axes as minor ones, and an
    all_to_all does both at once when one dim's removed suffix is exactly another dim's addition.
    """
    prefix = [_common_prefix(a, b) for a, b in zip(s, d)]
    removals = {dim: s[dim][p:] for dim, p in enumerate(prefix) if s[dim][p:]}
    additions = {dim: d[dim][p:] for dim, p in enumerate(prefix) if d[dim][p:]}
    steps: list[Step] = []
    for dim, axes in removals.items():
        partner = next((d2 for d2, add in additions.items() if add == axes and d2 not in removals), None)
        if partner is not None:
            steps.append(Step("all_to_all", axes, partner, dim))
            del additions[partner]
        else:
            steps.append(Step("all_gather", axes, dim))
    steps.extend(Step("slice", axes, dim) for dim, axes in additions.items())
    return tuple(steps)


def _common_prefix(a: tuple, b: tuple) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def plan_sum(src: Layout, shape, dim: int, dst: Layout, mesh: Mesh) -> tuple[Step, ...]:
    """Sum ``src`` (of ``shape``) over ``dim`` into ``dst`` (of the shape without ``dim``).

    >>> import axe
    >>> g = axe.Mesh(gpuid_axis=4)
    >>> src = axe.Layout.parse("S[(4,64,64):(1@gpuid,64,1)]")   # the paper's Figure 8 reduce_scatter
    >>> dst = axe.Layout.parse("S[(4,16,64):(1@gpuid,64,1)]")
    >>> [str(s) for s in plan_sum(src, (4, 64, 64), 0, dst, g)]
    ['local_sum(dim 0)', 'reduce_scatter(gpuid_axis, dim 0)']
    """
    shape = tuple(shape)
    if not 0 <= dim < len(shape):
        raise AxeError(f"sum dim {dim} is out of range for shape {shape}")
    s = spec_of(src, mesh, shape)
    out_shape = shape[:dim] + shape[dim + 1:]
    d = spec_of(dst, mesh, out_shape)
    spread = s[dim]
    current = list(s[:dim] + s[dim + 1:])
    steps = [Step("local_sum", (), dim)]
    if spread:
        target = [i for i, axes in enumerate(d) if axes == spread and not current[i]]
        if target:
            steps.append(Step("reduce_scatter", spread, target[0]))
            current[target[0]] = spread
        elif any(a in axes for axes in d for a in spread):
            raise AxeError(f"no plan: the sum over dim {dim} of {src} spreads over {spread}, which {dst} "
                               "uses in a different way")
        else:
            steps.append(Step("all_reduce", spread))
    if tuple(current) != d:
        steps.extend(_plan_specs(tuple(current), d))
    return tuple(steps)
