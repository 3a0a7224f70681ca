"""Pass: index simplification with value ranges (integers only; no sympy on this path).

Integer expressions are put in linear form ``sum(coef * atom) + const``; with the ranges of thread ids,
CTA ids and loop variables, ``(c*a + b) // c`` becomes ``a + b // c`` and ``(c*a + b) % c`` becomes
``b % c`` when everything is non-negative (so C truncation and floor agree), ``x // c`` is 0 and ``x % c`` is
``x`` when ``0 <= x < c``, comparisons the ranges decide become constants, and ``if`` statements on constant
conditions disappear.

>>> from lowering import ir
>>> lane = ir.ThreadIdx("lane")
>>> e = ir.BinOp("//", ir.BinOp("+", ir.BinOp("*", lane, ir.Const(8, "i32")), ir.Const(3, "i32")), ir.Const(8, "i32"))
>>> k = ir.Kernel("k", (), (1,), 32, (ir.Assign(ir.Var("x", "i32"), e),))
>>> simplify(k).body[0].value
ThreadIdx(kind='lane', dtype='i32')
"""

from __future__ import annotations

import dataclasses

from lowering import ir
from lowering.ir import arith

from .irutil import assigned, may_read_memory

_INT = ("i8", "i32", "i64")


def _is_int(e) -> bool:
    return isinstance(e, ir.Expr) and e.dtype in _INT


class _Ctx:
    def __init__(self, ranges: dict, parent=None):
        self.ranges = ranges
        self.cache: dict = {}


def _range(e, ctx):
    """(lo, hi) inclusive bounds of an integer expression, or None."""
    if isinstance(e, ir.Const):
        return (e.value, e.value) if isinstance(e.value, int) and not isinstance(e.value, bool) else None
    if isinstance(e, ir.ThreadIdx):
        return ctx.ranges.get(("tid", e.kind))
    if isinstance(e, ir.Var):
        return ctx.ranges.get(("var", e.name))
    if isinstance(e, ir.BinOp) and _is_int(e):
        a, b = _range(e.a, ctx), _range(e.b, ctx)
        if a is None or b is None:
            return None
        if e.op == "+":
            return a[0] + b[0], a[1] + b[1]
        if e.op == "-":
            return a[0] - b[1], a[1] - b[0]
        if e.op == "*":
            ps = [x * y for x in a for y in b]
            return min(ps), max(ps)
        if e.op == "//" and b[0] == b[1] and b[0] > 0 and a[0] >= 0:
            return a[0] // b[0], a[1] // b[0]
        if e.op == "%" and b[0] == b[1] and b[0] > 0 and a[0] >= 0:
            return (a[0], a[1]) if a[1] < b[0] else (0, b[0] - 1)
        if e.op == "&" and a[0] >= 0 and b[0] >= 0:
            return 0, min(a[1], b[1])
        if e.op in ("min", "max"):
            f = min if e.op == "min" else max
            return f(a[0], b[0]), f(a[1], b[1])
    return None


def _linear(e, ctx):
    """``({atom: coef}, const)`` for an integer expression."""
    if isinstance(e, ir.Const) and isinstance(e.value, int) and not isinstance(e.value, bool):
        return {}, e.value
    if isinstance(e, ir.BinOp) and e.op in ("+", "-"):
        ta, ca = _linear(e.a, ctx)
        tb, cb = _linear(e.b, ctx)
        s = 1 if e.op == "+" else -1
        out = dict(ta)
        for k, v in tb.items():
            out[k] = out.get(k, 0) + s * v
        return {k: v for k, v in out.items() if v}, ca + s * cb
    if isinstance(e, ir.BinOp) and e.op == "*":
        for x, y in ((e.a, e.b), (e.b, e.a)):
            if isinstance(y, ir.Const) and isinstance(y.value, int):
                t, c = _linear(x, ctx)
                return {k: v * y.value for k, v in t.items() if v * y.value}, c * y.value
    if isinstance(e, ir.UnOp) and e.op == "neg" and _is_int(e):
        t, c = _linear(e.a, ctx)
        return {k: -v for k, v in t.items()}, -c
    return {e: 1}, 0


def _build(terms: dict, c: int, dtype: str) -> ir.Expr:
    out = None
    for atom, coef in terms.items():
        t = atom if coef == 1 else ir.BinOp("*", atom, ir.Const(coef, "i32"))
        out = t if out is None else ir.BinOp("+", out, t)
    if out is None:
        return ir.Const(c, dtype)
    if c > 0:
        out = ir.BinOp("+", out, ir.Const(c, "i32"))
    elif c < 0:
        out = ir.BinOp("-", out, ir.Const(-c, "i32"))
    return out


def _nonneg(terms, c, ctx) -> bool:
    if c < 0:
        return False
    for atom, coef in terms.items():
        r = _range(atom, ctx)
        if coef < 0 or r is None or r[0] < 0:
            return False
    return True


def _lin_range(terms, c, ctx):
    lo = hi = c
    for atom, coef in terms.items():
        r = _range(atom, ctx)
        if r is None:
            return None
        a, b = sorted((coef * r[0], coef * r[1]))
        lo, hi = lo + a, hi + b
    return lo, hi


