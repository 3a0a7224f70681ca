"""Small IR utilities: bottom-up expression rewriting and substitution of pointwise placeholders.

>>> from lowering import ir
>>> e = ir.BinOp("+", ir.Var("_0", "f32"), ir.Const(1.0, "f32"))
>>> substitute(e, {"_0": ir.Var("x", "f32")}).a
Var(name='x', dtype='f32')
"""

from __future__ import annotations

import dataclasses

from lowering import ir

_EXPR_FIELDS = {ir.BinOp: ("a", "b"), ir.UnOp: ("a",), ir.Cmp: ("a", "b"), ir.Logic: ("a", "b"),
                ir.Select: ("cond", "a", "b"), ir.Cast: ("a",), ir.Load: ("index",)}


def map_expr(e, fn):
    """Rebuild ``e`` bottom-up, applying ``fn`` to every node after its children."""
    fields = _EXPR_FIELDS.get(type(e))
    if fields is not None:
        new = {f: map_expr(getattr(e, f), fn) for f in fields}
        if any(new[f] is not getattr(e, f) for f in fields):
            e = dataclasses.replace(e, **new)
    elif isinstance(e, ir.Call):
        args = tuple(map_expr(a, fn) if isinstance(a, ir.Expr) else a for a in e.args)
        if args != e.args:
            e = dataclasses.replace(e, args=args)
    return fn(e)


def when(cond, stmts, loc=None) -> tuple:
    """``stmts`` guarded by ``cond``; no ``If`` when the condition is the constant True.

    >>> when(ir.Const(True, "bool"), (ir.Break(),))
    (Break(),)
    """
    stmts = tuple(stmts)
    if isinstance(cond, ir.Const) and cond.value is True:
        return stmts
    return (ir.If(cond, stmts, loc=loc),)


def loop_nest(variables, extents, body, loc=None) -> ir.Stmt:
    """``for v0 in range(e0): for v1 in range(e1): ... body`` (``body`` a statement or a tuple of them).

    >>> loop_nest([ir.Var("i", "i32")], [4], ir.Break()).stop
    Const(value=4, dtype='i32')
    """
    inner = body if isinstance(body, tuple) else (body,)
    for v, e in reversed(list(zip(variables, extents))):
        inner = (ir.For(v, ir.Const(0, "i32"), ir.Const(int(e), "i32"), ir.Const(1, "i32"), inner, loc=loc),)
    return inner[0]


def substitute(e, mapping: dict):
    """Replace ``Var``s named in ``mapping`` by the given expressions."""
    return map_expr(e, lambda x: mapping.get(x.name, x) if isinstance(x, ir.Var) else x)


def may_read_memory(e) -> bool:
    """Whether evaluating ``e`` may read memory: a load, or any intrinsic call (a shuffle reads another
    thread's registers, ``dsmem_load`` another CTA's shared memory).

    >>> from lowering import ir
    >>> may_read_memory(ir.BinOp("+", ir.Var("i", "i32"), ir.Const(1, "i32")))
    False
    """
    if isinstance(e, (ir.Load, ir.Call)):
        return True
    return any(may_read_memory(getattr(e, f)) for f in ("a", "b", "cond") if isinstance(getattr(e, f, None), ir.Expr))


def statements(stmts):
    """Every statement of ``stmts`` at any depth (the blocks of ``If``/``For``/``While`` after their
    statement), in program order.

    >>> from lowering import ir
    >>> inner = ir.Evaluate(ir.Call("setmaxnreg", (), "i32"))
    >>> [type(s).__name__ for s in statements((ir.If(ir.Const(True, "bool"), (inner,)),))]
    ['If', 'Evaluate']
    """
    for s in stmts:
        yield s
        for f in ("body", "then", "orelse"):
            yield from statements(getattr(s, f, ()))


def assigned(stmts) -> set:
    """Names of the variables ``stmts`` assign at any depth (assignments and loop variables)."""
    return {s.var.name for s in statements(stmts) if isinstance(s, (ir.Assign, ir.For))}


_WRITTEN: dict = {}   # id(kernel) -> (kernel, names): kernels are immutable, so one walk per kernel object


def written_tensors(kernel: ir.Kernel) -> frozenset:
    """Names of the global tensors the kernel may write: stored to, or the destination (first argument)
    of an intrinsic statement. Remembered per kernel object (looked up by identity, as hashing a whole
    kernel's IR would cost more than the walk): backends ask on every launch.

    >>> from lowering import ir
    >>> x, y = (ir.Buffer(n, "f32", 4, "global", (ir.Const(4, "i32"),)) for n in "xy")
    >>> body = (ir.Store(y, ir.Const(0, "i32"), ir.Load(x, ir.Const(0, "i32"))),)
    >>> sorted(written_tensors(ir.Kernel("k", (x, y), (1,), 32, body)))
    ['y']
    """
    hit = _WRITTEN.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]
    out = set()
    for st in statements(kernel.body):
        if isinstance(st, ir.Store) and st.buffer.scope == "global":
            out.add(st.buffer.name)
        elif isinstance(st, ir.Evaluate) and st.call.args and isinstance(st.call.args[0], ir.Buffer) \
                and st.call.args[0].scope == "global":
            out.add(st.call.args[0].name)
    if len(_WRITTEN) >= 256:
        _WRITTEN.pop(next(iter(_WRITTEN)))
    _WRITTEN[id(kernel)] = (kernel, frozenset(out))
    return _WRITTEN[id(kernel)][1]


def calls(stmts, name: str) -> bool:
    """Whether a statement in ``stmts`` (at any depth) evaluates intrinsic ``name``.

    >>> from lowering import ir
    >>> calls((ir.If(ir.Const(True, "bool"), (ir.Evaluate(ir.Call("setmaxnreg", (), "i32")),)),), "setmaxnreg")
    True
    """
    return any(isinstance(s, ir.Evaluate) and isinstance(s.call, ir.Call) and s.call.name == name
               for s in statements(stmts))
