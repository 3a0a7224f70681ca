"""Integers and sympy expressions as layout values: normalisation and the facts we can prove.

Every extent, stride and offset in a layout is either a Python ``int`` (the fast path) or a
sympy expression (symbolic shapes). The helpers here keep ints as ints and only touch sympy
when a value is symbolic.
"""

from __future__ import annotations

import functools
import math
import numbers
import re

import sympy

from .errors import AxeError, UnprovableError

Value = int | sympy.Expr
_LIMIT = 2**63 - 1
LIMIT = _LIMIT  # every int in a layout, and every numeral in a symbolic value, has |v| <= LIMIT (64 bits)
MAX_EXPONENT = 64  # |exponent| of a power in a symbolic value (and in layout text)
FUNCTIONS = ("floor", "ceiling", "Mod", "Max", "Min", "Abs")  # the functions layout text may call


def value(v: object, what: str = "value") -> Value:
    """Normalise ``v`` to an ``int`` or a sympy expression; reject anything else.

    A symbolic value must be provably an integer (``n/2`` is refused, ``floor(n/2)`` is not) and
    printable as layout text that parses back: numerals within 64 bits, exponents within
    ``[-64, 64]``, only the functions of :data:`FUNCTIONS`.

    >>> value(sympy.Integer(4)), type(value(4))
    (4, <class 'int'>)
    """
    if type(v) is int:
        if -_LIMIT <= v <= _LIMIT:
            return v
        raise AxeError(f"{what} {_short(v)} does not fit in 64 bits (|v| must be below 2**63)")
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
                return value(int(n), what)
            raise AxeError(f"{what} must be an integer, got {v}")
        check_expr(v, what)
        if v.is_integer is not True:
            raise AxeError(f"{what} must be an integer, got {v} (which sympy cannot prove is one; "
                           "write floor(...) to round)")
        return v
    raise AxeError(f"{what} must be an integer or a sympy expression, got {type(v).__name__} {v!r}")


def layout_value(v: object, what: str = "value") -> Value:
    """:func:`value` for a part of a layout (extent, stride, offset): its symbols must be the positive
    integer symbols layout text makes (:func:`symbol`), so that the layout's text parses back to it.

    >>> layout_value(symbol("n") + 1)
    n + 1
    >>> layout_value(sympy.Symbol("n", integer=True))
    Traceback (most recent call last):
    ...
    axe.errors.AxeError: value n: symbol n is not a positive integer symbol; make it with axe.symbol('n')
    """
    v = value(v, what)
    if type(v) is not int:
        for x in v.free_symbols:
            if x != _symbol(x.name) or not _NAME.fullmatch(x.name):
                raise AxeError(f"{what} {_short(v)}: symbol {x} is not a positive integer symbol; "
                               f"make it with axe.symbol({x.name!r})")
        if not _faithful(v):  # sympy prints it in another form: keep the form its text reads back as
            w = _reread(v)
            if w is v or w != w or not _faithful(w):
                raise AxeError(f"{what} {_short(v)} does not print as layout text that reads back the same "
                               f"({sympy.sstr(v)[:60]}); write it another way")
            v = value(w, what)
    return v


_READ_FUNCS = {f.__name__: f for f in (sympy.floor, sympy.ceiling, sympy.Mod, sympy.Max, sympy.Min, sympy.Abs)}
_DIGITS = re.compile(r"\d+")


@functools.lru_cache(maxsize=4096)
def _faithful(v: sympy.Expr) -> bool:
    """Whether sympy's text of ``v`` (what ``str`` of a layout holds) reads back as ``v``: its numerals fit
    in 64 bits and sympy reads the text back to the same expression (it need not: ``-(k + 1)*(n + 1)``
    prints as ``(-k - 1)*(n + 1)``, ``(n/4 + 1/4)**2`` may print as ``(n + 1)**2/16``)."""
    text = sympy.sstr(v)
    if any(len(d) > 19 or int(d) > _LIMIT for d in _DIGITS.findall(text)):
        return False
    return _reread(v) == v


@functools.lru_cache(maxsize=4096)
def _reread(v: sympy.Expr) -> sympy.Expr:
    """``v`` read back from sympy's text of it, as the layout parser would (nan when sympy cannot)."""
    if v.is_Atom:
        return v
    names = {x.name: x for x in v.free_symbols}
    try:
        return sympy.sympify(sympy.sstr(v), locals={**_READ_FUNCS, **names})
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError):  # sympy could not read its own text
        return sympy.nan


def check_expr(v: sympy.Expr, what: str = "value") -> sympy.Expr:
    """``v`` if layout text can spell it (see :func:`value`), else :class:`AxeError`; need not be an integer.

    >>> check_expr(symbol("n") / 2)
    n/2
    """
    for a in sympy.preorder_traversal(v):
        if a.is_Number:
            if a.is_Integer:
                if not -_LIMIT <= int(a) <= _LIMIT:
                    raise AxeError(f"{what} {_short(v)} has a numeral beyond 64 bits")
            elif a.is_Rational:
                if not (-_LIMIT <= a.p <= _LIMIT and a.q <= _LIMIT):
                    raise AxeError(f"{what} {_short(v)} has a numeral beyond 64 bits")
            else:
                raise AxeError(f"{what} {_short(v)} must be made of integers, got the number {a}")
        elif a.is_Pow:
            e = a.exp
            if e.is_Integer and abs(int(e)) > MAX_EXPONENT:
                raise AxeError(f"{what} {_short(v)} has an exponent beyond [-{MAX_EXPONENT}, {MAX_EXPONENT}]")
            if e.is_number and not e.is_Integer:
                raise AxeError(f"{what} {_short(v)} has a non-integer exponent {e}")
        elif a.is_Function:
            name = type(a).__name__
            if name not in FUNCTIONS:
                raise AxeError(f"{what} {_short(v)} calls {name}, which layout text cannot spell "
                               f"(known: {', '.join(FUNCTIONS)})")
        elif not (a.is_Symbol or a.is_Add or a.is_Mul):
            raise AxeError(f"{what} {_short(v)} is not an arithmetic expression of symbols and integers")
    return v


