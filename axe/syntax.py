"""Read layout text with the lark grammar in ``layout.lark``; errors point with a caret.

:func:`parse_parts` turns text into the parts of a layout (shard iters, replica iters, offset);
:meth:`axe.Layout.parse` (``axe.layout.parse_layout``) builds and caches the Layout from them.
"""

from __future__ import annotations

from pathlib import Path

import lark
import sympy

from . import values
from .axis import Axis
from .errors import AxeError
from .iter import Iter

_GRAMMAR = (Path(__file__).with_name("layout.lark")).read_text()
_PARSER = lark.Lark(_GRAMMAR, parser="lalr",
                    propagate_positions=False)

_FUNCS = {
    "floor": sympy.floor,
    "ceiling": sympy.ceiling,
    "Mod": sympy.Mod,
    "Max": sympy.Max,
    "Min": sympy.Min,
    "Abs": sympy.Abs,
}
assert tuple(_FUNCS) == values.FUNCTIONS


class LayoutSyntaxError(AxeError):
    """Layout text that does not parse; the message shows the position with a caret."""


def _num(v):
    return values.value(v) if isinstance(v, int | sympy.Basic) else v


class _ToParts(lark.Transformer):
    def int(self, items):
        if len(items[0]) > 19:
            raise AxeError(f"integer {items[0][:20]}... does not fit in 64 bits")
        return values.value(int(items[0]), "integer")

    def name(self, items):
        return values.symbol(str(items[0]))

    def call(self, items):
        fname = str(items[0])
        fn = _FUNCS.get(fname)
        if fn is None:
            raise AxeError(f"unknown function {fname!r} in layout text (known: {', '.join(_FUNCS)})")
        return fn(*items[1:])

    def add(self, items):
        return _arith(items[0] + items[1])

    def sub(self, items):
        return _arith(items[0] - items[1])

    def mul(self, items):
        return _arith(items[0] * items[1])

    def floordiv(self, items):
        return _arith(values.floordiv(items[0], items[1]))

    def truediv(self, items):
        a, b = items
        if type(b) is int and b == 0:
            raise AxeError(f"division of {a} by zero")
        if type(a) is int and type(b) is int:
            return a // b if a % b == 0 else _arith(sympy.Rational(a, b))  # floor(7/2) is fine, S[7/2:1] is not
        return _arith(sympy.sympify(a) / b)

    def modulo(self, items):
        return _arith(values.mod(items[0], items[1]))

    def neg(self, items):
        return -items[0]

    def pow(self, items):
        base, exp = items
        if type(exp) is not int:
            raise AxeError(f"exponent {exp} must be an integer literal")
        if not -values.MAX_EXPONENT <= exp <= values.MAX_EXPONENT:
            raise AxeError(f"exponent {exp} is out of range [-{values.MAX_EXPONENT}, {values.MAX_EXPONENT}]")
        if exp < 0 and type(base) is int and base == 0:
            raise AxeError(f"0**{exp} divides by zero")
        return _arith(sympy.sympify(base)**exp if exp < 0 else base**exp)

    def entry(self, items):
        v, ax = items
        return (v, None if ax is None else str(ax))

    def empty_group(self, items):
        return []

    def tuple_group(self, items):
        return [x for x in items if x is not None]

    bare_group = tuple_group

    def spec(self, items):
        ext, strides = items
        if any(a is not None for _, a in ext):
            raise AxeError("extents cannot carry an axis (write S[extents:strides@axis])")
        exts = [v for v, _ in ext]
        if strides is None:
            return ("plain", exts)
        if len(strides) != len(exts):
            raise AxeError(f"{len(exts)} extents but {len(strides)} strides")
        return ("strided", [Iter(e, s, a) for e, (s, a) in zip(exts, strides)])

    def shard(self, items):
        kind, data = items[0]
        if kind == "plain":
            stride, iters = 1, []
            for e in reversed(data):
                iters.append(Iter(e, stride))
                stride = values.prod([stride, e])
            data = iters[::-1]
        return ("S", tuple(data))

    def replica(self, items):
        kind, data = items[0]
        if kind == "plain":
            raise AxeError("a replica needs strides: write R[extent:stride@axis]")
        return ("R", tuple(data))

    def offset(self, items):
        v, ax = items
        return ("O", v, Axis.get(str(ax)) if ax is not None else Axis.get("m"))

    def plus(self, _):
        return 1

    def minus(self, _):
        return -1

    def start(self, items):
        terms = [items[0]] + [(items[i], items[i + 1]) for i in range(1, len(items), 2)]
        shard, replica, offset = None, [], {}
        for n, t in enumerate(terms):
            sign = 1
            if n:
                sign, t = t
            if t[0] == "S":
                if shard is not None:
                    raise AxeError("a layout has one shard part S[...]")
                if sign < 0:
                    raise AxeError("a shard part cannot be subtracted")
                shard = t[1]
            elif t[0] == "R":
                if sign < 0:
                    raise AxeError("a replica part cannot be subtracted")
                replica.extend(t[1])
            else:
                _, v, ax = t
                offset[ax.name] = _arith(offset.get(ax.name, 0) + sign * v)
        if shard is None:
            raise AxeError("a layout needs a shard part S[...]")
        return shard, tuple(replica), offset


def _arith(v):
    """An intermediate result: an int, or an expression layout text can spell, not yet an integer (``n/2``
    and ``1/2`` may still be rounded by ``floor``, as ``str`` writes ``floor((n+1)/2)``: ``floor(n/2 + 1/2)``);
    the values that make a layout are checked by ``Iter`` and ``Offset`` (:func:`axe.values.layout_value`)."""
    if type(v) is int or not isinstance(v, sympy.Basic):
        return values.value(v)
    if isinstance(v, sympy.Integer):
        return values.value(int(v))
    return values.check_expr(v, "value")


def parse_parts(text: str) -> tuple[tuple, tuple, dict]:
    """``(shard iters, replica iters, {axis name: offset})`` of layout text.

    >>> shard, replica, offset = parse_parts("S[4,8] + 2@warp")
    >>> [str(it) for it in shard], replica, offset
    (['4:8', '8:1'], (), {'warp': 2})
    """
    if not isinstance(text, str):
        raise AxeError(f"layout text must be a str, got {type(text).__name__}")
    if len(text) > 100_000:
        raise LayoutSyntaxError(f"layout text is too long ({len(text)} characters)")
    try:
        tree = _PARSER.parse(text)
    except lark.exceptions.UnexpectedInput as e:
        ctx = e.get_context(text, span=40)
        raise LayoutSyntaxError(f"bad layout text at column {getattr(e, 'column', '?')}:\n{ctx}") from None
    except lark.exceptions.LarkError as e:  # pragma: no cover - defensive
        raise LayoutSyntaxError(f"bad layout text {text!r}: {e}") from None
    except RecursionError:
        raise LayoutSyntaxError(f"layout text nests too deeply ({len(text)} characters)") from None
    try:
        return _ToParts().transform(tree)
    except lark.exceptions.VisitError as e:
        orig = e.orig_exc
        if isinstance(orig, AxeError):
            raise type(orig)(f"{orig} (in layout text {text!r})") from None
        raise AxeError(f"bad layout text {text!r}: {orig}") from None
    except RecursionError:
        raise LayoutSyntaxError(f"layout text nests too deeply ({len(text)} characters)") from None
