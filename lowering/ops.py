"""Pass: replace every ``ir.OpCall`` by the thread-level statements of the schedule dispatch picks.

>>> from lowering import ir
>>> k = ir.Kernel("k", (), (1,), 32, (ir.Barrier(),))
>>> lower_ops(k, "cpu") == k
True
"""

from __future__ import annotations

import math
from dataclasses import replace

from lowering import ir
from lowering.ir.sync import arrive_once

from .context import LowerContext
from .irutil import assigned
from .schedules import dispatch, explain


def _loop_divisor(s: ir.For, ctx: LowerContext):
    """A divisor of every value of the loop variable (start and step both multiples), if the body leaves it."""
    if s.var.name in assigned(s.body):
        return None
    return math.gcd(ctx.divisor(s.start), ctx.divisor(s.step)) or None


def _walk(stmts, ctx: LowerContext, report) -> tuple:
    out = []
    for s in stmts:
        if isinstance(s, ir.OpCall):
            if report is not None:
                report.append((s, explain(s, ctx.target, ctx)))
            sched = dispatch(s, ctx.target, ctx)
            out.extend(sched.lower(s, ctx))
            if s.attr("barrier") is not None and not sched.asynchronous:
                # completed synchronously: every thread of the scope is done, then one arrival for the copy;
                # on sm_90 the writers first make their stores visible to the async proxy (TMA, wgmma)
                if ctx.target == "cuda" and ctx.arch_at_least(9):
                    out.append(ir.Evaluate(ir.Call("fence_proxy_async", (), "i32", loc=s.loc), loc=s.loc))
                out += arrive_once(s.scope, s.attr("barrier"), s.attr("barrier_index"), s.loc)
        elif isinstance(s, ir.For):
            out.append(replace(s, body=_walk(s.body, ctx.with_fact(s.var.name, _loop_divisor(s, ctx)), report)))
        elif isinstance(s, ir.While):
            out.append(replace(s, body=_walk(s.body, ctx, report)))
        elif isinstance(s, ir.If):
            out.append(replace(s, then=_walk(s.then, ctx, report), orelse=_walk(s.orelse, ctx, report)))
        else:
            if isinstance(s, ir.Assign):  # a variable assigned once carries its value's divisor
                once = ctx.assign_counts.get(s.var.name, 0) == 1
                ctx = ctx.with_fact(s.var.name, ctx.divisor(s.value) if once else None)
            out.append(s)
    return tuple(out)


def _assign_counts(stmts, out: dict) -> dict:
    for s in stmts:
        if isinstance(s, (ir.Assign, ir.For)):
            out[s.var.name] = out.get(s.var.name, 0) + 1
        for f in ("body", "then", "orelse"):
            _assign_counts(getattr(s, f, ()), out)
    return out


def lower_ops(kernel: ir.Kernel, target: str, facts: dict | None = None, arch: str | None = None,
              report: list | None = None) -> ir.Kernel:
    """The kernel with every operator call lowered to thread-level IR for lowering ``target`` ("cpu" or
    "cuda"); ``facts`` maps scalar parameters to known divisors (the kernel's divisibility
    specialisation). ``report``, a list, receives ``(op call, registry.explain(...))`` for each operator."""
    changing = assigned(kernel.body)      # a fact about a scalar the kernel reassigns would not hold
    facts = {k: v for k, v in (facts or {}).items() if k not in changing}
    ctx = LowerContext(kernel, target, facts, _assign_counts(kernel.body, {}), arch)
    return replace(kernel, body=_walk(kernel.body, ctx, report))


def explain_text(report: list) -> str:
    """``report`` (from ``lower_ops``) as text: per operator, its line, then each schedule in the order
    dispatch tries them (priority, highest first) with why it declines; the one picked is marked.

    >>> from lowering import ir
    >>> a = ir.Buffer("a", "f32", 32, "global", (ir.Const(32, "i32"),))
    >>> op = ir.OpCall("fill", (ir.TensorView(a, (0,), (32,)),), "cta", attrs=(("value", ir.Const(0.0, "f32")),),
    ...                loc=ir.Loc("k.py", 3, 4))
    >>> k = ir.Kernel("k", (a,), (1,), 32, (op,))
    >>> report = []; _ = lower_ops(k, "cpu", report=report)
    >>> print(explain_text(report))
    k.py:3: fill at scope 'cta'
      fill_thread (priority 20): runs at thread scope, not cta
      fill_strided (priority 10): picked
      fill_partition (priority 0): no operand is a register tensor distributed over threads
    """
    out = []
    for call, tried in report:
        where = f"{call.loc.file}:{call.loc.line}: " if call.loc is not None else ""
        out.append(f"{where}{call.op} at scope {call.scope!r}" +
                   (f" (dispatch={call.dispatch!r})" if call.dispatch else ""))
        picked = False
        for s, verdict in tried:
            if verdict is True and not picked:
                why, picked = "picked", True
            elif verdict is True:
                why = "accepts (a higher-priority schedule was picked)"
            else:
                why = verdict or "declined"
            out.append(f"  {s.name} (priority {s.priority}): {why}")
        if not picked:
            out.append("  (no schedule accepts it)")
    return "\n".join(out)
