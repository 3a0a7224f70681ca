"""The CPU backend: a numpy SIMT interpreter of thread-level IR (all threads of the grid in lockstep)."""

from .interp import run

__all__ = ["run"]
