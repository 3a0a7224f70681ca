"""Pass: verify a kernel before lowering; every finding is a ``DslError`` at the user's line.

Checks: dtypes of stores and assignments, thread-axis extents of register layouts fit the launch,
operator scopes fit the CTA (a warp needs 32 threads, a warpgroup 128), static regions lie inside their
tensors, barriers are not reached by part of a CTA (a barrier under a thread-dependent ``if`` or inside
a sliced scope is an error, as it would hang or be undefined on a GPU), kernel-scope operators have
device-sharded operands, and ``mma`` intrinsics get local fragments of the right dtypes.

``verify_lowered`` checks the thread-level IR after ``lower_ops`` the same way: every barrier and every
warp- or warpgroup-collective instruction an operator lowered to (shuffles, ``mma.sync``, ``ldmatrix``,
``stmatrix``, ``wgmma``, ``setmaxnreg``) must be reached by all threads of the group that executes it
together, reported at the operator's line.

>>> from lowering import ir
>>> k = ir.Kernel("k", (), (1,), 48, (ir.OpCall("copy", (), "warp"),))
>>> try:
...     verify(k)
... except Exception as e:
...     print(str(e).splitlines()[0])
kernel 'k': copy at warp scope needs a CTA of whole warps (48 threads)
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading

from lowering import ir
from lowering.ir.errors import DslError, at

from . import operands
from .irutil import assigned

# How finely a value may vary: per thread, per warp, per warpgroup, per CTA (the same in all threads of a
# CTA, but not necessarily in the other CTAs of its cluster), or not at all (the same in a whole cluster).
LANE, WARP, WARPGROUP, CTA, UNIFORM = 0, 1, 2, 3, 4
_ID_LEVEL = {"tx": LANE, "lane": LANE, "warp": WARP, "warpgroup": WARPGROUP, "cta.x": CTA, "cta.y": CTA,
             "cta.z": CTA}
_BARRIER_NEEDS = {"warp": WARP, "warpgroup": WARPGROUP, "cta": CTA, "cluster": UNIFORM}
_VARIES = {LANE: "per thread", WARP: "per warp", WARPGROUP: "per warpgroup", CTA: "per CTA of the cluster"}
# The instructions a barrier of each scope becomes (lowering/cuda/emit.py), for messages.
_BARRIER_WHAT = {"warp": "__syncwarp()", "warpgroup": "bar.sync of its 128 threads", "cta": "__syncthreads()",
                 "cluster": "barrier.cluster.arrive/wait.aligned"}
# Intrinsics that a group of threads executes together (PTX .sync.aligned or a full-warp member mask): the
# group that must reach them all, and what they are. Every other intrinsic acts per thread.
COLLECTIVE_CALLS = {
    "shfl_xor": (WARP, "a warp shuffle (__shfl_xor_sync over all 32 lanes)"),
    "shfl_idx": (WARP, "a warp shuffle (__shfl_sync over all 32 lanes)"),
    "mma_m16n8k16": (WARP, "a warp-wide mma.sync.aligned"),
    "ldmatrix": (WARP, "a warp-wide ldmatrix.sync.aligned"),
    "stmatrix": (WARP, "a warp-wide stmatrix.sync.aligned"),
    "wgmma_m64nk16": (WARPGROUP, "a warpgroup-wide wgmma.mma_async.sync.aligned"),
    "wgmma_fence": (WARPGROUP, "a warpgroup-wide wgmma.fence.sync.aligned"),
    "wgmma_commit": (WARPGROUP, "a warpgroup-wide wgmma.commit_group.sync.aligned"),
    "wgmma_wait": (WARPGROUP, "a warpgroup-wide wgmma.wait_group.sync.aligned"),
    "setmaxnreg": (WARPGROUP, "a warpgroup-wide setmaxnreg.sync.aligned"),
}


def _fail(loc, kernel, msg):
    raise DslError(at(loc, f"kernel {kernel.name!r}: {msg}"))


_STATE = threading.local()  # .levels: variable name -> how finely it may vary (see _level)


def _level(e) -> int:
    """The finest granularity at which ``e`` may differ between the threads of a cluster (a CTA when there are
    no clusters): ``tx < 64`` and ``tx // 32`` are the same in a warp, ``cta.x // 2`` in a cluster of 2."""
    if isinstance(e, ir.ThreadIdx):
        return _ID_LEVEL.get(e.kind, UNIFORM)
    if isinstance(e, ir.Load):
        if e.buffer.scope == "local":
            return LANE
        return min(_level(e.index), CTA) if e.buffer.scope == "shared" else _level(e.index)
    if isinstance(e, ir.Var):
        return _STATE.levels.get(e.name, UNIFORM)
    if isinstance(e, ir.Call):
        if e.name in ("shfl_xor", "shfl_idx", "dsmem_load"):
            return LANE
        return min([_level(a) for a in e.args if isinstance(a, ir.Expr)] + [UNIFORM])
    block = _blocks(e)
    if block is not None:
        return _block_level(*block) if block[1] > 0 else UNIFORM
    return min([_level(getattr(e, f)) for f in ("a", "b", "cond") if isinstance(getattr(e, f, None), ir.Expr)]
               + [UNIFORM])


