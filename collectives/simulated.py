"""A mesh of N ranks inside one process (threads), with the same API and semantics as the MPI mesh."""

from __future__ import annotations

import threading

import axe

from . import semantics
from .base import MeshRank
from .errors import CollectiveError, CollectiveTimeout
from .groups import group_of, members
from .watchdog import ENV, as_seconds, collective_timeout, describe

_KINDS = {
    "all_reduce": semantics.all_reduce, "all_gather": semantics.all_gather, "reduce_scatter": semantics.reduce_scatter,
    "all_to_all": semantics.all_to_all, "broadcast": semantics.broadcast, "permute": semantics.permute,
}


class _Board:
    """Rendezvous: members of a group deposit values for the same call and read everyone's."""

    def __init__(self, timeout: float):
        self.cond = threading.Condition()
        self.slots: dict = {}
        self.failed: BaseException | None = None
        self.timeout = timeout  # seconds; 0: no limit
        self.inside: set = set()  # the ranks waiting in a collective now

    def exchange(self, key, index: int, size: int, value, rank=None):
        with self.cond:
            slot = self.slots.setdefault(key, {"vals": {}, "read": 0})
            slot["vals"][index] = value
            self.cond.notify_all()
            self.inside.add(rank.rank if rank is not None else None)
            try:
                ok = self.cond.wait_for(lambda: self.failed is not None or len(slot["vals"]) == size,
                                        self.timeout or None)
            finally:
                self.inside.discard(rank.rank if rank is not None else None)
            if self.failed is not None:
                raise CollectiveError(f"the mesh was aborted: another rank failed ({self.failed!r})")
            if not ok:
                raise CollectiveTimeout(self._late(key, size, slot, rank))
            vals = [slot["vals"][i] for i in range(size)]
            slot["read"] += 1
            if slot["read"] == size:
                del self.slots[key]
            return vals

    def _late(self, key, size: int, slot, rank) -> str:
        axes, what, color, _ = key
        missing = sorted(set(range(size)) - set(slot["vals"]))
        if rank is None:
            return f"collective {what} timed out after {self.timeout:g} s waiting for group indices {missing}"
        group = members(rank.mesh, color, axes)
        return (f"rank {rank.rank}: {describe(rank, what, axes)} timed out after {self.timeout:g} s waiting for "
                f"rank(s) {[group[i] for i in missing]}, which did not reach this call (timeout: {ENV}, "
                f"collectives.set_collective_timeout or run_simulated(timeout=); 0 turns it off)")

    def abort(self, exc: BaseException):
        with self.cond:
            if self.failed is None:
                self.failed = exc
            self.cond.notify_all()


class SimulatedRank(MeshRank):
    """A rank of a :func:`run_simulated` mesh."""

    def __init__(self, mesh, rank, board: _Board, debug=None):
        super().__init__(mesh, rank, debug)
        self._board = board
        self._seq: dict = {}

    def _key(self, axes, kind):
        color, _, _ = group_of(self.mesh, self.rank, axes)
        seq = self._seq.get((axes, color), 0)
        self._seq[(axes, color)] = seq + 1
        return (axes, kind, color, seq)

    def _gather_objects(self, axes, obj, what: str = "debug check") -> list:
        _, index, size = group_of(self.mesh, self.rank, axes)
        return self._board.exchange(self._key(axes, what), index, size, obj, self)

    def _exchange(self, axes, kind, buf, out=None, **params):
        _, index, size = group_of(self.mesh, self.rank, axes)
        bufs = self._board.exchange(self._key(axes, kind), index, size, buf, self)
        return _KINDS[kind](bufs, **params)[index]


def run_simulated(mesh: axe.Mesh, fn, *, timeout: float | None = None, debug: bool | None = None) -> list:
    """Run ``fn(rank_handle)`` on every rank of ``mesh`` (one thread each); returns results by rank.

    If a rank raises, the others are released (no one waits forever) and the first error is re-raised
    with the failing rank named. A collective waits at most ``timeout`` seconds for its group (None: the
    collective timeout, ``AXE_COLLECTIVE_TIMEOUT`` or 300; 0: no limit), then raises ``CollectiveTimeout``.

    >>> run_simulated(axe.Mesh(tp=2), lambda r: r.coords)
    [{'tp': 0}, {'tp': 1}]
    """
    if not isinstance(mesh, axe.Mesh):
        raise axe.AxeError(f"run_simulated needs an axe.Mesh, got {type(mesh).__name__}")
    timeout = collective_timeout() if timeout is None else as_seconds(timeout, "run_simulated(timeout=)")
    board = _Board(timeout)
    results: list = [None] * mesh.size
    errors: list = []
    done = threading.Condition()
    finished: list = []

    def body(r):
        try:
            results[r] = fn(SimulatedRank(mesh, r, board, debug))
        except BaseException as e:  # noqa: BLE001 - re-raised below with the rank named
            errors.append((r, e))
            board.abort(e)
        finally:
            with done:
                finished.append(r)
                done.notify_all()

    threads = [threading.Thread(target=body, args=(r,), daemon=True, name=f"axe-rank-{r}")
               for r in range(mesh.size)]
    for t in threads:
        t.start()
    with done:  # like ranks that finished first and wait for the others at the end of an MPI job
        while len(finished) < mesh.size and not errors:
            if not done.wait(timeout if finished and timeout else None) and len(finished) < mesh.size \
                    and not errors:
                late = sorted(set(range(mesh.size)) - set(finished))
                with board.cond:
                    busy = board.inside & set(late)
                if not busy:  # (ranks waiting in a collective end by its timeout, which says more)
                    raise CollectiveTimeout(f"simulated rank(s) {late} did not finish within {timeout:g} s after "
                                            f"rank(s) {sorted(finished)} did")
        if errors:  # the others were released by board.abort: give them a moment to say why they stopped
            done.wait_for(lambda: len(finished) == mesh.size, 5)
    if errors:
        first = next((e for e in errors if not isinstance(e[1], CollectiveError) or "aborted" not in str(e[1])),
                     errors[0])
        r, e = first
        if isinstance(e, axe.AxeError):
            raise (e if str(e).startswith("rank ") else type(e)(f"rank {r}: {e}")) from e
        raise CollectiveError(f"rank {r} failed: {e!r}") from e
    return results
