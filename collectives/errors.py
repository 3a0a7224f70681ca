"""Typed errors of the distributed runtime."""

from axe import AxeError


class CollectiveError(AxeError):
    """A collective could not run: mismatched calls across ranks, a timeout, an aborted mesh."""


class CollectiveMismatch(CollectiveError):
    """Ranks of one group called different collectives (op, shape or dtype differ)."""


class CollectiveTimeout(CollectiveError):
    """A rank waited longer than the configured timeout for the rest of its group."""
