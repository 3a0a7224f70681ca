"""Frontend part for execution scopes: ``with dsl.warp():``, scope slices ``dsl.warp()[0:4]`` and
``dsl.thread()[dsl.elect_one()]``.

>>> import dsl
>>> @dsl.kernel(threads=64)
... def k(a: dsl.Tensor[(2,), dsl.i32]):
...     with dsl.warp()[1:2]:
...         a[1] = 1
>>> type(k.stages((1,))[0].body[0]).__name__
'If'
"""

from __future__ import annotations

import ast
import difflib

from lowering import ir
from lowering.ir import arith

from .language import BUILTINS, SCOPE, SELECTOR

_SCOPES = {"kernel_scope": "kernel", "cluster": "cluster", "cta": "cta", "warpgroup": "warpgroup",
           "warp": "warp", "thread": "thread"}     # the level each scope function enters
_SCOPE_NAMES = tuple(b.name for b in BUILTINS.values() if b.form == SCOPE)


class ScopesMixin:
    """Methods of ``Frontend`` for execution scopes (see module docstring)."""

    def with_scope(self, s) -> list:
        """``with dsl.warp():`` sets the scope of the operators inside; ``with dsl.warp()[0:4]:`` runs the body
        on warps 0-3 only; ``with dsl.thread()[dsl.elect_one()]:`` on one thread of the enclosing scope."""
        if len(s.items) != 1 or s.items[0].optional_vars is not None:
            raise self.err(s, "use one execution scope per 'with' (e.g. 'with dsl.cta():')")
        c = s.items[0].context_expr
        sel = None
        if isinstance(c, ast.Subscript):
            c, sel = c.value, c.slice
        entry = self.HANDLERS.get(self.dsl_name(c.func)) if isinstance(c, ast.Call) else None
        if entry is None or entry[0].form != SCOPE or c.args:
            msg = f"'with' needs an execution scope ({', '.join('dsl.' + n + '()' for n in _SCOPE_NAMES)})"
            name = self.dsl_name(c.func) if isinstance(c, ast.Call) else None
            close = difflib.get_close_matches(name, _SCOPE_NAMES, n=1) if name and entry is None else []
            raise self.err(c, msg + (f"; did you mean dsl.{close[0]}()?" if close else ""))
        b, handler = entry
        new = handler(self, c, b.name)
        guard = self.scope_guard(new, sel) if sel is not None else None
        saved, self.scope = self.scope, new
        try:
            body = self.nested(s.body) if guard is not None else self.block(s.body)   # a slice: some threads
        finally:
            self.scope = saved
        return [ir.If(guard, body, loc=self.loc(s))] if guard is not None else list(body)

    def scope_level(self, c, name: str) -> str:
        """The level a scope function (``dsl.warp()``...) enters."""
        return _SCOPES[name]

    def scope_guard(self, scope: str, sel) -> ir.Expr:
        """The condition selecting the members of a scope slice: ``[lo:hi]``, or ``[dsl.elect_one()]``."""
        if isinstance(sel, ast.Call):
            entry = self.HANDLERS.get(self.dsl_name(sel.func))
            if entry is None:
                raise self.unknown_function(sel)
            b, handler = entry
            if b.form == SELECTOR:
                return handler(self, sel, b.name, scope)
        return self.slice_guard(scope, sel)

    def slice_guard(self, scope: str, sel) -> ir.Expr:
        """The condition selecting the members ``lo..hi-1`` of a scope slice ``[lo:hi]``."""
        if not isinstance(sel, ast.Slice) or sel.step is not None:
            raise self.err(sel, "a scope slice is 'lo:hi' (e.g. dsl.warp()[0:4]) or [dsl.elect_one()]")
        idx = {"thread": ir.ThreadIdx("tx"), "warp": ir.ThreadIdx("warp"), "warpgroup": ir.ThreadIdx("warpgroup"),
               "cta": ir.ThreadIdx("cta.x")}.get(scope)
        if idx is None:
            raise self.err(sel, f"dsl.{scope}() cannot be sliced")
        lo = self.value(sel.lower) if sel.lower is not None else arith.ZERO
        if sel.upper is None:
            raise self.err(sel, "a scope slice needs an upper bound")
        hi = self.value(sel.upper)
        for e, node in ((lo, sel.lower), (hi, sel.upper)):
            if ir.is_float(e.dtype):
                raise self.err(node, "scope slice bounds must be integers")
        return arith.land(arith.cmp(">=", idx, lo) if not (isinstance(lo, ir.Const) and lo.value == 0) else
                      ir.Const(True, "bool"), arith.cmp("<", idx, hi))

    def elect_one_guard(self, sel, name: str, scope: str) -> ir.Expr:
        """``dsl.thread()[dsl.elect_one()]``: one thread of the enclosing scope."""
        if sel.args or sel.keywords:
            raise self.err(sel, "dsl.elect_one() takes no arguments")
        if scope != "thread":
            raise self.err(sel, "dsl.elect_one() selects a thread: use it as dsl.thread()[dsl.elect_one()]")
        rank = {"kernel": None, "cluster": ir.ThreadIdx("tx"), "cta": ir.ThreadIdx("tx"),
                "warpgroup": arith.mod(ir.ThreadIdx("tx"), 128), "warp": ir.ThreadIdx("lane"),
                "thread": None}[self.scope]
        if self.scope == "thread":
            raise self.err(sel, "dsl.elect_one() inside thread scope: there is only one thread to elect")
        if rank is None:  # kernel scope: thread 0 of CTA 0
            return arith.land(ir.Cmp("==", ir.ThreadIdx("tx"), arith.ZERO),
                          arith.land(ir.Cmp("==", ir.ThreadIdx("cta.x"), arith.ZERO),
                                 arith.land(ir.Cmp("==", ir.ThreadIdx("cta.y"), arith.ZERO),
                                        ir.Cmp("==", ir.ThreadIdx("cta.z"), arith.ZERO))))
        return ir.Cmp("==", rank, arith.ZERO)
