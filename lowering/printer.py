"""IR text: an indented s-expression per node, and a lark parser that reads it back (round-trip).

>>> from lowering import ir
>>> e = ir.BinOp("+", ir.Var("i", "i32"), ir.Const(1, "i32"))
>>> to_text(e)
'(BinOp "+" (Var "i" "i32") (Const 1 "i32"))'
>>> parse(to_text(e)) == e
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from functools import cache

import lark

import axe
from lowering import ir
from lowering.ir.errors import DslError

_NODES = {c.__name__: c for c in (ir.Buffer, ir.Const, ir.Var, ir.BinOp, ir.UnOp, ir.Cmp, ir.Logic, ir.Select,
                                  ir.Cast, ir.ThreadIdx, ir.Load, ir.Call, ir.Assign, ir.Store, ir.For, ir.While,
                                  ir.If, ir.Break, ir.Continue, ir.Barrier, ir.Evaluate, ir.Alloc, ir.TensorView,
                                  ir.OpCall, ir.Kernel, ir.Launch, ir.HostCall, ir.Program)}
_STMT_LISTS = {"body", "then", "orelse"}


def _fields(node):
    return [f for f in dataclasses.fields(node) if f.compare]


def to_text(node, indent: int = 0) -> str:
    """Text of an IR node (statement lists one per line, indented)."""
    pad = "  " * indent
    if isinstance(node, bool) or node is None:
        return {True: "true", False: "false", None: "none"}[node]
    if isinstance(node, float) and not math.isfinite(node):
        return f'(Float "{node!r}")'
    if isinstance(node, (int, float)):
        return repr(node)
    if isinstance(node, str):
        return json.dumps(node)
    if isinstance(node, axe.Layout):
        return f"(Layout {json.dumps(str(node))})"
    if isinstance(node, axe.SwizzleLayout):
        sw = node.swizzle
        return f"(SwizzleLayout {to_text(node.layout)} {sw.bits} {sw.base} {sw.shift} {json.dumps(node.axis.name)})"
    if isinstance(node, tuple):
        return "[" + " ".join(to_text(x, indent) for x in node) + "]"
    if type(node).__name__ not in _NODES:
        raise DslError(f"cannot print {type(node).__name__} as IR")
    parts = []
    for f in _fields(node):
        v = getattr(node, f.name)
        if f.name in _STMT_LISTS:
            inner = "".join("\n" + "  " * (indent + 1) + to_text(s, indent + 1) for s in v)
            parts.append("[" + inner + ("\n" + pad if v else "") + "]")
        else:
            parts.append(to_text(v, indent))
    return "(" + " ".join([type(node).__name__] + parts) + ")"


_GRAMMAR = r"""
?value: node | list | STRING -> string | SIGNED_NUMBER -> number | "true" -> true | "false" -> false
      | "none" -> none
node: "(" NAME value* ")"
list: "[" value* "]"
%import common.CNAME -> NAME
%import common.ESCAPED_STRING -> STRING
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""


class _Build(lark.Transformer):
    def string(self, s):
        return json.loads(s[0])

    def number(self, s):
        t = str(s[0])
        return float(t) if any(c in t for c in ".eEn") else int(t)

    def true(self, _):
        return True

    def false(self, _):
        return False

    def none(self, _):
        return None

    def list(self, items):
        return tuple(items)

    def node(self, items):
        name, *args = items
        if name == "Layout":
            return axe.Layout.parse(args[0])
        if name == "SwizzleLayout":
            return axe.SwizzleLayout(args[0], axe.Swizzle(*args[1:4]), args[4])
        if name == "Float":
            return float(args[0])
        cls = _NODES.get(str(name))
        if cls is None:
            raise DslError(f"unknown IR node {name!r}")
        return cls(*args)


@cache
def _parser():
    return lark.Lark(_GRAMMAR, start="value", parser="lalr")


def parse(text: str):
    """Read back the text ``to_text`` wrote."""
    try:
        return _Build().transform(_parser().parse(text))
    except lark.exceptions.LarkError as e:
        raise DslError(f"IR text does not parse: {str(e).splitlines()[0]}") from None
