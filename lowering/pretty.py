"""Readable IR for people: Python-like pseudo-code, one statement per line, buffers declared once.

``lowering.printer.to_text`` is the exact, round-tripping form; this one is what ``--dump-ir`` shows by
default (``dsl.compile(..., dump_ir="sexpr")`` prints the exact form).

>>> from lowering import ir
>>> a = ir.Buffer("a", "f32", 32, "global", (ir.Const(32, "i32"),))
>>> k = ir.Kernel("k", (a,), (1,), 32, (ir.Store(a, ir.ThreadIdx("tx"), ir.Const(1.0, "f32")),))
>>> print(pretty(k))
kernel k(a: f32[32] global) grid (1,) x 32 threads
  a[tx] = 1.0
"""

from __future__ import annotations

from lowering import ir

_PREC = {"or": 1, "and": 2, "cmp": 3, "|": 4, "^": 5, "&": 6, "<<": 7, ">>": 7, "+": 8, "-": 8, "*": 9, "/": 9,
         "//": 9, "%": 9}


def _dims(b: ir.Buffer) -> str:
    return ", ".join(expr(d) for d in b.shape)


def _buf(b: ir.Buffer) -> str:
    lay = f" layout {b.layout}" if b.layout is not None else ""
    return f"{b.name}: {b.dtype}[{_dims(b)}] {b.scope}{lay}"


def expr(e, parent: int = 0) -> str:
    """One expression, parenthesised only where precedence needs it."""
    if isinstance(e, ir.Const):
        return repr(e.value) if not isinstance(e.value, bool) else str(e.value)
    if isinstance(e, ir.Var):
        return e.name
    if isinstance(e, ir.ThreadIdx):
        return e.kind
    if isinstance(e, ir.Load):
        return f"{e.buffer.name}[{expr(e.index)}]"
    if isinstance(e, ir.Cast):
        return f"{e.dtype}({expr(e.a)})"
    if isinstance(e, ir.Call):
        return f"{e.name}({', '.join(a.name if isinstance(a, ir.Buffer) else expr(a) for a in e.args)})"
    if isinstance(e, ir.Select):
        return f"({expr(e.a)} if {expr(e.cond)} else {expr(e.b)})"
    if isinstance(e, ir.UnOp):
        return {"neg": "-", "not": "not ", "~": "~"}[e.op] + expr(e.a, 10)
    if isinstance(e, ir.BinOp) and e.op in ("min", "max"):
        return f"{e.op}({expr(e.a)}, {expr(e.b)})"
    if isinstance(e, (ir.BinOp, ir.Cmp, ir.Logic)):
        p = _PREC["cmp"] if isinstance(e, ir.Cmp) else _PREC[e.op]
        text = f"{expr(e.a, p)} {e.op} {expr(e.b, p + 1)}"
        return f"({text})" if p < parent else text
    return repr(e)


def _region(v: ir.TensorView) -> str:
    parts = [f"{expr(o) if isinstance(o, ir.Expr) else o}:+{n}" for o, n in zip(v.offsets, v.shape)]
    return f"{v.buffer.name}[{', '.join(parts)}]"


def _stmts(stmts, depth: int, out: list):
    pad = "  " * depth
    for s in stmts:
        if isinstance(s, ir.Assign):
            out.append(f"{pad}{s.var.name} = {expr(s.value)}")
        elif isinstance(s, ir.Store):
            out.append(f"{pad}{s.buffer.name}[{expr(s.index)}] = {expr(s.value)}")
        elif isinstance(s, ir.For):
            out.append(f"{pad}for {s.var.name} in range({expr(s.start)}, {expr(s.stop)}, {expr(s.step)}):")
            _stmts(s.body, depth + 1, out)
        elif isinstance(s, ir.While):
            out.append(f"{pad}while {expr(s.cond)}:")
            _stmts(s.body, depth + 1, out)
        elif isinstance(s, ir.If):
            out.append(f"{pad}if {expr(s.cond)}:")
            _stmts(s.then, depth + 1, out)
            if s.orelse:
                out.append(f"{pad}else:")
                _stmts(s.orelse, depth + 1, out)
        elif isinstance(s, ir.Break):
            out.append(f"{pad}break")
        elif isinstance(s, ir.Continue):
            out.append(f"{pad}continue")
        elif isinstance(s, ir.Barrier):
            out.append(f"{pad}barrier({s.scope})")
        elif isinstance(s, ir.Alloc):
            out.append(f"{pad}alloc {_buf(s.buffer)}")
        elif isinstance(s, ir.Evaluate):
            out.append(f"{pad}{expr(s.call)}")
        elif isinstance(s, ir.OpCall):
            ops = ", ".join(_region(v) for v in s.operands)
            attrs = "".join(f", {k}={expr(v) if isinstance(v, ir.Expr) else v}" for k, v in s.attrs)
            disp = f", dispatch={s.dispatch!r}" if s.dispatch else ""
            out.append(f"{pad}{s.op}({ops}{attrs}{disp})  # at {s.scope} scope")
        else:
            out.append(f"{pad}{s!r}")


def pretty(node) -> str:
    """A kernel or program as pseudo-code."""
    if isinstance(node, ir.Program):
        out = [f"program({', '.join(p.name for p in node.params)})"]
        for step in node.steps:
            if isinstance(step, ir.Launch):
                out.append("  launch " + pretty(step.kernel).replace("\n", "\n  "))
            else:
                a = dict(step.args)
                extra = f" over dim {a['dim']}" if "dim" in a else ""
                out.append(f"  host {step.name}{extra}: {a['dst']} ({a['dst_layout']}) <- {a['src']} "
                           f"({a['src_layout']}) via {a['transport']}")
        return "\n".join(out)
    k = node
    params = ", ".join(_buf(p) if isinstance(p, ir.Buffer) else f"{p.name}: {p.dtype}" for p in k.params)
    cl = f", clusters of {tuple(k.cluster)}" if any(c != 1 for c in k.cluster) else ""
    out = [f"kernel {k.name}({params}) grid {tuple(k.grid)} x {k.threads} threads{cl}"]
    _stmts(k.body, 1, out)
    return "\n".join(out)
