"""IR for one thread acting for its scope: electing it, and arriving once on an mbarrier for the scope.

Shared by the frontend (``dsl.arrive``) and the schedules (``dsl.copy_async`` issued or completed by one
thread of the scope).
"""

from __future__ import annotations

from . import ir


def elect(scope: str) -> ir.Expr:
    """True on the first thread of each instance of ``scope`` (the thread that issues for all of it).

    >>> elect("warp").a, elect("thread").value
    (ThreadIdx(kind='lane', dtype='i32'), True)
    """
    rank = {"cta": ir.ThreadIdx("tx"), "warpgroup": ir.BinOp("%", ir.ThreadIdx("tx"), ir.Const(128, "i32"), "i32"),
            "warp": ir.ThreadIdx("lane"), "thread": None}[scope]
    return ir.Const(True, "bool") if rank is None else ir.Cmp("==", rank, ir.Const(0, "i32"))


def arrive_once(scope: str, barriers: ir.Buffer, index, loc=None) -> tuple:
    """One arrival on mbarrier ``barriers[index]`` per instance of ``scope``, after all its threads got here:
    the scope's barrier, then its first thread arrives (at thread scope each thread arrives)."""
    arrive = ir.Evaluate(ir.Call("mbar_arrive", (barriers, index), "i32", loc=loc), loc=loc)
    sync = () if scope == "thread" else (ir.Barrier(scope, loc=loc),)
    return sync + ((ir.If(elect(scope), (arrive,), loc=loc),) if scope != "thread" else (arrive,))
