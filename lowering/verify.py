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

# How finely a value may vary inside a CTA: per thread, per warp, per warpgroup, or not at all.
LANE, WARP, WARPGROUP, UNIFORM = 0, 1, 2, 3
_ID_LEVEL = {"tx": LANE, "lane": LANE, "warp": WARP, "warpgroup": WARPGROUP}
_BARRIER_NEEDS = {"warp": WARP, "warpgroup": WARPGROUP, "cta": UNIFORM, "cluster": UNIFORM}


def _fail(loc, kernel, msg):
    raise DslError(at(loc, f"kernel {kernel.name!r}: {msg}"))


_STATE = threading.local()  # .levels: variable name -> how finely it may vary (see _level)


def _level(e) -> int:
    """The finest granularity at which ``e`` may differ between the threads of a CTA."""
    if isinstance(e, ir.ThreadIdx):
        return _ID_LEVEL.get(e.kind, UNIFORM)
    if isinstance(e, ir.Load):
        return LANE if e.buffer.scope == "local" else _level(e.index)
    if isinstance(e, ir.Var):
        return _STATE.levels.get(e.name, UNIFORM)
    if isinstance(e, ir.Call):
        if e.name in ("shfl_xor", "shfl_idx", "dsmem_load"):
            return LANE
        return min([_level(a) for a in e.args if isinstance(a, ir.Expr)] + [UNIFORM])
    return min([_level(getattr(e, f)) for f in ("a", "b", "cond") if isinstance(getattr(e, f, None), ir.Expr)]
               + [UNIFORM])


def _uses_thread(e) -> bool:
    """Whether ``e`` may differ between the threads of a CTA."""
    return _level(e) < UNIFORM


def _uniform_vars(kernel) -> dict:
    """How finely each variable may vary: the finest of its assignments and of the control around them."""
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
    levels = {p.name: UNIFORM for p in kernel.params if isinstance(p, ir.Var)}
    levels.update({a[0]: UNIFORM for a in assigns})
    _STATE.levels = levels
    changed = True
    while changed:
        changed = False
        for name, exprs, ctrl in assigns:
            lvl = min([_level(x) for x in exprs] + [_level(x) for c in ctrl for x in c] + [UNIFORM])
            if lvl < levels[name]:
                levels[name] = lvl
                changed = True
    return levels


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


def _walk(stmts, kernel, div: int):
    """``div``: how finely the threads reaching these statements may differ (UNIFORM: all of the CTA)."""
    for s in stmts:
        if isinstance(s, ir.OpCall):
            _check_op(s, kernel)
            if s.op == "reduce" and div < _BARRIER_NEEDS.get(s.scope, LANE):
                _fail(s.loc, kernel, f"{s.op} at {s.scope} scope synchronises the {s.scope} but is reached by "
                                     f"only some of its threads")
        elif isinstance(s, ir.Barrier):
            if div < _BARRIER_NEEDS[s.scope]:
                _fail(s.loc, kernel, f"barrier reached by only some threads of the {s.scope} (inside a "
                                     f"thread-dependent 'if', loop or scope slice): on a GPU this hangs or is "
                                     f"undefined")
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
            d = min(div, _level(s.cond))
            _walk(s.then, kernel, d)
            _walk(s.orelse, kernel, d)
        elif isinstance(s, ir.For):
            d = min([div] + [_level(x) for x in (s.start, s.stop, s.step)])
            _walk(s.body, kernel, LANE if _has_break(s.body) else d)
        elif isinstance(s, ir.While):
            _walk(s.body, kernel, LANE if _has_break(s.body) else min(div, _level(s.cond)))


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
    _walk(kernel.body, kernel, UNIFORM)
    return kernel



def wait_divergence(kernel: ir.Kernel) -> int | None:
    """How finely the threads of a CTA may differ where they wait on an mbarrier (``mbar_wait``): ``None``
    where every wait is reached by whole CTAs, else ``WARPGROUP``, ``WARP`` or ``LANE`` -- the finest
    thread-dependent ``if``, loop or scope slice around a wait (warp specialisation). The CPU backend runs
    the warpgroups (or warps) of such a kernel as separate strands.

    >>> from dsl import ir
    >>> bars = ir.Buffer("b", "i64", 1, "shared")
    >>> wait = ir.Evaluate(ir.Call("mbar_wait", (bars, ir.Const(0, "i32"), ir.Const(0, "i32")), "i32"))
    >>> wait_divergence(ir.Kernel("k", (), (1,), 64, (wait,))) is None
    True
    >>> first = ir.Cmp("==", ir.ThreadIdx("warpgroup"), ir.Const(0, "i32"))
    >>> wait_divergence(ir.Kernel("k", (), (1,), 256, (ir.If(first, (wait,)),))) == WARPGROUP
    True
    """
    _uniform_vars(kernel)
    found = []

    def walk(stmts, div):
        for s in stmts:
            if isinstance(s, ir.Evaluate) and isinstance(s.call, ir.Call) and s.call.name == "mbar_wait":
                if div < UNIFORM:
                    found.append(div)
            elif isinstance(s, ir.If):
                d = min(div, _level(s.cond))
                walk(s.then, d)
                walk(s.orelse, d)
            elif isinstance(s, ir.For):
                walk(s.body, min([div] + [_level(x) for x in (s.start, s.stop, s.step)]))
            elif isinstance(s, ir.While):
                walk(s.body, min(div, _level(s.cond)))
    walk(kernel.body, UNIFORM)
    return min(found) if found else None
