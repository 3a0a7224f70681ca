"""Integers and sympy expressions as layout values: normalisation and the facts we can prove.

Every extent, stride and offset in a layout is either a Python ``int`` (the fast path) or a
sympy expression (symbolic shapes). The helpers here keep ints as ints and only touch sympy
when a value is symbolic.
"""

from __future__ import annotations

import math
import numbers

import sympy

from .errors import AxeError, UnprovableError

Value = int | sympy.Expr
_LIMIT = 2**63 - 1


def value(v: object, what: str = "value") -> Value:
    """Normalise ``v`` to an ``int`` or a sympy expression; reject anything else.

    >>> value(sympy.Integer(4)), type(value(4))
    (4, <class 'int'>)
    """
    if type(v) is int:
        if -_LIMIT <= v <= _LIMIT:
            return v
        raise AxeError(f"{what} does not fit in 64 bits")
    if isinstance(v, bool):
        raise AxeError(f"{what} must be an integer or a sympy expression, got bool {v!r}")
    if isinstance(v, numbers.Integral):
        return value(int(v), what)
    if isinstance(v, sympy.Basic):
        if isinstance(v, sympy.Integer):
            return value(int(v), what)
        if not isinstance(v, sympy.Expr):
            raise AxeError(f"{what} must be an integer expression, got {v!r}")
        if v.is_integer is False:
            raise AxeError(f"{what} must be an integer, got {v}")
        if v.is_number:
            n = sympy.nsimplify(v)
            if isinstance(n, sympy.Integer):
                return int(n)
            raise AxeError(f"{what} must be an integer, got {v}")
        return v
    raise AxeError(f"{what} must be an integer or a sympy expression, got {type(v).__name__} {v!r}")


def is_concrete(v: Value) -> bool:
    return type(v) is int


def simplify(v: Value) -> Value:
    """Cheap normalisation: sympy's automatic canonical form; ints stay ints.

    Full ``sympy.simplify`` is reserved for proofs (:func:`prove_eq`, :func:`prove_divides`).
    """
    if type(v) is int:
        return v
    s = sympy.sympify(v)
    if isinstance(s, sympy.Integer):
        return int(s)
    if s.has(sympy.floor, sympy.Mod):
        s = sympy.simplify(s)
        if isinstance(s, sympy.Integer):
            return int(s)
    return s


def prove_eq(a: Value, b: Value) -> bool | None:
    """True/False when decidable, None when sympy cannot tell."""
    if type(a) is int and type(b) is int:
        return a == b
    d = sympy.simplify(sympy.sympify(a) - sympy.sympify(b))
    if d == 0:
        return True
    if d.is_zero is False or (d.is_number and d != 0):
        return False
    return None


def same(a: Value, b: Value) -> bool:
    """Provably equal (unknown counts as not equal)."""
    return a == b if (type(a) is int and type(b) is int) else prove_eq(a, b) is True


def prove_divides(d: Value, n: Value) -> bool | None:
    """Does ``d`` divide ``n``? None when unknown."""
    if type(d) is int and type(n) is int:
        return d != 0 and n % d == 0
    q = sympy.simplify(sympy.sympify(n) / sympy.sympify(d))
    if q.is_integer:
        return True
    if q.is_integer is False:
        return False
    return None


def prove_le(a: Value, b: Value) -> bool | None:
    if type(a) is int and type(b) is int:
        return a <= b
    d = sympy.simplify(sympy.sympify(b) - sympy.sympify(a))
    if d.is_nonnegative:
        return True
    if d.is_negative:
        return False
    return None


def require(fact: bool | None, description: str) -> bool:
    """Turn an undecidable fact into an :class:`UnprovableError` naming it."""
    if fact is None:
        raise UnprovableError(f"cannot prove that {description}")
    return fact


def exact_div(n: Value, d: Value, what: str = "value") -> Value:
    if type(n) is int and type(d) is int:
        if d == 0 or n % d:
            raise AxeError(f"{what}: {d} does not divide {n}")
        return n // d
    if not require(prove_divides(d, n), f"{d} divides {n} ({what})"):
        raise AxeError(f"{what}: {d} does not divide {n}")
    return simplify(sympy.sympify(n) / sympy.sympify(d))


def gcd(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        return math.gcd(a, b)
    g = sympy.gcd(sympy.sympify(a), sympy.sympify(b))
    return simplify(g)


def absval(v: Value) -> Value:
    if type(v) is int:
        return -v if v < 0 else v
    if v.is_nonnegative:
        return v
    if v.is_negative:
        return simplify(-v)
    return sympy.Abs(v)


def is_negative(v: Value) -> bool:
    if type(v) is int:
        return v < 0
    return bool(v.is_negative)


def prod(values) -> Value:
    out: Value = 1
    for v in values:
        out = out * v if (type(out) is int and type(v) is int) else simplify(sympy.sympify(out) * v)
    return out


def add(a: Value, b: Value) -> Value:
    """a + b, staying on ints when both are ints."""
    return a + b if type(a) is int and type(b) is int else simplify(sympy.sympify(a) + b)


def mul(a: Value, b: Value) -> Value:
    """a * b, staying on ints when both are ints."""
    return a * b if type(a) is int and type(b) is int else simplify(sympy.sympify(a) * b)


def neg(a: Value) -> Value:
    return -a if type(a) is int else simplify(-a)


def floordiv(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        return a // b
    return simplify(sympy.floor(sympy.sympify(a) / b))


def mod(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        return a % b
    return simplify(sympy.Mod(a, b))


def symbol(name: str) -> sympy.Symbol:
    """A positive integer symbol, the kind the layout parser creates for names in text.

    >>> symbol("n") == symbol("n")
    True
    """
    return sympy.Symbol(name, integer=True, positive=True)


def symbols(names: str) -> tuple[sympy.Symbol, ...]:
    """Several positive integer symbols from a space-separated string.

    >>> n, k = symbols("n k")
    """
    return tuple(symbol(n) for n in names.replace(",", " ").split())
