"""What the CPU machine needs to run threads that wait for each other: mbarriers and counting barriers.

``Mbarriers`` keeps every mbarrier of a launch per CTA as the hardware does: the arrivals each phase expects,
the arrivals and transaction bytes still pending, and how many phases have completed. A phase completes
when its last arrival has come and every announced byte has landed; ``mbar_wait(bar, parity)`` returns
once the phase of that parity has completed (the current phase's parity differs), exactly like
``mbarrier.try_wait.parity`` -- so a wait on parity 1 before anything arrived returns at once, and a wait
two phases behind blocks, as on a GPU.

``BarrierCounter`` is ``bar.sync`` for threads that reach a barrier at different times (warp-specialised
kernels run as several strands, see ``interp.run``): each group (CTA, warpgroup) completes when all its
threads that have not exited have arrived.

>>> import numpy as np
>>> from lowering import ir
>>> bars = ir.Buffer("full", "i64", 2, "shared")
>>> m = Mbarriers(np.zeros(4, np.int64), n_cta=1)         # 4 threads of one CTA
>>> one = np.array([True, False, False, False])
>>> m.init(bars, np.zeros(4, np.int64), np.full(4, 2), one)
>>> m.ready(bars, np.zeros(4, np.int64), np.zeros(4, np.int64), one)   # phase 0 has not completed
False
>>> m.arrive(bars, np.zeros(4, np.int64), one); m.arrive(bars, np.zeros(4, np.int64), one)
>>> m.ready(bars, np.zeros(4, np.int64), np.zeros(4, np.int64), one), m.phases(bars)[0].tolist()
(True, [1, 0])
"""

from __future__ import annotations

import numpy as np

from lowering.ir.errors import KernelRuntimeError


class Mbarriers:
    """Per-CTA state of every mbarrier array (see the module docstring); ``epoch`` counts changes."""

    def __init__(self, cta_of_thread: np.ndarray, n_cta: int):
        self.cta = np.asarray(cta_of_thread, np.int64)
        self.n_cta = n_cta
        self.arrays: dict = {}   # buffer name -> dict of (n_cta, size) int64 arrays
        self.epoch = 0

    def _state(self, buf):
        st = self.arrays.get(buf.name)
        if st is None:
            shape = (self.n_cta, int(buf.size))
            st = self.arrays[buf.name] = {k: np.zeros(shape, np.int64) for k in ("count", "pending", "tx", "phase")}
            st["live"] = np.zeros(shape, bool)
        return st

    def _pairs(self, buf, idx, mask, what):
        """(cta, index) of every active thread, with how many threads act on each."""
        idx = np.broadcast_to(np.asarray(idx, np.int64), mask.shape)[mask]
        size = int(buf.size)
        if ((idx < 0) | (idx >= size)).any():
            raise KernelRuntimeError(f"{what}: mbarrier index {int(idx[(idx < 0) | (idx >= size)][0])} out of range "
                                     f"for {buf.name!r} ({size} barriers)")
        keys, counts = np.unique(self.cta[mask] * size + idx, return_counts=True)
        return keys // size, keys % size, counts

    def _need_live(self, st, buf, c, i, what):
        dead = ~st["live"][c, i]
        if dead.any():
            raise KernelRuntimeError(f"{what} of mbarrier {buf.name!r}[{int(i[dead][0])}] in CTA {int(c[dead][0])} "
                                     f"before it was initialised (or after mbarrier.inval)")

    def init(self, buf, idx, count, mask):
        st = self._state(buf)
        count = np.broadcast_to(np.asarray(count, np.int64), mask.shape)[mask]
        idxs = np.broadcast_to(np.asarray(idx, np.int64), mask.shape)[mask]
        for cta, i, n in zip(self.cta[mask], idxs, count):
            st["count"][cta, i] = st["pending"][cta, i] = n
            st["tx"][cta, i] = st["phase"][cta, i] = 0
            st["live"][cta, i] = True
        self.epoch += 1

    def inval(self, buf, idx, mask):
        c, i, _ = self._pairs(buf, idx, mask, "mbarrier.inval")
        self._state(buf)["live"][c, i] = False
        self.epoch += 1

    def arrive(self, buf, idx, mask, tx_bytes=0):
        """One arrival per active thread; ``tx_bytes`` (per thread) announced first, as ``arrive.expect_tx``."""
        st = self._state(buf)
        c, i, counts = self._pairs(buf, idx, mask, "mbarrier.arrive")
        self._need_live(st, buf, c, i, "arrival")
        st["tx"][c, i] += counts * int(tx_bytes)
        st["pending"][c, i] -= counts
        if (st["pending"][c, i] < 0).any():
            bad = int(np.argmax(st["pending"][c, i] < 0))
            raise KernelRuntimeError(f"mbarrier {buf.name!r}[{int(i[bad])}] in CTA {int(c[bad])} got more arrivals "
                                     f"than its phase expects ({int(st['count'][c[bad], i[bad]])})")
        self._complete(st, c, i)

    def complete_tx(self, buf, idx, mask, nbytes: int):
        """Bytes of an asynchronous copy landed (the CPU copies at issue): counted down on each barrier."""
        st = self._state(buf)
        c, i, counts = self._pairs(buf, idx, mask, "cp.async.bulk completion")
        self._need_live(st, buf, c, i, "a copy's completion")
        st["tx"][c, i] -= counts * int(nbytes)
        self._complete(st, c, i)

    def _complete(self, st, c, i):
        done = (st["pending"][c, i] == 0) & (st["tx"][c, i] == 0)
        c, i = c[done], i[done]
        st["phase"][c, i] += 1
        st["pending"][c, i] = st["count"][c, i]
        self.epoch += 1

    def ready(self, buf, idx, parity, mask) -> bool:
        """Whether, for every active thread, the phase of ``parity`` of its barrier has completed."""
        st = self._state(buf)
        c, i, _ = self._pairs(buf, idx, mask, "mbarrier wait")
        self._need_live(st, buf, c, i, "wait")
        par = np.broadcast_to(np.asarray(parity, np.int64), mask.shape)[mask]
        phase = st["phase"][self.cta[mask], np.broadcast_to(np.asarray(idx, np.int64), mask.shape)[mask]]
        return bool(((phase & 1) != (par & 1)).all())

    def phases(self, buf) -> np.ndarray:
        """Completed phases of each barrier of ``buf``, (n_cta, size)."""
        return self._state(buf)["phase"]

    def completed(self, name: str, cta: int, index: int) -> int:
        """Completed phases of barrier ``index`` of the array called ``name`` in ``cta`` (0 if never used)."""
        st = self.arrays.get(name)
        return int(st["phase"][cta, index]) if st is not None else 0


class BarrierCounter:
    """``bar.sync`` over strands: arrivals per thread, and a generation per thread that a completion advances."""

    def __init__(self, n: int):
        self.arrived = np.zeros(n, bool)
        self.gen = np.zeros(n, np.int64)
        self.epoch = 0

    def arrive(self, mask, group: int, exited) -> np.ndarray:
        """Record the arrival of ``mask``; complete every group of ``group`` threads whose live threads are
        all there. Returns the generation each arriving thread waits to pass."""
        want = self.gen.copy()
        self.arrived |= mask
        g = (self.arrived | exited).reshape(-1, group).all(axis=1) & self.arrived.reshape(-1, group).any(axis=1)
        done = np.repeat(g, group)
        self.gen[done] += 1
        self.arrived[done] = False
        self.epoch += 1
        return want

    def passed(self, mask, want) -> bool:
        return bool((self.gen[mask] > want[mask]).all())
