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

