"""IR for one thread acting for its scope: electing it, and arriving once on an mbarrier for the scope.

Shared by the frontend (``dsl.arrive``) and the schedules (``dsl.copy_async`` issued or completed by one
thread of the scope).
"""

from __future__ import annotations

from . import nodes as ir

SCOPE_THREADS = {"cta": None, "warpgroup": 128, "warp": 32}    # threads per instance (None: the whole CTA)


def scope_rank(scope: str, threads: int) -> tuple:
    """``(rank, count)``: the running thread's index within its instance of ``scope`` (cta, warpgroup or
    warp) and how many threads an instance has in a CTA of ``threads``.

    >>> scope_rank("warp", 256)
    (ThreadIdx(kind='lane', dtype='i32'), 32)
    """
    size = SCOPE_THREADS[scope]
    if size is None:
        return ir.ThreadIdx("tx"), threads
    rank = ir.ThreadIdx("lane") if size == 32 else ir.BinOp("%", ir.ThreadIdx("tx"), ir.Const(size, "i32"))
    return rank, min(size, threads)


def elect(scope: str) -> ir.Expr:
    """True on the first thread of each instance of ``scope`` (the thread that issues for all of it).

    >>> elect("warp").a, elect("thread").value
    (ThreadIdx(kind='lane', dtype='i32'), True)
    """
    if scope == "thread":
        return ir.Const(True, "bool")
    return ir.Cmp("==", scope_rank(scope, 1024)[0], ir.Const(0, "i32"))


def arrive_once(scope: str, barriers: ir.Buffer, index, loc=None) -> tuple:
    """One arrival on mbarrier ``barriers[index]`` per instance of ``scope``, after all its threads got here:
    the scope's barrier, then its first thread arrives (at thread scope each thread arrives)."""
    arrive = ir.Evaluate(ir.Call("mbar_arrive", (barriers, index), "i32", loc=loc), loc=loc)
    if scope == "thread":
        return (arrive,)
    return ir.Barrier(scope, loc=loc), ir.If(elect(scope), (arrive,), loc=loc)
