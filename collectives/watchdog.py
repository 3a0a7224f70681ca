"""No host collective waits forever: the collective timeout, the per-process watchdog, crash reports.

The timeout is ``AXE_COLLECTIVE_TIMEOUT`` seconds (default 300; 0 turns it off), or what
``set_collective_timeout`` set in code; ``ProcessMesh(..., timeout=s)`` sets it for one mesh.

Under MPI one daemon thread per process watches a slot that each blocking MPI call of a ``ProcessMesh``
fills just before it starts and empties when it returns: one tuple store each way, no clock, lock or
thread per call. The thread notes when it first sees a call in the slot; when the same call is still
there after the timeout it prints which collective this rank waits in, over which axes and with which
ranks, and the kernel line when a kernel's host call made it, then aborts the job (``MPI_Abort``), so
``mpiexec`` exits non-zero. The simulated mesh (``run_simulated``) waits as long, then raises
``CollectiveTimeout``.

A rank killed by a signal: ``faulthandler`` prints every thread's Python stack on SIGSEGV, SIGFPE,
SIGABRT, SIGBUS, SIGILL and SIGTERM, and the watchdog thread's frame there reads ``<rank R of N, pid P:
axe collective watchdog>``, so the dump names the rank (``mpiexec`` itself names only the pid).

>>> set_collective_timeout(5)
>>> collective_timeout()
5.0
>>> set_collective_timeout(None)  # back to AXE_COLLECTIVE_TIMEOUT, or the default
"""

from __future__ import annotations

import faulthandler
import math
import os
import signal
import sys
import threading
import time
import types

from .errors import CollectiveError
from .groups import group_of, members

DEFAULT_TIMEOUT = 300.0
ENV = "AXE_COLLECTIVE_TIMEOUT"
_override: float | None = None


def as_seconds(value, what: str) -> float:
    """``value`` as seconds >= 0, or a ``CollectiveError`` naming ``what``."""
    try:
        s = float(value)
    except (TypeError, ValueError):
        s = math.nan
    if not s >= 0:  # also NaN
        raise CollectiveError(f"{what} must be a number of seconds >= 0 (0: no timeout), got {value!r}")
    return s


def collective_timeout() -> float:
    """The collective timeout in seconds (0: none): ``set_collective_timeout``'s, else ``AXE_COLLECTIVE_TIMEOUT``
    (read at each call), else 300."""
    if _override is not None:
        return _override
    v = os.environ.get(ENV, "").strip()
    return as_seconds(v, ENV) if v else DEFAULT_TIMEOUT


def set_collective_timeout(seconds: float | None) -> None:
    """Set the collective timeout for this process (0: none; None: back to ``AXE_COLLECTIVE_TIMEOUT``)."""
    global _override
    _override = None if seconds is None else as_seconds(seconds, "the collective timeout")


class _Watch:
    """The process's slot: ``(rank, (what, axes))`` while a blocking MPI call runs, else None."""

    __slots__ = ("slot", "thread")

    def __init__(self):
        self.slot = None
        self.thread = None


WATCH = _Watch()
_lock = threading.Lock()


def limit_of(rank) -> float:
    """The timeout that applies to ``rank``'s collectives: its own ``timeout`` when set, else the process's."""
    own = getattr(rank, "timeout", None)
    return collective_timeout() if own is None else own


def describe(rank, what: str, axes) -> str:
    """``all_reduce over ('tp',) with ranks [0, 1, 2, 3] (host call reduce at line 57 of x.py)``."""
    text = what
    if axes is not None:
        color, _, _ = group_of(rank.mesh, rank.rank, axes)
        text += f" over {tuple(axes)} with ranks {members(rank.mesh, color, axes)}"
    where = getattr(rank, "where", None)
    return text + (f" ({where})" if where is not None else "")


def _expire(slot, waited: float, limit: float) -> None:
    rank, (what, axes) = slot
    try:
        text = describe(rank, what, axes)
    except Exception as e:  # noqa: BLE001 - the report must not fail: say what we know
        text = f"{what} over {axes} ({e!r})"
    sys.stderr.write(
        f"[rank {rank.rank}] collective timeout: waited {waited:.1f} s in {text}; a rank of this group that prints "
        f"no such line did not reach this call (it skipped it, waits in another collective, is still computing, "
        f"or died). Aborting the job (timeout {limit:g} s: {ENV}, collectives.set_collective_timeout or "
        f"ProcessMesh(timeout=); 0 turns it off).\n")
    sys.stderr.flush()
    time.sleep(2 * _period(limit) + 0.2)  # the other waiting ranks print their line too: the silent ones are late
    try:
        rank.comm.Abort(1)
    finally:  # Abort does not return; if it failed, end this rank at least (mpiexec then ends the job)
        os._exit(1)


def _watch_loop():
    seen, since = None, 0.0
    while True:
        slot = WATCH.slot
        now = time.monotonic()
        try:
            limit = collective_timeout() if slot is None else limit_of(slot[0])
        except CollectiveError:  # a bad AXE_COLLECTIVE_TIMEOUT set after start: keep the default
            limit = DEFAULT_TIMEOUT
        if slot is None or slot is not seen:
            seen, since = slot, now  # holding ``seen`` keeps the tuple alive: a new call is a new object
        elif limit > 0 and now - since >= limit:
            _expire(slot, now - since, limit)
        time.sleep(_period(limit))


def _period(limit: float) -> float:
    """How often the watchdog looks: a tenth of the timeout, within [0.02, 1] s."""
    return min(1.0, max(0.02, limit / 10)) if limit > 0 else 1.0


def start(rank) -> None:
    """Start this process's watchdog thread (once) and the crash reports naming ``rank``."""
    with _lock:
        if WATCH.thread is not None:
            return
        marker = f"<rank {rank.rank} of {rank.mesh.size}, pid {os.getpid()}: axe collective watchdog>"
        loop = types.FunctionType(_watch_loop.__code__.replace(co_name=marker), _watch_loop.__globals__)
        WATCH.thread = threading.Thread(target=loop, name=f"axe-watchdog-rank{rank.rank}", daemon=True)
        WATCH.thread.start()
        try:  # best effort: a stderr without a file descriptor (captured output) has no crash reports
            if not faulthandler.is_enabled():
                faulthandler.enable(all_threads=True)
            if hasattr(faulthandler, "register") and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)  # then dies as before
        except (AttributeError, OSError, RuntimeError, ValueError):
            pass