def _divmod(e, ctx):
    """``x // c`` and ``x % c`` on non-negative linear forms."""
    d = e.b.value
    terms, c = _linear(e.a, ctx)
    if not _nonneg(terms, c, ctx):
        return e
    whole = {k: v // d for k, v in terms.items() if v % d == 0}
    rest = {k: v for k, v in terms.items() if v % d}
    rest_c = c % d
    carry = c // d
    r = _lin_range(rest, rest_c, ctx)
    if e.op == "//":
        if r is not None and r[1] < d:
            return _simp_lin(whole, carry, e.dtype, ctx)
        if not whole and not carry:
            inner = e.a
            if isinstance(inner, ir.BinOp) and inner.op == "//" and isinstance(inner.b, ir.Const) \
                    and inner.b.value > 0:
                return _simp(ir.BinOp("//", inner.a, ir.Const(inner.b.value * d, "i32")), ctx)
            return e
        tail = ir.BinOp("//", _build(rest, rest_c, e.dtype), e.b)
        return _simp(ir.BinOp("+", _build(whole, carry, e.dtype), tail), ctx) if (whole or carry) else tail
    # %
    if r is not None and r[1] < d:
        return _build(rest, rest_c, e.dtype)
    if whole or carry:
        return ir.BinOp("%", _build(rest, rest_c, e.dtype), e.b)
    return e


def _recombine(terms: dict, c: int, ctx):
    """``k*d * (x // d) + k * (x % d)`` is ``k * x`` for ``x >= 0`` (where C truncation is floor): undo the
    split that ownership conditions and addresses often make and then put back together.

    >>> lane, four = ir.ThreadIdx("lane"), ir.Const(4, "i32")
    >>> ctx = _Ctx({("tid", "lane"): (0, 31)})
    >>> _recombine({ir.BinOp("//", lane, four): 4, ir.BinOp("%", lane, four): 1}, 0, ctx)
    ({ThreadIdx(kind='lane', dtype='i32'): 1}, 0)
    """
    for atom, coef in list(terms.items()):
        if not (isinstance(atom, ir.BinOp) and atom.op == "%" and isinstance(atom.b, ir.Const)
                and isinstance(atom.b.value, int) and atom.b.value > 0 and atom in terms):
            continue
        quot = ir.BinOp("//", atom.a, atom.b)
        r = _range(atom.a, ctx)
        if terms.get(quot) != coef * atom.b.value or r is None or r[0] < 0:
            continue
        del terms[atom], terms[quot]
        inner, ic = _linear(atom.a, ctx)
        for k, v in inner.items():
            terms[k] = terms.get(k, 0) + coef * v
        terms = {k: v for k, v in terms.items() if v}
        c += coef * ic
    return terms, c


def _simp_lin(terms, c, dtype, ctx):
    return _build(terms, c, dtype)


def _fold(e):
    a, b = e.a, e.b
    if isinstance(a, ir.Const) and isinstance(b, ir.Const) and e.dtype in _INT and \
            isinstance(a.value, int) and isinstance(b.value, int):
        x, y = a.value, b.value
        ops = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "&": lambda: x & y,
               "|": lambda: x | y, "^": lambda: x ^ y, "min": lambda: min(x, y), "max": lambda: max(x, y),
               "<<": lambda: x << y if y >= 0 else None, ">>": lambda: x >> y if y >= 0 else None,
               "//": lambda: arith.tdiv(x, y) if y else None, "%": lambda: x - arith.tdiv(x, y) * y if y else None}
        f = ops.get(e.op)
        v = f() if f else None
        if v is not None and -2**31 <= v < 2**31:
            return ir.Const(v, e.dtype)
    return e


def _simp(e, ctx):
    hit = ctx.cache.get(e)
    if hit is not None:
        return hit
    out = _simp_uncached(e, ctx)
    ctx.cache[e] = out
    return out