def _blocks(e):
    """``(id, n)`` when ``e`` is a function of a thread or CTA id constant on aligned runs of ``n`` of its
    values: ``id // n``, ``id >> log2(n)``, ``id < n``, ``id >= n``, ``id <= n - 1``, ``id > n - 1``
    (``n <= 0``: a comparison with the same answer for every id, as ids are not negative)."""
    if isinstance(e, ir.BinOp) and e.op in ("//", ">>") and isinstance(e.a, ir.ThreadIdx) \
            and isinstance(e.b, ir.Const) and isinstance(e.b.value, int) and not isinstance(e.b.value, bool):
        n = e.b.value if e.op == "//" else 1 << e.b.value if 0 <= e.b.value < 31 else 0
        return (e.a, n) if n > 0 else None   # (a negative divisor: no claim)
    if isinstance(e, ir.Cmp) and e.op in ("<", "<=", ">", ">="):
        x, c, op = e.a, e.b, e.op
        if isinstance(c, ir.ThreadIdx) and not isinstance(x, ir.ThreadIdx):
            x, c, op = c, x, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        if isinstance(x, ir.ThreadIdx) and isinstance(c, ir.Const) and isinstance(c.value, int) \
                and not isinstance(c.value, bool):
            return x, c.value if op in ("<", ">=") else c.value + 1
    return None


def _block_level(idx: ir.ThreadIdx, n: int) -> int:
    """How finely a function of ``idx`` constant on aligned runs of ``n`` values of it may differ."""
    if idx.kind == "tx":
        return WARPGROUP if n % 128 == 0 else WARP if n % 32 == 0 else LANE
    if idx.kind == "lane":
        return UNIFORM if n % 32 == 0 else LANE
    if idx.kind == "warp":
        return WARPGROUP if n % 4 == 0 else WARP
    if idx.kind.startswith("cta."):
        cluster = tuple(getattr(_STATE, "cluster", (1,))) + (1, 1, 1)
        return UNIFORM if n % int(cluster["xyz".index(idx.kind[-1])]) == 0 else CTA
    return _level(idx)


