"""Peephole on thread-level IR: one ``cp.async`` wait for back-to-back asynchronous copies.

Each ``dsl.copy`` that lowers to ``cp.async`` ends with ``cp_async_wait_all``
(``lowering/schedules/copy_vectorized.py``), so two copies in a row (a GEMM's A and B tiles) wait for A's
bytes before B's copy is even issued. When
nothing between two waits but issuing more ``cp.async`` copies (loops of them, conditions, scalar
assignments that read no memory and call nothing), the first wait is redundant: the second waits for everything, and no
destination is read before it. Dropping it overlaps the copies' round trips.

>>> from lowering import ir
>>> wait = ir.Evaluate(ir.Call("cp_async_wait_all", (), "i32"))
>>> a, b = ir.Buffer("a", "f16", 64, "global"), ir.Buffer("s", "f16", 64, "shared")
>>> cp = ir.Evaluate(ir.Call("cp_async", (b, ir.Const(0, "i32"), a, ir.Const(0, "i32"), ir.Const(8, "i32")), "i32"))
>>> [s.call.name for s in merge_async_waits_in((cp, wait, cp, wait))]
['cp_async', 'cp_async', 'cp_async_wait_all']
"""

from __future__ import annotations

import dataclasses

from lowering import ir

from .irutil import may_read_memory


def _is_wait(s) -> bool:
    return isinstance(s, ir.Evaluate) and isinstance(s.call, ir.Call) and s.call.name == "cp_async_wait_all"


def _issues_only(s) -> bool:
    """``s`` only issues ``cp.async`` copies (and computes what their addresses need)."""
    if isinstance(s, ir.Evaluate) and isinstance(s.call, ir.Call) and s.call.name == "cp_async":
        return True
    if isinstance(s, ir.Assign):
        return not may_read_memory(s.value)
    if isinstance(s, ir.For):
        return not any(may_read_memory(x) for x in (s.start, s.stop, s.step)) and all(map(_issues_only, s.body))
    if isinstance(s, ir.If):
        return not may_read_memory(s.cond) and all(map(_issues_only, s.then)) and all(map(_issues_only, s.orelse))
    return False


def merge_async_waits_in(stmts) -> tuple:
    """``stmts`` (and the blocks inside them) without the waits another wait makes redundant."""
    stmts = tuple(_inner(s) for s in stmts)
    out = []
    for i, s in enumerate(stmts):
        if _is_wait(s):
            j = i + 1
            while j < len(stmts) and not _is_wait(stmts[j]) and _issues_only(stmts[j]):
                j += 1
            if j < len(stmts) and _is_wait(stmts[j]) and j > i + 1:
                continue           # the wait at j covers these copies too
        out.append(s)
    return tuple(out)


def _inner(s):
    fields = {f: merge_async_waits_in(getattr(s, f)) for f in ("body", "then", "orelse")
              if isinstance(getattr(s, f, None), tuple)}
    return dataclasses.replace(s, **fields) if fields else s


def merge_async_waits(kernel: ir.Kernel) -> ir.Kernel:
    """The kernel with redundant ``cp.async`` waits removed (see the module docstring)."""
    return dataclasses.replace(kernel, body=merge_async_waits_in(kernel.body))
