"""Pass: verify a kernel before lowering; every finding is a ``DslError`` at the user's line.

Checks: dtypes of stores and assignments, thread-axis extents of register layouts fit the launch,
operator scopes fit the CTA (a warp needs 32 threads, a warpgroup 128), static regions lie inside their
tensors, barriers are not reached by part of a CTA (a barrier under a thread-dependent ``if`` or inside
a sliced scope is an error, as it would hang or be undefined on a GPU), kernel-scope operators have
device-sharded operands, and ``mma`` intrinsics get local fragments of the right dtypes.

>>> import threading

from dsl import ir
>>> k = ir.Kernel("k", (), (1,), 48, (ir.OpCall("copy", (), "warp"),))
>>> try:
...     verify(k)
... except Exception as e:
...     print(str(e).splitlines()[0])
kernel 'k': copy at warp scope needs a CTA of whole warps (48 threads)
"""

from __future__ import annotations

import threading

from dsl import ir
from dsl.errors import DslError, at

from . import operands as O

_DIVERGENT = ("tx", "lane", "warp", "warpgroup")


def _fail(loc, kernel, msg):
    raise DslError(at(loc, f"kernel {kernel.name!r}: {msg}"))


_STATE = threading.local()  # .uniform: names of variables proven the same in every thread of a CTA


def _uses_thread(e) -> bool:
    """Whether ``e`` may differ between the threads of a CTA."""
    if isinstance(e, ir.ThreadIdx):
        return e.kind in _DIVERGENT
    if isinstance(e, ir.Load):
        return e.buffer.scope == "local" or _uses_thread(e.index)
    if isinstance(e, ir.Var):
        return e.name not in _STATE.uniform
    for f in ("a", "b", "cond"):
        x = getattr(e, f, None)
        if isinstance(x, ir.Expr) and _uses_thread(x):
            return True
    if isinstance(e, ir.Call):
        return e.name == "shfl_xor" or any(isinstance(a, ir.Expr) and _uses_thread(a) for a in e.args)
    return False


def _uniform_vars(kernel) -> set:
    """Scalar parameters and locals whose every assignment is uniform and not under divergent control."""
    assigns: list = []

    def collect(stmts, ctrl):
        for s in stmts:
            if isinstance(s, ir.Assign):
                assigns.append((s.var.name, (s.value,), ctrl))
            elif isinstance(s, ir.For):
                assigns.append((s.var.name, (s.start, s.stop, s.step), ctrl))
                collect(s.body, ctrl + ((s.start, s.stop, s.step),))
            elif isinstance(s, ir.While):
                collect(s.body, ctrl + ((s.cond,),))
            elif isinstance(s, ir.If):
                collect(s.then, ctrl + ((s.cond,),))
                collect(s.orelse, ctrl + ((s.cond,),))
    collect(kernel.body, ())
    names = {p.name for p in kernel.params if isinstance(p, ir.Var)} | {a[0] for a in assigns}
    _STATE.uniform = names
    changed = True
    while changed:
        changed = False
        for name, exprs, ctrl in assigns:
            if name in names and (any(_uses_thread(x) for x in exprs) or
                                     any(_uses_thread(x) for c in ctrl for x in c)):
                names.discard(name)
                changed = True
    return names


