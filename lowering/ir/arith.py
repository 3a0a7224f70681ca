"""Integer index arithmetic on IR expressions that folds constants as it builds.

Frontend and lowering build addresses with these so that static parts never reach the IR; the
simplification pass (``lowering.simplify``) does the range-aware rest.

>>> from lowering import ir
>>> i = ir.Var("i", "i32")
>>> add(mul(i, 1), 0) == i, mul(i, 0)
(True, Const(value=0, dtype='i32'))
>>> floordiv(ir.Const(7, "i32"), 2)
Const(value=3, dtype='i32')
"""

from __future__ import annotations

from . import nodes as ir

ZERO = ir.Const(0, "i32")
ONE = ir.Const(1, "i32")


def const(v) -> ir.Expr:
    """An IR integer constant from an int (IR expressions pass through)."""
    return v if isinstance(v, ir.Expr) else ir.Const(int(v), "i32")


def _int(e):
    return e.value if isinstance(e, ir.Const) and isinstance(e.value, int) and not isinstance(e.value, bool) \
        else None


def tdiv(a: int, b: int) -> int:
    """C-style (truncating) integer division.

    >>> tdiv(-7, 2)
    -3
    """
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def add(a, b) -> ir.Expr:
    a, b = const(a), const(b)
    x, y = _int(a), _int(b)
    if x is not None and y is not None:
        return ir.Const(x + y, ir.promote(a.dtype, b.dtype))
    if x == 0:
        return b
    if y == 0:
        return a
    return ir.BinOp("+", a, b)


def sub(a, b) -> ir.Expr:
    a, b = const(a), const(b)
    x, y = _int(a), _int(b)
    if x is not None and y is not None:
        return ir.Const(x - y, ir.promote(a.dtype, b.dtype))
    if y == 0:
        return a
    return ir.BinOp("-", a, b)


def mul(a, b) -> ir.Expr:
    a, b = const(a), const(b)
    x, y = _int(a), _int(b)
    if x is not None and y is not None:
        return ir.Const(x * y, ir.promote(a.dtype, b.dtype))
    if x == 0 or y == 0:
        return ir.Const(0, ir.promote(a.dtype, b.dtype))
    if x == 1:
        return b
    if y == 1:
        return a
    return ir.BinOp("*", a, b)


def floordiv(a, b) -> ir.Expr:
    """``a // b`` with C truncation (equal to floor division for the non-negative indices used here)."""
    a, b = const(a), const(b)
    x, y = _int(a), _int(b)
    if x is not None and y:
        return ir.Const(tdiv(x, y), ir.promote(a.dtype, b.dtype))
    if y == 1:
        return a
    return ir.BinOp("//", a, b)


def mod(a, b) -> ir.Expr:
    a, b = const(a), const(b)
    x, y = _int(a), _int(b)
    if x is not None and y:
        return ir.Const(x - tdiv(x, y) * y, ir.promote(a.dtype, b.dtype))
    if y == 1:
        return ir.Const(0, a.dtype)
    return ir.BinOp("%", a, b)


def land(a, b) -> ir.Expr:
    """Logical and, dropping literal ``True`` operands."""
    if isinstance(a, ir.Const) and a.value is True:
        return b
    if isinstance(b, ir.Const) and b.value is True:
        return a
    return ir.Logic("and", a, b)


def cmp(op: str, a, b) -> ir.Expr:
    a, b = const(a), const(b)
    x, y = _int(a), _int(b)
    if x is not None and y is not None:
        return ir.Const({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y}[op], "bool")
    return ir.Cmp(op, a, b)


def linearize(coords, shape) -> ir.Expr:
    """Row-major flat index of ``coords`` in ``shape`` (entries ints or IR expressions).

    >>> linearize((ir.Const(1, "i32"), ir.Const(2, "i32")), (3, 4))
    Const(value=6, dtype='i32')
    """
    flat = ZERO
    for c, d in zip(coords, shape):
        flat = add(mul(flat, d), c)
    return flat


def delinearize(flat, shape) -> tuple:
    """Row-major coordinates of flat index ``flat`` in ``shape`` (the top coordinate is not reduced modulo).

    >>> [c.value for c in delinearize(ir.Const(6, "i32"), (3, 4))]
    [1, 2]
    """
    out, place = [], 1
    for d in reversed(shape[1:]):
        out.append(mod(floordiv(flat, place), d))
        place = mul(place, d) if isinstance(place, ir.Expr) or isinstance(d, ir.Expr) else place * d
    out.append(floordiv(flat, place))
    return tuple(reversed(out))
