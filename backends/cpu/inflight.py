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
        self.pending: dict = {}       # warpgroup -> [committed, {buffer: [flat words...]}, accumulator, loc]

    def __bool__(self) -> bool:
        return bool(self.pending)

    def issue(self, wg: int, reads: dict, acc: str, loc) -> None:
        groups = self.pending.setdefault(wg, [])
        if not groups or groups[-1][0]:
            groups.append([False, {}, acc, loc])
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
            left = [g for g in groups if not any(g is r for r in retired)]
            if left:
                self.pending[wg] = left
            else:
                self.pending.pop(wg, None)

    def overwritten(self, buffer: str, words: np.ndarray):
        """The location (possibly None) of an unretired wgmma reading any of ``words`` of ``buffer``, else False."""
        for groups in self.pending.values():
            for _, reads, _, loc in groups:
                read = reads.get(buffer)
                if read is not None and np.isin(words, np.concatenate(read)).any():
                    return loc
        return False

    def accumulator_busy(self, acc: str, wgs):
        """The location (possibly None) of an unretired wgmma of warpgroups ``wgs`` writing ``acc``, else False."""
        for wg in wgs:
            for _, _, name, loc in self.pending.get(wg, ()):
                if name == acc:
                    return loc
        return False
