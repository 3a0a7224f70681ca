"""Typed errors of the distributed runtime."""

from axe import AxeError


class CollectiveError(AxeError):
    """A collective could not run: mismatched calls across ranks, a timeout, an aborted mesh."""


class CollectiveMismatch(CollectiveError):
    """Ranks of one group called different collectives (op, shape or dtype differ), or compiled a kernel
    differently (its layouts, shapes or planned collectives differ)."""


class CollectiveTimeout(CollectiveError):
    """A rank waited longer than the collective timeout for the rest of its group (simulated mesh; under MPI
    the watchdog aborts the job instead: a rank blocked in MPI cannot raise)."""
