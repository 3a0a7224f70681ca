"""Groups of ranks along mesh axes: who talks to whom for a collective over ``axes``."""

from __future__ import annotations

import axe

from .errors import CollectiveError


def axes_tuple(mesh: axe.Mesh, axes) -> tuple[str, ...]:
    """Normalise ``axes`` (a name, a tuple of names, or None for every mesh axis)."""
    if axes is None:
        return mesh.axis_names
    names = (axes,) if isinstance(axes, str) else tuple(axes)
    for n in names:
        if n not in mesh.sizes:
            raise CollectiveError(f"{n!r} is not an axis of {mesh!r} (axes: {', '.join(mesh.axis_names)})")
    if len(set(names)) != len(names):
        raise CollectiveError(f"axes {names} repeat")
    return names


def group_of(mesh: axe.Mesh, rank: int, axes: tuple[str, ...]) -> tuple[int, int, int]:
    """``(color, index, size)``: which group ``rank`` is in along ``axes``, its index there, group size.

    The index is row-major over ``axes`` in the order given; the color numbers the coordinates on the
    other axes, so ranks with equal color form one group.

    >>> group_of(axe.Mesh(dp=2, tp=4), 6, ("tp",))
    (1, 2, 4)
    """
    coords = mesh.coords(rank)
    index, size = 0, 1
    for a in axes:
        index = index * mesh.sizes[a] + coords[a]
        size *= mesh.sizes[a]
    color = 0
    for a in mesh.axis_names:
        if a not in axes:
            color = color * mesh.sizes[a] + coords[a]
    return color, index, size


def members(mesh: axe.Mesh, color: int, axes: tuple[str, ...]) -> list[int]:
    """The ranks of group ``color`` along ``axes``, ordered by their index in the group."""
    out = {}
    for r in range(mesh.size):
        c, i, _ = group_of(mesh, r, axes)
        if c == color:
            out[i] = r
    return [out[i] for i in sorted(out)]