def _uniform_vars(kernel) -> dict:
    """How finely each variable may vary: the finest of its assignments and of the control around them."""
    assigns: list = []

    def collect(stmts, ctrl):
        for s in stmts:
            if isinstance(s, ir.Assign):
                assigns.append((s.var.name, (s.value,), ctrl))
            elif isinstance(s, ir.For):   # a jump's conditions decide how far each thread's loop goes
                jumps = tuple(tuple(g) for g in _break_guards(s.body) if g)
                assigns.append((s.var.name, (s.start, s.stop, s.step), ctrl + jumps))
                collect(s.body, ctrl + ((s.start, s.stop, s.step),) + jumps)
            elif isinstance(s, ir.While):
                collect(s.body, ctrl + ((s.cond,),) + tuple(tuple(g) for g in _break_guards(s.body) if g))
            elif isinstance(s, ir.If):
                collect(s.then, ctrl + ((s.cond,),))
                collect(s.orelse, ctrl + ((s.cond,),))
    collect(kernel.body, ())
    _STATE.cluster = tuple(kernel.cluster)
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
    for a in operands.thread_axes(layout):
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
    kinds = [operands.kind(v) for v in op.operands]
    if op.scope == "kernel" and "device" not in kinds:
        _fail(op.loc, kernel, f"{op.op} at kernel scope needs operands sharded over devices; use a cta, "
                              f"warp or thread scope for data inside one GPU")
    for v in op.operands:
        _check_layout(v.buffer, kernel, op.loc)
        shape = operands.static_shape(v.buffer) if kinds and operands.kind(v) != "device" else None
        if shape is None:
            continue
        if v.buffer.layout is not None and operands.kind(v) in ("distributed", "private", "memory") \
                and len(v.offsets) != len(shape):
            _fail(op.loc, kernel, f"region of {v.buffer.name!r} has {len(v.offsets)} dims, the tensor {len(shape)}")
        for o, e, d in zip(v.offsets, v.shape, shape):
            if isinstance(o, int) and (o < 0 or o + e > d):
                _fail(op.loc, kernel, f"region [{o}:{o + e}] of {v.buffer.name!r} is outside its extent {d}")


@contextlib.contextmanager
def _loop_var(s: ir.For):
    """Inside its own body a loop variable varies only as the loop's bounds do: every thread that runs the
    loop counts the same way, whatever other code (another warpgroup's loop over the same name) assigns it.
    The kernel-wide level (``_uniform_vars``) stays for the code after the loop and for values computed
    from the variable."""
    levels = _STATE.levels
    name = s.var.name
    if name in assigned(s.body):
        yield
        return
    old = levels.get(name)
    levels[name] = min(_level(x) for x in (s.start, s.stop, s.step))
    try:
        yield
    finally:
        if old is None:
            levels.pop(name, None)
        else:
            levels[name] = old


_INT_RANGE = {"i8": (-2**7, 2**7 - 1), "i32": (-2**31, 2**31 - 1), "i64": (-2**63, 2**63 - 1)}


def _own_exprs(s) -> list:
    """The expressions a statement of the verified (operator-level) IR evaluates itself."""
    if isinstance(s, ir.OpCall):
        out = [v for _, v in s.attrs if isinstance(v, ir.Expr)]
        for view in s.operands:
            out += [o for o in getattr(view, "offsets", ()) if isinstance(o, ir.Expr)]
        return out
    if isinstance(s, ir.While):
        return [s.cond]
    return list(_exprs(s))


