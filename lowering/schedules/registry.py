"""The schedule registry: (operator, scope, lowering target) -> implementations with predicates, tried in
explicit priority order (no import-order effects).

>>> import dsl
>>> @dsl.schedule("doc_op", scope="thread", backend="cpu", name="doc_sched", when=lambda op: "only in docs")
... def _never(op, ctx):
...     return ()
>>> [s.name for s in dsl.schedules_for("doc_op", "thread", "cpu")]
['doc_sched']
>>> [s.name for s in dsl.schedules_for("fill", "warp", "cpu")]
['fill_thread', 'fill_strided', 'fill_partition']
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from lowering.ir.errors import DslError, at


@dataclass(frozen=True)
class Schedule:
    """``when(op)`` returns True to accept, or a string saying why it declines; ``lower(op, ctx)`` -> stmts.
    ``target``: the lowering it emits for (``"any"``, ``"cpu"`` or ``"cuda"``, a backend's ``lowering``).
    ``priority``: higher is tried first. ``asynchronous``: the schedule completes ``dsl.copy_async``
    copies on their barrier itself; for the others the lowering adds the arrival after the (synchronous)
    copy."""

    name: str
    op: str
    scope: str
    target: str
    when: object
    lower: object
    asynchronous: bool = False
    priority: int = 0


USER_PRIORITY = 100   # built-in schedules use 0..99: one registered without a priority is tried before them

_REGISTRY: list = []  # (-priority, -registration number, Schedule), kept sorted: the order dispatch tries


def schedule(op: str, *, scope: str, target: str = "any", when=None, name: str | None = None,
             asynchronous: bool = False, priority: int = USER_PRIORITY, backend: str | None = None):
    """Register a schedule (decorator) for operator ``op`` at ``scope`` (or ``"any"``) and lowering
    ``target`` (``backend=`` is the older name of ``target``). Schedules are tried by ``priority``, highest
    first; among equal priorities the later registration first, so a user's schedule overrides."""
    target = backend if backend is not None else target

    def deco(fn):
        s = Schedule(name or fn.__name__, op, scope, target, when or (lambda _op: True), fn, asynchronous,
                     priority)
        _REGISTRY.append((-priority, -len(_REGISTRY), s))
        _REGISTRY.sort(key=lambda entry: entry[:2])
        return fn
    return deco


def schedules_for(op: str, scope: str, target: str) -> list:
    """The schedules tried, in order, for ``op`` at ``scope`` when lowering for ``target``."""
    return [s for _, _, s in _REGISTRY
            if s.op == op and s.scope in (scope, "any") and s.target in (target, "any")]


def _verdict(s: Schedule, call, kernel):
    try:
        n = len(inspect.signature(s.when).parameters)
    except (TypeError, ValueError):
        n = 1
    return s.when(call, kernel) if n >= 2 else s.when(call)


def _tried(call, target: str, kernel):
    """``(schedule, verdict)`` for each schedule dispatch tries for ``call``, in order (lazily)."""
    for s in schedules_for(call.op, call.scope, target):
        if call.dispatch is not None and s.name != call.dispatch:
            continue
        try:
            verdict = _verdict(s, call, kernel)
        except Exception as e:  # a predicate bug must not hide the others' reasons
            verdict = f"predicate raised {type(e).__name__}: {e}"
        yield s, verdict


def explain(call, target: str, kernel=None) -> list:
    """Every schedule dispatch would try for ``call``, in priority order, with its verdict: True (it accepts)
    or the reason it declines. The first True is the one dispatch picks."""
    return list(_tried(call, target, kernel))


def dispatch(call, target: str, kernel=None):
    """The first schedule accepting ``call`` (an ``ir.OpCall``); a DslError listing every refusal otherwise.

    A predicate takes ``(op)`` or ``(op, kernel)`` (the kernel being lowered: launch geometry and all)."""
    tried = []
    for s, verdict in _tried(call, target, kernel):
        if verdict is True:
            return s
        tried.append(f"  {s.name}: {verdict or 'declined'}")
    forced = f" with dispatch={call.dispatch!r}" if call.dispatch else ""
    lines = "\n".join(tried) if tried else "  (no schedule registered)"
    raise DslError(at(call.loc, f"no schedule for {call.op} at scope {call.scope!r} for target {target!r}"
                                f"{forced}; tried:\n{lines}"))