def _simp_uncached(e, ctx):
    if isinstance(e, (ir.Const, ir.Var, ir.ThreadIdx)):
        return e
    if isinstance(e, ir.BinOp):
        e = dataclasses.replace(e, a=_simp(e.a, ctx), b=_simp(e.b, ctx))
        e = _fold(e)
        if not isinstance(e, ir.BinOp) or e.dtype != "i32":
            return e
        if e.op in ("+", "-", "*"):
            terms, c = _linear(e, ctx)
            terms, c = _recombine(terms, c, ctx)
            return _build(terms, c, e.dtype)
        if e.op in ("//", "%") and isinstance(e.b, ir.Const) and isinstance(e.b.value, int) and e.b.value > 0:
            if e.b.value == 1:
                return e.a if e.op == "//" else ir.Const(0, e.dtype)
            return _divmod(e, ctx)
        return e
    if isinstance(e, ir.Cmp):
        e = dataclasses.replace(e, a=_simp(e.a, ctx), b=_simp(e.b, ctx))
        if _is_int(e.a) and e.a == e.b and not may_read_memory(e.a):      # x op x for a pure integer x
            return ir.Const(e.op in ("==", "<=", ">="), "bool")
        if _is_int(e.a) and _is_int(e.b):
            ra, rb = _range(e.a, ctx), _range(e.b, ctx)
            if ra is not None and rb is not None:
                decided = {"<": (ra[1] < rb[0], ra[0] >= rb[1]), "<=": (ra[1] <= rb[0], ra[0] > rb[1]),
                           ">": (ra[0] > rb[1], ra[1] <= rb[0]), ">=": (ra[0] >= rb[1], ra[1] < rb[0]),
                           "==": (ra[0] == ra[1] == rb[0] == rb[1], ra[1] < rb[0] or rb[1] < ra[0]),
                           "!=": (ra[1] < rb[0] or rb[1] < ra[0], ra[0] == ra[1] == rb[0] == rb[1])}[e.op]
                if decided[0]:
                    return ir.Const(True, "bool")
                if decided[1]:
                    return ir.Const(False, "bool")
        return e
    if isinstance(e, ir.Logic):
        a, b = _simp(e.a, ctx), _simp(e.b, ctx)
        for x, y in ((a, b), (b, a)):
            if isinstance(x, ir.Const) and isinstance(x.value, bool):
                if e.op == "and":
                    return y if x.value else ir.Const(False, "bool")
                return ir.Const(True, "bool") if x.value else y
        return dataclasses.replace(e, a=a, b=b)
    if isinstance(e, ir.Select):
        c = _simp(e.cond, ctx)
        if isinstance(c, ir.Const):
            return _simp(e.a if c.value else e.b, ctx)
        return dataclasses.replace(e, cond=c, a=_simp(e.a, ctx), b=_simp(e.b, ctx))
    if isinstance(e, ir.UnOp):
        return dataclasses.replace(e, a=_simp(e.a, ctx))
    if isinstance(e, ir.Cast):
        a = _simp(e.a, ctx)
        if a.dtype == e.dtype:
            return a
        return dataclasses.replace(e, a=a)
    if isinstance(e, ir.Load):
        return dataclasses.replace(e, index=_simp(e.index, ctx))
    if isinstance(e, ir.Call):
        return dataclasses.replace(e, args=tuple(_simp(a, ctx) if isinstance(a, ir.Expr) else a for a in e.args))
    return e


def _stmts(stmts, ctx) -> tuple:
    out = []
    for s in stmts:
        r = _stmt(s, ctx)
        out.extend(r if isinstance(r, tuple) else (r,))
    return tuple(out)


def _stmt(s, ctx):
    e = lambda x: _simp(x, ctx)  # noqa: E731
    if isinstance(s, ir.Assign):
        return dataclasses.replace(s, value=e(s.value))
    if isinstance(s, ir.Store):
        return dataclasses.replace(s, index=e(s.index), value=e(s.value))
    if isinstance(s, ir.Evaluate):
        return dataclasses.replace(s, call=e(s.call))
    if isinstance(s, ir.If):
        c = e(s.cond)
        if isinstance(c, ir.Const):
            return _stmts(s.then if c.value else s.orelse, ctx)
        return dataclasses.replace(s, cond=c, then=_stmts(s.then, ctx), orelse=_stmts(s.orelse, ctx))
    if isinstance(s, ir.While):
        inner = _Ctx({k: v for k, v in ctx.ranges.items() if not (k[0] == "var" and k[1] in assigned(s.body))})
        return dataclasses.replace(s, cond=_simp(s.cond, inner), body=_stmts(s.body, inner))
    if isinstance(s, ir.For):
        start, stop, step = e(s.start), e(s.stop), e(s.step)
        ranges = {k: v for k, v in ctx.ranges.items() if not (k[0] == "var" and k[1] in assigned(s.body))}
        rs, rt = _range(start, ctx), _range(stop, ctx)
        if rs is not None and rt is not None and isinstance(step, ir.Const) and step.value > 0 \
                and s.var.name not in assigned(s.body):
            if rt[1] <= rs[0]:
                return ()
            ranges[("var", s.var.name)] = (rs[0], rt[1] - 1)
        else:
            ranges.pop(("var", s.var.name), None)
        return dataclasses.replace(s, start=start, stop=stop, step=step, body=_stmts(s.body, _Ctx(ranges)))
    return s


def simplify(kernel: ir.Kernel) -> ir.Kernel:
    """The kernel with index arithmetic simplified and statically decided branches removed."""
    grid = tuple(kernel.grid) + (1,) * (3 - len(kernel.grid))
    T = kernel.threads
    ranges = {("tid", "tx"): (0, T - 1), ("tid", "lane"): (0, min(32, T) - 1),
              ("tid", "warp"): (0, max(1, (T + 31) // 32) - 1), ("tid", "warpgroup"): (0, max(1, (T + 127) // 128) - 1),
              ("tid", "cta.x"): (0, grid[0] - 1), ("tid", "cta.y"): (0, grid[1] - 1),
              ("tid", "cta.z"): (0, grid[2] - 1)}
    return dataclasses.replace(kernel, body=_stmts(kernel.body, _Ctx(ranges)))