def printable(v: Value) -> bool:
    """Whether layout text can spell ``v`` (an int within 64 bits, or see :func:`check_expr`).

    >>> printable(2**62), printable(2**80), printable(symbol("n") * 2**70)
    (True, False, False)
    """
    if type(v) is int:
        return -_LIMIT <= v <= _LIMIT
    try:
        check_expr(v)
    except AxeError:
        return False
    return _faithful(v)


def describe(v) -> str:
    """``v`` for an error message: huge ints by their size in bits, long expressions cut.

    >>> describe(2**70), describe(2**200)
    ('1180591620717411303424', '(an int of 201 bits)')
    """
    return _short(v)


def _short(v) -> str:
    if type(v) is int and not -10**40 < v < 10**40:  # str() of a huge int is slow, or refused
        return f"{'-' if v < 0 else ''}(an int of {v.bit_length()} bits)"
    s = str(v)
    return s if len(s) <= 40 else f"{s[:20]}...({len(s)} characters)"


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
    if s.has(sympy.floor, sympy.Mod) and _tame(s):
        r = sympy.simplify(s)
        if isinstance(r, sympy.Integer):
            return int(r)
        if r != s and _faithful(s) and not _faithful(r):
            return s  # keep a form whose text reads back (simplify may write (n+1)**3/2**93)
        return r
    return s


_FUNCTION_TYPES = (sympy.floor, sympy.ceiling, sympy.Mod, sympy.Max, sympy.Min, sympy.Abs)
_TAME_EXPONENT = 4


def _tame(e: sympy.Expr) -> bool:
    """Whether ``sympy.simplify(e)`` is safe to try: no power of a sum beyond ``_TAME_EXPONENT`` (simplify
    expands them: ``floor(((n+1)/2**60)**64)`` takes seconds). Otherwise the value keeps sympy's automatic
    form and proofs about it answer "unknown"."""
    for a in sympy.preorder_traversal(e):
        if a.is_Pow and not a.base.is_Atom and not (a.exp.is_Integer and abs(int(a.exp)) <= _TAME_EXPONENT):
            return False
    return True



def _normal(e: sympy.Expr) -> sympy.Expr | None:
    """``e`` rewritten so that sympy's assumptions can judge it, or None when that cannot help: ``cancel``
    (a polynomial normal form, cheap) when it calls no function, else the full ``sympy.simplify``."""
    if e.is_number or e.is_Symbol:
        return None
    if e.has(*_FUNCTION_TYPES):
        return sympy.simplify(e) if _tame(e) else None
    if e.is_polynomial() and sympy.expand(e) == e:
        return None  # an expanded polynomial: already normal
    return sympy.cancel(e)


def prove_eq(a: Value, b: Value) -> bool | None:
    """True/False when decidable, None when sympy cannot tell."""
    if type(a) is int and type(b) is int:
        return a == b
    d = sympy.sympify(a) - sympy.sympify(b)
    for _ in range(2):  # as it is, then normalised once
        if d == 0:
            return True
        if d.is_zero is False or (d.is_number and d != 0):
            return False
        d = _normal(d)
        if d is None:
            break
    return None


def same(a: Value, b: Value) -> bool:
    """Provably equal (unknown counts as not equal)."""
    return a == b if (type(a) is int and type(b) is int) else prove_eq(a, b) is True


def prove_divides(d: Value, n: Value) -> bool | None:
    """Does ``d`` divide ``n``? None when unknown."""
    if type(d) is int and type(n) is int:
        return d != 0 and n % d == 0
    q = sympy.sympify(n) / sympy.sympify(d)
    for _ in range(2):  # as it is, then normalised once
        if q.is_integer:
            return True
        if q.is_integer is False:
            return False
        q = _normal(q)
        if q is None:
            break
    return None


def prove_le(a: Value, b: Value) -> bool | None:
    if type(a) is int and type(b) is int:
        return a <= b
    d = sympy.sympify(b) - sympy.sympify(a)
    for _ in range(2):  # as it is, then normalised once
        if d.is_nonnegative:
            return True
        if d.is_negative:
            return False
        d = _normal(d)
        if d is None:
            break
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
    if type(a) is int and type(b) is int:
        return a + b
    if type(a) is int and a == 0:
        return b
    return simplify(sympy.sympify(a) + b)


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


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def symbol(name: str) -> sympy.Symbol:
    """A positive integer symbol, the kind the layout parser creates for names in text.

    >>> symbol("n") == symbol("n")
    True
    """
    return sympy.Symbol(name, integer=True, positive=True)


_symbol = functools.lru_cache(maxsize=1024)(symbol)


def symbols(names: str) -> tuple[sympy.Symbol, ...]:
    """Several positive integer symbols from a space-separated string.

    >>> n, k = symbols("n k")
    """
    return tuple(symbol(n) for n in names.replace(",", " ").split())
