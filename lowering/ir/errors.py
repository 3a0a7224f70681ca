"""DSL user errors: each points at the kernel's file:line with a caret.

Defined with the IR (every pass raises them) and published as ``dsl.DslError`` and
``dsl.KernelRuntimeError``, the names users catch and see in tracebacks.
"""

from __future__ import annotations

import linecache

import axe


class DslError(axe.AxeError):
    """A mistake in kernel source (unsupported construct, wrong dtype, unknown name...)."""


class KernelRuntimeError(axe.AxeError):
    """A fault found while running a kernel on the CPU backend (out-of-bounds access...)."""


DslError.__module__ = KernelRuntimeError.__module__ = "dsl"   # their public home (tracebacks, pickling)


def where(loc) -> str:
    """``file:line`` of a source location, for messages that name several lines.

    >>> from lowering.ir import Loc
    >>> where(Loc("k.py", 7, 0)), where(None)
    ('k.py:7', 'an unknown line')
    """
    return f"{loc.file}:{loc.line}" if loc is not None else "an unknown line"


def at(loc, message: str) -> str:
    """Format ``message`` with ``file:line`` and the source line with a caret under column ``loc.col``.

    >>> from lowering.ir import Loc
    >>> at(Loc("nowhere.py", 3, 2), "bad").splitlines()[0]
    'nowhere.py:3: bad'
    """
    if loc is None:
        return message
    text = linecache.getline(loc.file, loc.line).rstrip("\n")
    out = f"{loc.file}:{loc.line}: {message}"
    if text:
        out += f"\n    {text}\n    {' ' * loc.col}^"
    return out
