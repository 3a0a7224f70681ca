"""The one exception family every user error of the project belongs to."""

from __future__ import annotations


class AxeError(ValueError):
    """A user error: bad layout text, an impossible operation, an unprovable fact.

    Every error the project raises for a user mistake is an ``AxeError`` (or a subclass), and
    its message names the culprit.

    >>> import axe
    >>> try:
    ...     axe.Iter(0, 1)
    ... except axe.AxeError as e:
    ...     print(e)
    iter extent must be >= 1, got 0
    """


class UnprovableError(AxeError):
    """An operation needed a fact about symbolic values that sympy could not prove."""
