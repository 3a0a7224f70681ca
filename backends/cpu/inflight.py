"""wgmma groups in flight, for the CPU machine's race checks.

The CPU computes a ``wgmma`` when it is issued, but on a GPU the tensor cores go on reading the shared
tiles and writing the accumulators until ``wgmma.wait_group`` retires the group. ``WgmmaGroups`` remembers,
per warpgroup, the groups not yet waited for: the shared words they read and the accumulator they write.
A store or TMA copy into those words, or an ordinary access to that accumulator, before the wait is a race
on the GPU (``dsl.gemm_async`` released too early) and is reported with the wgmma's line.

>>> import numpy as np
>>> g = WgmmaGroups()
>>> g.issue(0, {"As": np.array([3, 4])}, "acc", None)
>>> g.commit([0]); g.overwritten("As", np.array([4])) is not False
True
>>> g.wait([0], 0); g.overwritten("As", np.array([4]))
False
"""

from __future__ import annotations

import numpy as np


class WgmmaGroups:
    """Per warpgroup (global index: thread // 128): its open group and its committed groups, oldest first."""

    def __init__(self):
        self.pending: dict = {}       # warpgroup -> [committed, {buffer: [flat words...]}, accumulator, loc, id]
        self.retired: set = set()     # ids of the groups waited for
        self._ids = 0

    def __bool__(self) -> bool:
        return bool(self.pending)

    def issue(self, wg: int, reads: dict, acc: str, loc) -> None:
        groups = self.pending.setdefault(wg, [])
        if not groups or groups[-1][0]:
            self._ids += 1
            groups.append([False, {}, acc, loc, self._ids])
        words = groups[-1][1]
        for name, addr in reads.items():
            words.setdefault(name, []).append(np.ravel(addr))

    def commit(self, wgs) -> None:
        for wg in wgs:
            for group in self.pending.get(wg, ()):
                group[0] = True

    def wait(self, wgs, keep: int) -> None:
        """``wgmma.wait_group keep``: all but the newest ``keep`` committed groups of each warpgroup retire."""
        for wg in wgs:
            groups = self.pending.get(wg, [])
            committed = [g for g in groups if g[0]]
            retired = committed[:max(0, len(committed) - keep)]
            self.retired.update(g[4] for g in retired)
            left = [g for g in groups if not any(g is r for r in retired)]
            if left:
                self.pending[wg] = left
            else:
                self.pending.pop(wg, None)

    def overwritten(self, buffer: str, words: np.ndarray):
        """The location (possibly None) of an unretired wgmma reading any of ``words`` of ``buffer``, else False."""
        for groups in self.pending.values():
            for _, reads, _, loc, _ in groups:
                read = reads.get(buffer)
                if read is not None and np.isin(words, np.concatenate(read)).any():
                    return loc
        return False

    def unretired_reads(self, wg: int) -> list:
        """``[(reads, loc, group id)]`` of warpgroup ``wg``'s groups not yet waited for (each buffer's words as
        one array)."""
        return [({name: np.concatenate(parts) for name, parts in reads.items()}, loc, gid)
                for _, reads, _, loc, gid in self.pending.get(wg, ())]

    def accumulator_busy(self, acc: str, wgs):
        """The location (possibly None) of an unretired wgmma of warpgroups ``wgs`` writing ``acc``, else False."""
        for wg in wgs:
            for _, _, name, loc, _ in self.pending.get(wg, ()):
                if name == acc:
                    return loc
        return False


