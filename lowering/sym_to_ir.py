"""Index arithmetic: sympy expressions over thread symbols -> IR expressions (ints stay ints).

>>> import sympy
>>> tx = sympy.Symbol("tx", integer=True, nonnegative=True)
>>> e = to_ir(8 * sympy.Mod(tx, 8) + 64 * sympy.floor(tx / 8), {"tx": ThreadIdx("tx")})
>>> e.op
'+'
"""

from __future__ import annotations

import sympy

from dsl.errors import DslError
from dsl.ir import BinOp, Cmp, Const, Expr, Logic, ThreadIdx

__all__ = ["to_ir", "ThreadIdx"]


def _mul(a: Expr, c: int) -> Expr:
    return a if c == 1 else BinOp("*", Const(c, "i32"), a)


def _add(a: Expr | None, b: Expr) -> Expr:
    return b if a is None else BinOp("+", a, b)


def to_ir(e, env: dict) -> Expr:
    """Translate ``e`` (int, sympy integer expression or condition) with ``env`` mapping symbol names to IR."""
    if isinstance(e, (int, bool)):
        return Const(e, "bool" if isinstance(e, bool) else "i32")
    e = sympy.sympify(e)
    if e is sympy.true or e is sympy.false:
        return Const(bool(e), "bool")
    if e.is_Integer:
        return Const(int(e), "i32")
    if e.is_Symbol:
        if e.name not in env:
            raise DslError(f"index expression uses {e.name!r}, which has no value in this scope")
        return env[e.name]
    if isinstance(e, sympy.And) or isinstance(e, sympy.Or):
        parts = [to_ir(a, env) for a in e.args]
        out = parts[0]
        for p in parts[1:]:
            out = Logic("and" if isinstance(e, sympy.And) else "or", out, p)
        return out
    if isinstance(e, sympy.core.relational.Relational):
        num, den = sympy.fraction(sympy.together(e.lhs - e.rhs))
        if not (den.is_Integer and den > 0):
            raise DslError(f"cannot lower condition {e} to integer arithmetic")
        op = {sympy.StrictLessThan: "<", sympy.LessThan: "<=", sympy.StrictGreaterThan: ">",
              sympy.GreaterThan: ">=", sympy.Eq: "==", sympy.Ne: "!="}[type(e)]
        return Cmp(op, to_ir(sympy.expand(num), env), Const(0, "i32"))
    if e.is_Add:
        out = None
        for a in sorted(e.args, key=lambda a: a.is_Integer):
            out = _add(out, to_ir(a, env))
        return out
    if e.is_Mul:
        c, rest = e.as_coeff_Mul()
        if c.is_Integer:
            return _mul(to_ir(rest, env), int(c))
    if isinstance(e, sympy.floor):
        num, den = sympy.fraction(sympy.together(e.args[0]))
        if den.is_Integer and den > 0:
            return BinOp("//", to_ir(sympy.expand(num), env), Const(int(den), "i32"))
    if isinstance(e, sympy.Mod) and e.args[1].is_Integer:
        return BinOp("%", to_ir(e.args[0], env), Const(int(e.args[1]), "i32"))
    raise DslError(f"cannot lower index expression {e} to integer arithmetic")
