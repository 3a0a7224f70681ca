"""Small IR utilities: bottom-up expression rewriting and substitution of pointwise placeholders.

>>> from dsl import ir
>>> e = ir.BinOp("+", ir.Var("_0", "f32"), ir.Const(1.0, "f32"))
>>> substitute(e, {"_0": ir.Var("x", "f32")}).a
Var(name='x', dtype='f32')
"""

from __future__ import annotations

import dataclasses

from dsl import ir

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


def substitute(e, mapping: dict):
    """Replace ``Var``s named in ``mapping`` by the given expressions."""
    return map_expr(e, lambda x: mapping.get(x.name, x) if isinstance(x, ir.Var) else x)


def map_stmts(stmts, fn_expr=None, fn_stmt=None) -> tuple:
    """Rewrite every expression of a statement list with ``fn_expr`` (bottom-up) and every statement with
    ``fn_stmt`` (after its children); ``fn_stmt`` may return a statement, a tuple of them, or None to drop it."""
    out = []
    for s in stmts:
        s = _map_stmt(s, fn_expr, fn_stmt)
        if fn_stmt is not None:
            s = fn_stmt(s)
        if s is None:
            continue
        out.extend(s if isinstance(s, tuple) else (s,))
    return tuple(out)


def _e(x, fn):
    return map_expr(x, fn) if fn is not None and isinstance(x, ir.Expr) else x


def _map_stmt(s, fe, fs):
    if isinstance(s, ir.Assign):
        return dataclasses.replace(s, value=_e(s.value, fe))
    if isinstance(s, ir.Store):
        return dataclasses.replace(s, index=_e(s.index, fe), value=_e(s.value, fe))
    if isinstance(s, ir.For):
        return dataclasses.replace(s, start=_e(s.start, fe), stop=_e(s.stop, fe), step=_e(s.step, fe),
                                   body=map_stmts(s.body, fe, fs))
    if isinstance(s, ir.While):
        return dataclasses.replace(s, cond=_e(s.cond, fe), body=map_stmts(s.body, fe, fs))
    if isinstance(s, ir.If):
        return dataclasses.replace(s, cond=_e(s.cond, fe), then=map_stmts(s.then, fe, fs),
                                   orelse=map_stmts(s.orelse, fe, fs))
    if isinstance(s, ir.Evaluate):
        return dataclasses.replace(s, call=_e(s.call, fe))
    return s