class ReleasedReads:
    """Shared words wgmma groups were still reading when their warpgroup arrived on an mbarrier, per phase.

    The race check of ``WgmmaGroups`` sees an overwrite only if it happens, in the CPU's order of strands,
    before the reading group is waited for. On a GPU what matters is order: a stage released (``dsl.arrive``)
    while a group reading it is unretired can be refilled by whoever waits for that phase before the tensor
    cores are done, whatever the CPU's interleaving. So a release records the reads of its warpgroup's
    unretired groups under the barrier phase it completes; a thread that waits for that phase holds them,
    and its writes into those words are races -- unless the write is ordered after the group's retirement
    anyway: the writer belongs to the warpgroup that waited for it, or a CTA barrier came after the wait.

    >>> import numpy as np
    >>> r = ReleasedReads(4)
    >>> r.release(("empty", 0, 1, 0), [({"As": np.array([5, 6])}, "wgmma line", 7)], "arrive line", 1)
    >>> one = np.array([True, False, False, False])
    >>> r.acquire("empty", np.array([0]), np.array([1]), np.array([0]), one)
    >>> r.overwritten("As", np.array([6]), one, retired=set())
    ('wgmma line', 'arrive line')
    >>> r.overwritten("As", np.array([7]), one, retired=set())
    False
    >>> r.forget({7}); r.overwritten("As", np.array([6]), one, retired={7})
    False
    """

    def __init__(self, n_threads: int):
        self.phases: dict = {}     # (barrier, cta, index) -> {phase: [(reads, wgmma loc, arrive loc, group, wg)]}
        self.keys: list = []       # key id -> (barrier, cta, index, phase)
        self.ids: dict = {}
        self.held = np.full(n_threads, -1, np.int64)   # per thread: the phase it last waited for (key id)

    def __bool__(self) -> bool:
        return bool(self.phases)

    def release(self, key: tuple, reads: list, loc, wg: int) -> None:
        """Warpgroup ``wg`` arrived on ``key`` = (barrier, cta, index, phase) with ``reads`` unretired."""
        bar, cta, idx, phase = key
        self.phases.setdefault((bar, cta, idx), {}).setdefault(phase, []).extend(
            (r, wloc, loc, gid, wg) for r, wloc, gid in reads)

    def acquire(self, bar: str, cta, idx, phase, mask) -> None:
        """Threads ``mask`` waited for ``phase`` (per thread, with ``cta`` and ``idx``) of barrier ``bar``."""
        threads = np.flatnonzero(mask)
        for c, i, p in {(int(c), int(i), int(p)) for c, i, p in zip(cta, idx, phase)}:
            key = (bar, c, i, p)
            if key not in self.ids:
                self.ids[key] = len(self.keys)
                self.keys.append(key)
            sel = (cta == c) & (idx == i) & (phase == p)
            self.held[threads[sel]] = self.ids[key]
            old = self.phases.get((bar, c, i), {})
            for q in [q for q in old if q < p - 1]:   # phases no waiter can hold any more
                del old[q]

    def reset(self, bar: str) -> None:
        """Barrier array ``bar`` was initialised again (its phases restart)."""
        for key in [k for k in self.phases if k[0] == bar]:
            del self.phases[key]

    def forget(self, retired: set) -> None:
        """A CTA barrier: every thread is now ordered after the groups already waited for."""
        for per_phase in self.phases.values():
            for phase, recs in list(per_phase.items()):
                per_phase[phase] = [r for r in recs if r[3] not in retired]

    def overwritten(self, buffer: str, words: np.ndarray, mask, retired: set):
        """``(wgmma loc, arrive loc)`` when threads ``mask`` write ``words`` of ``buffer`` that a phase they
        hold released while a wgmma still read them (and the writers are not ordered after its retirement
        by being in the warpgroup that waited for it), else False."""
        writers = set((np.flatnonzero(mask) // 128).tolist())
        for kid in np.unique(self.held[mask]):
            if kid < 0:
                continue
            bar, cta, idx, phase = self.keys[kid]
            for reads, wloc, aloc, gid, wg in self.phases.get((bar, cta, idx), {}).get(phase, ()):
                if gid in retired and writers == {wg}:
                    continue
                read = reads.get(buffer)
                if read is not None and np.isin(words, read).any():
                    return wloc, aloc
        return False
