"""Pass: split a kernel with device-level collectives into kernel segments and host collective calls.

A kernel-scope ``copy`` or ``reduce`` whose operands are sharded over devices (their layouts use device
axes) cannot run inside one GPU's kernel: the kernel is cut there. Each maximal run of other statements
becomes an ``ir.Launch`` of a segment kernel (same parameters, grid and CTA); each collective becomes an
``ir.HostCall`` that names the operation, the tensors, their global shape and their layouts. Which
collectives run (all-gather, slice, all-to-all, permute, reduce-scatter, all-reduce) is derived from the
two layouts and the mesh at run time (``collectives.program``). ``transport`` says how: ``"host"`` (MPI or
NCCL calls between launches); fused in-kernel communication would be another transport.

Register or shared tensors and local variables do not survive a cut; using one across it is an error.

>>> from lowering import ir
>>> k = ir.Kernel("k", (), (1,), 32, (ir.Barrier(),))
>>> [type(s).__name__ for s in split_host_calls(k).steps]
['Launch']
"""

from __future__ import annotations

import dataclasses

from lowering import ir
from lowering.ir.errors import DslError, at

from . import operands


def is_host_collective(s) -> bool:
    return isinstance(s, ir.OpCall) and any(operands.kind(v) == "device" for v in s.operands)


def nested_collective(stmts):
    for s in stmts:
        if is_host_collective(s):
            return s
        for f in ("body", "then", "orelse"):
            hit = nested_collective(getattr(s, f, ()))
            if hit is not None:
                return hit
    return None


def host_call(op: ir.OpCall) -> ir.HostCall:
    """The ``HostCall`` of a kernel-scope collective: everything the runtime needs, printable as IR."""
    if op.scope != "kernel":
        raise DslError(at(op.loc, f"{op.op} on tensors sharded over devices must be written at kernel scope "
                                  f"(with dsl.kernel_scope():), not {op.scope}"))
    dst, src = op.operands
    for v in op.operands:
        if operands.kind(v) != "device":
            raise DslError(at(op.loc, f"{op.op}: {v.buffer.name!r} is not sharded over devices; both operands of a "
                                      f"device-level {op.op} are kernel parameters with device layouts"))
        if any(o != 0 for o in v.offsets) or tuple(v.shape) != _global_shape(v):
            raise DslError(at(op.loc, f"{op.op}: device-level operands are whole tensors (no regions)"))
    if op.op == "copy":
        if tuple(dst.shape) != tuple(src.shape):
            raise DslError(at(op.loc, f"copy: shapes {dst.shape} and {src.shape} differ"))
        extra = ()
    elif op.op == "reduce":
        dims = op.attr("dims")
        if op.attr("kind") != "sum" or len(dims) != 1:
            raise DslError(at(op.loc, f"a device-level reduce sums over one dim (got {op.attr('kind')} over {dims})"))
        if len(dst.shape) != len(src.shape) - 1:
            raise DslError(at(op.loc, "a device-level sum drops the reduced dim (the destination has one dim less)"))
        extra = (("dim", dims[0]), ("kind", "sum"))
    else:
        raise DslError(at(op.loc, f"{op.op} has no device-level form (copy and sum do)"))
    args = (("dst", dst.buffer.name), ("src", src.buffer.name), ("dst_shape", tuple(dst.shape)),
            ("src_shape", tuple(src.shape)), ("dst_layout", dst.buffer.layout), ("src_layout", src.buffer.layout),
            ("dtype", src.buffer.dtype), ("transport", "host"), ("line", op.loc.line if op.loc else 0)) + extra
    return ir.HostCall(op.op, args)


def _global_shape(v):
    return tuple(v.shape)


def _names(stmts, out_bufs: set, out_vars: set, reads: bool):
    """Buffers and variables a statement list allocates/assigns (``reads=False``) or uses (``True``)."""
    for s in stmts:
        if reads:
            for e in _exprs(s):
                _expr_names(e, out_bufs, out_vars)
            if isinstance(s, ir.Store):
                out_bufs.add(s.buffer.name)
            if isinstance(s, ir.OpCall):
                out_bufs.update(v.buffer.name for v in s.operands)
        else:
            if isinstance(s, ir.Alloc):
                out_bufs.add(s.buffer.name)
            if isinstance(s, ir.Assign):
                out_vars.add(s.var.name)
            if isinstance(s, ir.For):
                out_vars.add(s.var.name)
        for f in ("body", "then", "orelse"):
            _names(getattr(s, f, ()), out_bufs, out_vars, reads)


def _exprs(s):
    for f in ("value", "index", "cond", "start", "stop", "step", "call"):
        e = getattr(s, f, None)
        if isinstance(e, ir.Expr):
            yield e
    if isinstance(s, ir.OpCall):
        for _, v in s.attrs:
            if isinstance(v, ir.Expr):
                yield v


def _expr_names(e, bufs, vars_):
    if isinstance(e, ir.Var):
        vars_.add(e.name)
    elif isinstance(e, ir.Load):
        bufs.add(e.buffer.name)
    elif isinstance(e, ir.Call):
        for a in e.args:
            if isinstance(a, ir.Buffer):
                bufs.add(a.name)
    for f in ("a", "b", "cond", "index"):
        x = getattr(e, f, None)
        if isinstance(x, ir.Expr):
            _expr_names(x, bufs, vars_)
    if isinstance(e, ir.Call):
        for a in e.args:
            if isinstance(a, ir.Expr):
                _expr_names(a, bufs, vars_)


def split_host_calls(kernel: ir.Kernel) -> ir.Program:
    """The kernel as ``Launch`` / ``HostCall`` steps, in program order."""
    for s in kernel.body:
        if not is_host_collective(s):
            hit = nested_collective([s])
            if hit is not None:
                raise DslError(at(hit.loc, f"{hit.op} on tensors sharded over devices inside a loop or branch: "
                                           f"host collectives run between kernel launches, so they must be at the "
                                           f"kernel's top level"))
    segments, calls, current = [], [], []
    for s in kernel.body:
        if is_host_collective(s):
            segments.append(tuple(current))
            calls.append((host_call(s), s))
            current = []
        else:
            current.append(s)
    segments.append(tuple(current))
    params = {p.name for p in kernel.params}
    owner: dict = {}
    for i, seg in enumerate(segments):
        bufs, vars_ = set(), set()
        _names(seg, bufs, vars_, reads=False)
        for n in bufs | vars_:
            owner.setdefault(n, i)
    for i, seg in enumerate(segments):
        bufs, vars_ = set(), set()
        _names(seg, bufs, vars_, reads=True)
        for n in sorted((bufs | vars_) - params):
            if owner.get(n, i) != i:
                op = calls[min(i, owner[n]) if min(i, owner[n]) < len(calls) else -1][1]
                raise DslError(at(op.loc, f"{n!r} is used on both sides of this device-level {op.op}: register and "
                                          f"shared tensors and local variables do not survive the split into "
                                          f"separate kernel launches (recompute them, or pass a global tensor)"))
    steps = []
    for i, seg in enumerate(segments):
        if seg:
            name = kernel.name if len(segments) == 1 else f"{kernel.name}_part{i}"
            steps.append(ir.Launch(dataclasses.replace(kernel, name=name, body=seg)))
        if i < len(calls):
            steps.append(calls[i][0])
    return ir.Program(tuple(steps), tuple(kernel.params))