def _check_layout(buf: ir.Buffer, kernel, loc):
    layout = buf.layout
    if layout is None or buf.scope != "local":
        return
    T = kernel.threads
    limits = {"lane": min(32, T), "warp": max(1, T // 32), "tx": T, "warpgroup": max(1, T // 128),
              "cta": int(kernel.cluster[0]) if len(kernel.cluster) == 1 or all(c == 1 for c in kernel.cluster[1:])
              else 0}
    if "warpgroup" in layout.axes:
        limits["warp"] = min(4, limits["warp"])
    for a in O.thread_axes(layout):
        lo = hi = layout.offset.get(a, 0)
        for it in layout.shard + layout.replica:
            if it.axis.name == a:
                step = it.stride * (it.extent - 1)
                lo, hi = (lo + step, hi) if step < 0 else (lo, hi + step)
        if a not in limits:
            _fail(loc, kernel, f"register tensor {buf.name!r}: layout {layout} uses axis {a!r}, which is not a "
                               f"thread axis of a CTA or cluster (tx, lane, warp, warpgroup, cta)")
        if lo < 0 or hi >= limits[a]:
            where = f"a cluster of {limits[a]} CTAs" if a == "cta" else f"a CTA of {T} threads"
            _fail(loc, kernel, f"register tensor {buf.name!r} has layout {layout} reaching {a} "
                               f"{lo if lo < 0 else hi}, but {where} has 0 <= {a} < {limits[a]}")
    if ("lane" in layout.axes or "warp" in layout.axes) and T % 32:
        _fail(loc, kernel, f"layout {layout} uses lanes/warps but the CTA has {T} threads (not whole warps)")


def _check_op(op: ir.OpCall, kernel):
    T = kernel.threads
    need = {"warp": 32, "warpgroup": 128}.get(op.scope)
    if need and T % need:
        _fail(op.loc, kernel, f"{op.op} at {op.scope} scope needs a CTA of whole {op.scope}s ({T} threads)")
    if op.scope == "cluster" and all(c == 1 for c in kernel.cluster):
        _fail(op.loc, kernel, f"{op.op} at cluster scope needs a cluster launch (@dsl.kernel(cluster=(n,)))")
    kinds = [O.kind(v) for v in op.operands]
    if op.scope == "kernel" and "device" not in kinds:
        _fail(op.loc, kernel, f"{op.op} at kernel scope needs operands sharded over devices; use a cta, "
                              f"warp or thread scope for data inside one GPU")
    for v in op.operands:
        _check_layout(v.buffer, kernel, op.loc)
        shape = O.static_shape(v.buffer) if kinds and O.kind(v) != "device" else None
        if shape is None:
            continue
        if v.buffer.layout is not None and O.kind(v) in ("distributed", "private", "memory") \
                and len(v.offsets) != len(shape):
            _fail(op.loc, kernel, f"region of {v.buffer.name!r} has {len(v.offsets)} dims, the tensor {len(shape)}")
        for o, e, d in zip(v.offsets, v.shape, shape):
            if isinstance(o, int) and (o < 0 or o + e > d):
                _fail(op.loc, kernel, f"region [{o}:{o + e}] of {v.buffer.name!r} is outside its extent {d}")


def _walk(stmts, kernel, divergent: bool):
    for s in stmts:
        if isinstance(s, ir.OpCall):
            _check_op(s, kernel)
            if divergent and s.scope in ("cta", "warpgroup") and s.op in ("reduce",):
                _fail(s.loc, kernel, f"{s.op} at {s.scope} scope synchronises the {s.scope} but is reached by "
                                     f"only some of its threads")
        elif isinstance(s, ir.Barrier):
            if divergent:
                _fail(s.loc, kernel, "barrier reached by only some threads of the CTA (inside a thread-dependent "
                                     "'if', loop or scope slice): on a GPU this hangs or is undefined")
        elif isinstance(s, ir.Store):
            if s.value.dtype != s.buffer.dtype:
                _fail(s.loc, kernel, f"store of a {s.value.dtype} value into {s.buffer.dtype} tensor "
                                     f"{s.buffer.name!r}")
        elif isinstance(s, ir.Assign):
            if s.value.dtype != s.var.dtype:
                _fail(s.loc, kernel, f"assignment of a {s.value.dtype} value to {s.var.dtype} variable "
                                     f"{s.var.name!r}")
        elif isinstance(s, ir.Alloc):
            _check_layout(s.buffer, kernel, s.loc)
        elif isinstance(s, ir.If):
            d = divergent or _uses_thread(s.cond)
            _walk(s.then, kernel, d)
            _walk(s.orelse, kernel, d)
        elif isinstance(s, ir.For):
            d = divergent or any(_uses_thread(x) for x in (s.start, s.stop, s.step))
            _walk(s.body, kernel, d or _has_break(s.body))
        elif isinstance(s, ir.While):
            _walk(s.body, kernel, divergent or _uses_thread(s.cond) or _has_break(s.body))


def _has_break(stmts) -> bool:
    for s in stmts:
        if isinstance(s, (ir.Break, ir.Continue)):
            return True
        if isinstance(s, ir.If) and (_has_break(s.then) or _has_break(s.orelse)):
            return True
    return False


def verify(kernel: ir.Kernel) -> ir.Kernel:
    """Return ``kernel`` unchanged if it is well formed; raise a ``DslError`` at the first problem."""
    if kernel.threads < 1 or kernel.threads > 1024:
        raise DslError(f"kernel {kernel.name!r}: threads per CTA must be 1..1024, got {kernel.threads}")
    _uniform_vars(kernel)
    _walk(kernel.body, kernel, False)
    return kernel
