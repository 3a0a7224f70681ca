"""The collective API shared by the MPI-backed and the simulated mesh.

Each method returns a new array, or writes into ``out=`` when given. Each runs over the group of ranks
that share coordinates on every mesh axis *not* in ``axes``
(e.g. ``axes="tp"``: the tp group of each dp index). Group order is row-major over ``axes``.
"""

from __future__ import annotations

import os

import numpy as np

import axe

from . import semantics
from .errors import CollectiveMismatch
from .groups import axes_tuple, group_of


class MeshRank:
    """One rank's handle on a mesh: its coordinates and the collectives over mesh axes."""

    mesh: axe.Mesh
    rank: int

    def __init__(self, mesh: axe.Mesh, rank: int, debug: bool | None = None):
        if not isinstance(mesh, axe.Mesh):
            raise axe.AxeError(f"expected an axe.Mesh, got {type(mesh).__name__}")
        self.mesh = mesh
        self.rank = rank
        self.debug = os.environ.get("AXE_DEBUG_COLLECTIVES", "") not in ("", "0") if debug is None else debug
        # kernels: ranks check on a program's first run that they agree on it (AXE_CHECK_PROGRAMS=0: off)
        self.check_programs = os.environ.get("AXE_CHECK_PROGRAMS", "1").strip() not in ("0", "")
        self._verified: dict = {}  # id(program) -> (program, digest): programs this rank checked
        self._agreed: set = set()  # the digests its groups agreed on
        self.where = None  # what kernel host call runs now (str() of it), for timeout messages

    @property
    def coords(self) -> dict[str, int]:
        return self.mesh.coords(self.rank)

    # ---- what subclasses provide ----------------------------------------------------------
    def _exchange(self, axes, kind, buf, **params):  # pragma: no cover - abstract
        """Run collective ``kind`` over the group along ``axes``; returns this rank's result."""
        raise NotImplementedError

    def _gather_objects(self, axes, obj, what: str = "debug check") -> list:  # pragma: no cover - abstract
        """Every group member's ``obj`` in group order (``what``: the call, for timeout messages)."""
        raise NotImplementedError

    # ---- helpers ---------------------------------------------------------------------------
    def _axes(self, axes):
        key = axes if isinstance(axes, str | None) else tuple(axes)
        cache = self.__dict__.setdefault("_axes_cache", {})
        hit = cache.get(key)
        if hit is None:
            names = axes_tuple(self.mesh, axes)
            hit = cache[key] = (names, group_of(self.mesh, self.rank, names))
        return hit

    def _prepare(self, axes, kind, x, **params):
        axes = self._axes(axes)[0]
        x = np.ascontiguousarray(x)
        if self.debug:
            sig = (kind, x.shape, str(x.dtype), tuple(sorted(params.items())))
            sigs = self._gather_objects(axes, sig)
            if any(s != sig for s in sigs):
                _, _, n = group_of(self.mesh, self.rank, axes)
                raise CollectiveMismatch(
                    f"rank {self.rank}: mismatched collectives over {axes}: "
                    + "; ".join(f"group index {i}: {s}" for i, s in enumerate(sigs)))
        return axes, x

    @staticmethod
    def _deliver(result, out):
        """Results land in ``out`` when given (no allocation on the MPI path); shapes must match."""
        if out is None or result is out:
            return result
        if not isinstance(out, np.ndarray) or out.shape != result.shape or out.dtype != result.dtype:
            raise axe.AxeError(f"out= must be a numpy array of shape {result.shape} and dtype {result.dtype}")
        out[...] = result
        return out

    def group(self, axes=None) -> tuple[int, int]:
        """``(index, size)`` of this rank in its group along ``axes``."""
        _, i, n = self._axes(axes)[1]
        return i, n

    # ---- collectives -----------------------------------------------------------------------
    def all_reduce(self, x, axes=None, op="sum", out=None):
        """Every rank gets the elementwise reduction (sum, max, min, prod) of the group's buffers.

        >>> from collectives import run_simulated
        >>> run_simulated(axe.Mesh(tp=4), lambda r: r.all_reduce(np.array([r.rank]), "tp"))
        [array([6]), array([6]), array([6]), array([6])]
        """
        semantics.reduction(op)
        axes, x = self._prepare(axes, "all_reduce", x, op=op)
        return self._deliver(self._exchange(axes, "all_reduce", x, op=op, out=out), out)

    def all_gather(self, x, axes=None, dim=0, out=None):
        """The group's buffers concatenated along ``dim`` in group order (JAX ``tiled=True``)."""
        axes, x = self._prepare(axes, "all_gather", x, dim=dim)
        if not -x.ndim <= dim < x.ndim:
            raise axe.AxeError(f"all_gather: dim {dim} is out of range for a rank-{x.ndim} buffer")
        return self._deliver(self._exchange(axes, "all_gather", x, dim=dim, out=out), out)

    def reduce_scatter(self, x, axes=None, op="sum", dim=0, out=None):
        """Reduce the group's buffers, then keep chunk ``index`` of ``dim`` split into ``size`` parts."""
        semantics.reduction(op)
        axes, x = self._prepare(axes, "reduce_scatter", x, op=op, dim=dim)
        semantics.check_split(x, self.group(axes)[1], dim, "reduce_scatter")
        return self._deliver(self._exchange(axes, "reduce_scatter", x, op=op, dim=dim, out=out), out)

    def all_to_all(self, x, axes=None, split_dim=0, concat_dim=0, out=None):
        """Chunk ``j`` of ``split_dim`` goes to group index ``j``; received chunks concatenate on ``concat_dim``."""
        axes, x = self._prepare(axes, "all_to_all", x, split_dim=split_dim, concat_dim=concat_dim)
        semantics.check_split(x, self.group(axes)[1], split_dim, "all_to_all")
        return self._deliver(self._exchange(axes, "all_to_all", x, split_dim=split_dim, concat_dim=concat_dim,
                                            out=out), out)

    def broadcast(self, x, axes=None, root=0):
        """Every rank gets group index ``root``'s buffer."""
        axes, x = self._prepare(axes, "broadcast", x, root=root)
        semantics.broadcast([x] * self.group(axes)[1], root)  # validates root
        return self._exchange(axes, "broadcast", x, root=root)

    def permute(self, x, axes=None, pairs=()):
        """Send to / receive from group indices: ``pairs`` of ``(src, dst)``; non-receivers get zeros."""
        pairs = tuple(semantics.check_pairs(pairs, self.group(axes_tuple(self.mesh, axes))[1]))
        axes, x = self._prepare(axes, "permute", x, pairs=pairs)
        return self._exchange(axes, "permute", x, pairs=pairs)
