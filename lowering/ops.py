"""Pass: replace every ``ir.OpCall`` by the thread-level statements of the schedule dispatch picks.

>>> from dsl import ir
>>> k = ir.Kernel("k", (), (1,), 32, (ir.Barrier(),))
>>> lower_ops(k, "cpu") == k
True
"""

from __future__ import annotations

from dataclasses import replace

from dsl import ir
from dsl.schedule import dispatch

from . import elementwise as _elementwise  # noqa: F401  (registers the built-in schedules)
from . import exchange as _exchange  # noqa: F401
from . import gemm as _gemm  # noqa: F401
from . import reduce as _reduce  # noqa: F401


def _walk(stmts, kernel, backend) -> tuple:
    out = []
    for s in stmts:
        if isinstance(s, ir.OpCall):
            out.extend(dispatch(s, backend, kernel).lower(s, kernel))
        elif isinstance(s, (ir.For, ir.While)):
            out.append(replace(s, body=_walk(s.body, kernel, backend)))
        elif isinstance(s, ir.If):
            out.append(replace(s, then=_walk(s.then, kernel, backend), orelse=_walk(s.orelse, kernel, backend)))
        else:
            out.append(s)
    return tuple(out)


def lower_ops(kernel: ir.Kernel, backend: str) -> ir.Kernel:
    """The kernel with every operator call lowered to thread-level IR for ``backend``."""
    return replace(kernel, body=_walk(kernel.body, kernel, backend))