def _undefined(e) -> str | None:
    """What in ``e`` has no defined value in C++ (and so on no GPU): an integer constant its dtype does not
    hold, an integer division or modulo by a constant 0, a shift by a constant outside the type's width."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, ir.Const):
            v = x.value
            if type(v) is int and x.dtype in _INT_RANGE and not _INT_RANGE[x.dtype][0] <= v <= _INT_RANGE[x.dtype][1]:
                return f"constant {v} does not fit in {x.dtype}"
            continue
        if isinstance(x, ir.BinOp) and isinstance(x.b, ir.Const) and type(x.b.value) is int \
                and x.dtype in _INT_RANGE:
            if x.op in ("//", "%") and x.b.value == 0:
                return f"integer {'division' if x.op == '//' else 'modulo'} by zero"
            bits = {"i8": 8, "i32": 32, "i64": 64}[x.dtype]
            if x.op in ("<<", ">>") and not 0 <= x.b.value < bits:
                return f"shift by {x.b.value} of a {bits}-bit integer"
        for v in vars(x).values():
            if isinstance(v, ir.Expr):
                stack.append(v)
            elif isinstance(v, tuple):
                stack.extend(y for y in v if isinstance(y, ir.Expr))
    return None


def _walk(stmts, kernel, div: int):
    """``div``: how finely the threads reaching these statements may differ (UNIFORM: not at all)."""
    for s in stmts:
        for e in _own_exprs(s):
            bad = _undefined(e)
            if bad:
                _fail(s.loc, kernel, f"{bad} (undefined in C++, so on a GPU)")
        if isinstance(s, ir.OpCall):
            _check_op(s, kernel)
            if div < _BARRIER_NEEDS.get(s.scope, LANE):
                group = "CTA" if s.scope == "cta" else s.scope
                _fail(s.loc, kernel, f"{s.op} at {s.scope} scope is done by all threads of the {group} together, "
                                     f"but the conditions around it differ {_VARIES[div]}: only some of them "
                                     f"would reach it, doing their part of it, or hanging")
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
            with _loop_var(s):
                _walk(s.body, kernel, min(d, _break_level(s.body)))
        elif isinstance(s, ir.While):
            _walk(s.body, kernel, min(div, _level(s.cond), _break_level(s.body)))


def _break_guards(stmts, around=()) -> list:
    """The conditions around each ``break``/``continue`` of this loop body (not of loops nested in it): one
    tuple per jump, empty for an unconditional one."""
    out = []
    for s in stmts:
        if isinstance(s, (ir.Break, ir.Continue)):
            out.append(tuple(around))
        elif isinstance(s, ir.If):
            out += _break_guards(s.then, around + (s.cond,)) + _break_guards(s.orelse, around + (s.cond,))
    return out


def _break_level(stmts) -> int:
    """How finely the threads still running a loop body may differ because of its jumps: the finest of the
    conditions guarding a ``break`` or ``continue`` (UNIFORM without any)."""
    return min([_level(c) for guards in _break_guards(stmts) for c in guards] + [UNIFORM])


def verify(kernel: ir.Kernel) -> ir.Kernel:
    """Return ``kernel`` unchanged if it is well formed; raise a ``DslError`` at the first problem."""
    if kernel.threads < 1 or kernel.threads > 1024:
        raise DslError(f"kernel {kernel.name!r}: threads per CTA must be 1..1024, got {kernel.threads}")
    _uniform_vars(kernel)
    _walk(kernel.body, kernel, UNIFORM)
    return kernel


# -- after lowering: the barriers and collective instructions the operators became ---------------------
def verify_lowered(kernel: ir.Kernel, source: ir.Kernel | None = None) -> ir.Kernel:
    """Return the thread-level ``kernel`` (after ``lower_ops``) unchanged if every ``Barrier`` is reached by
    all threads of its scope and every collective intrinsic (``COLLECTIVE_CALLS``: shuffles, ``mma.sync``,
    ``ldmatrix``, ``stmatrix``, ``wgmma``, ``setmaxnreg``) by all threads of its warp or warpgroup; else
    raise a ``DslError`` at the line of the operator that lowered to it (``source``, the kernel before
    lowering, names the operator). A warp (warpgroup) collective in a CTA that ends in a partial warp
    (warpgroup) is an error too.

    Conditions uniform over the group are fine: a scope slice such as ``dsl.warpgroup()[1:3]`` around a
    warpgroup barrier or a wgmma, ``lane == 0`` around an mbarrier arrival or a TMA issue (no collective
    inside).

    >>> from lowering import ir
    >>> v = ir.Var("v", "f32")
    >>> shfl = ir.Assign(v, ir.Call("shfl_xor", (v, ir.Const(1, "i32")), "f32"), loc=ir.Loc("k.py", 9))
    >>> half = ir.Cmp("<", ir.ThreadIdx("lane"), ir.Const(16, "i32"))
    >>> try:
    ...     verify_lowered(ir.Kernel("k", (), (1,), 32, (ir.If(half, (shfl,)),)))
    ... except Exception as e:
    ...     print(str(e).split(", which")[0])
    k.py:9: kernel 'k': shfl_xor is a warp shuffle (__shfl_xor_sync over all 32 lanes)
    >>> warp0 = ir.Cmp("<", ir.ThreadIdx("tx"), ir.Const(32, "i32"))       # whole warps: fine
    >>> verify_lowered(ir.Kernel("k", (), (1,), 64, (ir.If(warp0, (shfl,)),))).threads
    64
    """
    _uniform_vars(kernel)
    ops: dict = {}
    if source is not None:
        _collect_ops(source.body, ops)
    _walk_lowered(kernel.body, kernel, UNIFORM, None, ops)
    return kernel


def _collect_ops(stmts, ops: dict):
    for s in stmts:
        if isinstance(s, ir.OpCall) and s.loc is not None:
            ops.setdefault(s.loc, s)
        for f in ("body", "then", "orelse"):
            _collect_ops(getattr(s, f, ()), ops)


def _collective_calls(e, div: int, out: list):
    """``(call, div)`` for every collective intrinsic evaluated in ``e``; the branches of ``c ? a : b`` and
    the right operand of ``a && b`` / ``a || b`` run only where the condition lets them (C semantics)."""
    if isinstance(e, ir.Call):
        if e.name in COLLECTIVE_CALLS:
            out.append((e, div))
        for a in e.args:
            if isinstance(a, ir.Expr):
                _collective_calls(a, div, out)
    elif isinstance(e, ir.Select):
        _collective_calls(e.cond, div, out)
        d = min(div, _level(e.cond))
        _collective_calls(e.a, d, out)
        _collective_calls(e.b, d, out)
    elif isinstance(e, ir.Logic):
        _collective_calls(e.a, div, out)
        _collective_calls(e.b, min(div, _level(e.a)), out)
    elif not isinstance(e, _LEAVES):
        fields = _CHILDREN.get(type(e)) or [f.name for f in dataclasses.fields(e)]
        for f in fields:
            x = getattr(e, f)
            if isinstance(x, ir.Expr):
                _collective_calls(x, div, out)
    return out


_LEAVES = (ir.Const, ir.Var, ir.ThreadIdx)
_CHILDREN = {ir.BinOp: ("a", "b"), ir.UnOp: ("a",), ir.Cmp: ("a", "b"), ir.Cast: ("a",), ir.Load: ("index",)}


def _exprs(s) -> tuple:
    """The expressions a statement evaluates itself (not those of the statements nested in it)."""
    if isinstance(s, ir.Assign):
        return (s.value,)
    if isinstance(s, ir.Store):
        return (s.index, s.value)
    if isinstance(s, ir.Evaluate):
        return (s.call,)
    if isinstance(s, ir.If):
        return (s.cond,)
    if isinstance(s, ir.For):
        return (s.start, s.stop, s.step)
    return ()


def _diverged(loc, kernel, ops, alone: str, what: str, need: int, div: int):
    """Fail at ``loc``: ``what`` (an operator's lowering, else ``alone``, the statement by itself) is reached by
    part of the group that must execute it together."""
    op = ops.get(loc)
    group = {WARP: "warp", WARPGROUP: "warpgroup", CTA: "CTA", UNIFORM: "cluster"}[need]
    subject = f"{op.op} at {op.scope} scope lowers to {what}" if op is not None else alone
    source = "CTA" if div == CTA else "thread"
    _fail(loc, kernel, f"{subject}, which all threads of the {group} execute together, but the conditions around "
                       f"it differ {_VARIES[div]} (a {source}-dependent 'if', loop or scope slice): on a GPU this "
                       f"hangs or is undefined; move it out of the condition, or make the condition the same for "
                       f"whole {group}s")


_GROUP_THREADS = {WARP: 32, WARPGROUP: 128}


def _partial(loc, kernel, ops, alone: str, what: str, need: int):
    """Fail at ``loc``: a warp (warpgroup) collective in a CTA that ends in a partial warp (warpgroup), whose
    missing threads the instruction names (the CPU backend's shuffles would even read the next CTA's)."""
    op = ops.get(loc)
    subject = f"{op.op} at {op.scope} scope lowers to {what}" if op is not None else alone
    group, n = ("warp", 32) if need == WARP else ("warpgroup", 128)
    _fail(loc, kernel, f"{subject}, which all {n} threads of a {group} execute together, but the CTA has "
                       f"{kernel.threads} threads: its last {group} has only {kernel.threads % n} (use a "
                       f"multiple of {n} threads)")


def _walk_lowered(stmts, kernel, div: int, loc, ops):
    """``div``: how finely the threads reaching ``stmts`` may differ; ``loc``: the innermost known line."""
    for s in stmts:
        here = getattr(s, "loc", None) or loc
        if isinstance(s, ir.While):       # the condition is evaluated again by the threads still looping
            inner = min(div, _level(s.cond), _break_level(s.body))
            checks = [(s.cond, inner)]
        else:
            checks = [(e, div) for e in _exprs(s)]
        for e, d0 in checks:
            for call, d in _collective_calls(e, d0, []):
                need, what = COLLECTIVE_CALLS[call.name]
                at_ = here if getattr(s, "loc", None) is not None else call.loc or here
                if kernel.threads % _GROUP_THREADS[need]:
                    _partial(at_, kernel, ops, f"{call.name} is {what}", what, need)
                if d < need:
                    _diverged(at_, kernel, ops, f"{call.name} is {what}", what, need, d)
        if isinstance(s, ir.Barrier) and div < _BARRIER_NEEDS[s.scope]:
            what = f"a {s.scope} barrier ({_BARRIER_WHAT[s.scope]})"
            _diverged(here, kernel, ops, f"barrier at {s.scope} scope ({_BARRIER_WHAT[s.scope]})", what,
                      _BARRIER_NEEDS[s.scope], div)
        elif isinstance(s, ir.If):
            d = min(div, _level(s.cond))
            _walk_lowered(s.then, kernel, d, here, ops)
            _walk_lowered(s.orelse, kernel, d, here, ops)
        elif isinstance(s, ir.For):
            d = min([div] + [_level(x) for x in (s.start, s.stop, s.step)])
            with _loop_var(s):
                _walk_lowered(s.body, kernel, min(d, _break_level(s.body)), here, ops)
        elif isinstance(s, ir.While):
            _walk_lowered(s.body, kernel, inner, here, ops)


def wait_divergence(kernel: ir.Kernel) -> int | None:
    """How finely the threads of a CTA may differ where they wait on an mbarrier (``mbar_wait``): ``None``
    where every wait is reached by whole CTAs, else ``WARPGROUP``, ``WARP`` or ``LANE`` -- the finest
    thread-dependent ``if``, loop or scope slice around a wait (warp specialisation). The CPU backend runs
    the warpgroups (or warps) of such a kernel as separate strands.

    >>> from lowering import ir
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
                if div < CTA:
                    found.append(div)
            elif isinstance(s, ir.If):
                d = min(div, _level(s.cond))
                walk(s.then, d)
                walk(s.orelse, d)
            elif isinstance(s, ir.For):
                with _loop_var(s):
                    walk(s.body, min([div] + [_level(x) for x in (s.start, s.stop, s.step)]))
            elif isinstance(s, ir.While):
                walk(s.body, min(div, _level(s.cond)))
    walk(kernel.body, UNIFORM)
    return min(found) if found else None
