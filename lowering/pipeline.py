"""The pass pipeline from frontend IR to what a backend runs, keeping the IR after every pass.

Passes, in order: ``verify`` (well-formedness, at the user's lines), ``split_host_calls`` (only when the
kernel has kernel-scope collectives on device-sharded tensors: the kernel becomes an ``ir.Program`` of
kernel segments and host collectives), ``lower_ops`` (each operator -> its schedule's thread-level
code), ``simplify`` (index arithmetic with value ranges; then back-to-back ``cp.async`` copies share one
wait, ``async_waits``). The simplified thread-level IR is checked by
``verify_lowered`` (barriers and warp/warpgroup-collective instructions reached by whole groups).

>>> from lowering import ir
>>> k = ir.Kernel("k", (), (1,), 32, (ir.Barrier(),))
>>> [name for name, _ in run_passes(k, "cpu")]
['frontend', 'verify', 'lower_ops', 'simplify']
"""

from __future__ import annotations

import dataclasses

from lowering import ir

from .async_waits import merge_async_waits
from .ops import explain_text, lower_ops
from .simplify import simplify
from .split import nested_collective, split_host_calls
from .verify import verify, verify_lowered


def _has_kernel_scope_collective(k: ir.Kernel) -> bool:
    return any(isinstance(s, ir.OpCall) and s.scope == "kernel" for s in k.body) or \
        nested_collective(k.body) is not None


def _per_launch(prog, fn):
    steps = tuple(ir.Launch(fn(s.kernel)) if isinstance(s, ir.Launch) else s for s in prog.steps)
    return dataclasses.replace(prog, steps=steps)


def run_passes(kernel: ir.Kernel, target: str, facts: dict | None = None, arch: str | None = None) -> list:
    """``[(pass name, IR after it), ...]`` starting with the frontend's IR; the last entry is what a
    backend whose lowering is ``target`` runs (an ``ir.Kernel``, or an ``ir.Program`` when host
    collectives split the kernel)."""
    out = [("frontend", kernel)]
    k = verify(kernel)
    out.append(("verify", k))
    if _has_kernel_scope_collective(k):
        prog = split_host_calls(k)
        out.append(("split_host_calls", prog))
        prog = _per_launch(prog, lambda seg: lower_ops(seg, target, facts, arch))
        out.append(("lower_ops", prog))
        out.append(("simplify", _per_launch(prog, lambda seg: verify_lowered(merge_async_waits(simplify(seg)), k))))
        return out
    lowered = lower_ops(k, target, facts, arch)
    out.append(("lower_ops", lowered))
    out.append(("simplify", verify_lowered(merge_async_waits(simplify(lowered)), k)))
    return out


def explain_dispatch(kernel: ir.Kernel, target: str, facts: dict | None = None, arch: str | None = None) -> str:
    """For each operator of ``kernel`` (frontend IR), the schedules dispatch tries when lowering for ``target``,
    in priority order, with each one's verdict (``lowering.ops.explain_text``); a kernel split around
    device collectives is explained segment by segment."""
    k = verify(kernel)
    segments = [s.kernel for s in split_host_calls(k).steps if isinstance(s, ir.Launch)] \
        if _has_kernel_scope_collective(k) else [k]
    report: list = []
    for seg in segments:
        lower_ops(seg, target, facts, arch, report)
    return explain_text(report)
