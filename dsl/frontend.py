"""Python source (``ast``) -> thread-level IR for the base language.

>>> import dsl
>>> @dsl.kernel(grid=(1,), threads=32)
... def k(a: dsl.Tensor[(32,), dsl.i32]):
...     a[dsl.thread_id()] = dsl.thread_id() * 2
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import axe

from . import ir
from .errors import DslError, at
from .types import DType, TensorType, const

_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
        ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_IDS = {"thread_id": "tx", "lane_id": "lane", "warp_id": "warp", "warpgroup_id": "warpgroup"}
_SCOPES = {"kernel_scope": "kernel", "cluster": "cluster", "cta": "cta", "warpgroup": "warpgroup",
           "warp": "warp", "thread": "thread"}
_MATH = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh")


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


class Frontend:
    """Translate one kernel function, specialised on ``consts``, into ``ir.Kernel`` body statements."""

    def __init__(self, fn, consts: dict):
        self.fn = fn
        self.file = inspect.getsourcefile(fn) or "<kernel>"
        lines, self.first = inspect.getsourcelines(fn)
        self.tree = ast.parse(textwrap.dedent("".join(lines)))
        self.indent = len(lines[0]) - len(lines[0].lstrip())
        self.consts = consts
        self.env: dict = {}
        self.params: list = []
        self.shapes: dict = {}
        self.n_shared = 0
        self.scope = "cta"
        self.distributed: dict = {}

    def loc(self, node) -> ir.Loc:
        return ir.Loc(self.file, self.first + node.lineno - 1, node.col_offset + self.indent)

    def err(self, node, msg: str) -> DslError:
        return DslError(at(self.loc(node), msg))

    # -- signature ---------------------------------------------------------------------------------------
    def translate(self) -> tuple:
        fdef = self.tree.body[0]
        ann = inspect.get_annotations(self.fn, eval_str=True)
        args = sorted(fdef.args.args, key=lambda a: isinstance(ann.get(a.arg), TensorType))
        slots = {}
        for a in args:
            t = ann.get(a.arg)
            if t is None:
                raise self.err(a, f"parameter {a.arg!r} needs an annotation (dsl.Tensor[...], a dtype or dsl.const)")
            if t is const:
                self.env[a.arg] = ir.Const(self.consts[a.arg], "i32" if isinstance(self.consts[a.arg], int)
                                           else "f32")
            elif isinstance(t, DType):
                v = ir.Var(a.arg, t.name)
                self.env[a.arg] = v
                slots[a.arg] = v
            elif isinstance(t, TensorType):
                dims = tuple(self._dim(a, d) for d in t.shape)
                size = dims[0]
                for d in dims[1:]:
                    size = ir.BinOp("*", size, d)
                b = ir.Buffer(a.arg, t.dtype.name, size, "global", dims)
                self.env[a.arg] = b
                slots[a.arg] = b
            else:
                raise self.err(a, f"unsupported annotation {t!r} for parameter {a.arg!r}")
        self.params = [slots[a.arg] for a in fdef.args.args if a.arg in slots]
        return self.block(fdef.body)

    def _dim(self, node, d):
        if isinstance(d, int):
            return ir.Const(d, "i32")
        if isinstance(d, str):
            v = self.env.get(d)
            if v is None:
                raise self.err(node, f"dim {d!r} must name an earlier scalar parameter or const")
            return v
        raise self.err(node, f"tensor dim {d!r} must be an int or a parameter name")

    # -- statements --------------------------------------------------------------------------------------
    def block(self, stmts) -> tuple:
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return tuple(out)

    def stmt(self, s) -> list:
        loc = self.loc(s)
        if isinstance(s, ast.Assign) and len(s.targets) == 1:
            return self.assign(s.targets[0], self.expr(s.value), s)
        if isinstance(s, ast.AnnAssign) and s.value is not None:
            return self.assign(s.target, self.expr(s.value), s)
        if isinstance(s, ast.AugAssign):
            op = _BIN.get(type(s.op))
            if op is None:
                raise self.err(s, f"unsupported operator {type(s.op).__name__}")
            cur = self.expr(s.target)
            return self.assign(s.target, self.binop(op, cur, self.expr(s.value), s), s)
        if isinstance(s, ast.For):
            return [self.for_(s, loc)]
        if isinstance(s, ast.While):
            if s.orelse:
                raise self.err(s, "while ... else is not supported")
            return [ir.While(self.cond(s.test), self.block(s.body), loc=loc)]
        if isinstance(s, ast.If):
            return [ir.If(self.cond(s.test), self.block(s.body), self.block(s.orelse), loc=loc)]
        if isinstance(s, ast.Break):
            return [ir.Break(loc=loc)]
        if isinstance(s, ast.Continue):
            return [ir.Continue(loc=loc)]
        if isinstance(s, ast.Pass):
            return []
        if isinstance(s, ast.With):
            return self.with_scope(s)
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            return self.call_stmt(s.value)
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
            return []  # docstring
        raise self.err(s, f"unsupported statement: {type(s).__name__}")

    def with_scope(self, s) -> list:
        if len(s.items) != 1 or s.items[0].optional_vars is not None:
            raise self.err(s, "use one execution scope per 'with' (e.g. 'with dsl.cta():')")
        c = s.items[0].context_expr
        name = self.dsl_name(c.func) if isinstance(c, ast.Call) else None
        if name not in _SCOPES or c.args:
            raise self.err(c, f"'with' needs an execution scope ({', '.join('dsl.' + n + '()' for n in _SCOPES)})")
        saved, self.scope = self.scope, _SCOPES[name]
        try:
            return list(self.block(s.body))
        finally:
            self.scope = saved

    def assign(self, target, value, node) -> list:
        if isinstance(target, ast.Name):
            if isinstance(value, ir.Buffer):
                self.env[target.id] = value
                return [ir.Alloc(value, loc=self.loc(node))]
            old = self.env.get(target.id)
            if isinstance(old, (ir.Buffer, ir.Const)) and not isinstance(old, ir.Var):
                if isinstance(old, ir.Buffer) or target.id in self.consts:
                    raise self.err(target, f"cannot assign to {target.id!r} (a tensor or const parameter)")
            dtype = old.dtype if isinstance(old, ir.Var) else value.dtype
            if isinstance(old, ir.Var) and old.dtype != value.dtype:
                if ir.is_float(value.dtype) and not ir.is_float(old.dtype):
                    raise self.err(node, f"{target.id!r} is {old.dtype}; assigning a {value.dtype} value "
                                         f"needs an explicit cast")
                value = ir.Cast(old.dtype, value)
            v = ir.Var(target.id, dtype)
            self.env[target.id] = v
            return [ir.Assign(v, value, loc=self.loc(node))]
        if isinstance(target, ast.Subscript):
            buf, index = self.element(target)
            if value.dtype != buf.dtype:
                value = ir.Cast(buf.dtype, value)
            return [ir.Store(buf, index, value, loc=self.loc(node))]
        raise self.err(target, "can only assign to a name or a tensor element")

    def for_(self, s, loc):
        it = s.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and isinstance(s.target, ast.Name) and 1 <= len(it.args) <= 3 and not s.orelse):
            raise self.err(s, "only 'for name in range(...)' loops are supported")
        args = [self.expr(a) for a in it.args]
        for a, node in zip(args, it.args):
            if ir.is_float(a.dtype):
                raise self.err(node, f"range() bounds must be integers, got {a.dtype}")
        start, stop, step = (ir.Const(0, "i32"), args[0], ir.Const(1, "i32")) if len(args) == 1 else \
            (args[0], args[1], args[2] if len(args) == 3 else ir.Const(1, "i32"))
        if isinstance(step, ir.Const) and step.value == 0:
            raise self.err(it, "range() step must not be zero")
        v = ir.Var(s.target.id, "i32")
        self.env[s.target.id] = v
        return ir.For(v, start, stop, step, self.block(s.body), loc=loc)

    def call_stmt(self, c) -> list:
        name = self.dsl_name(c.func)
        if name == "barrier" or name == "syncthreads":
            return [ir.Barrier("cta", loc=self.loc(c))]
        e = self.expr(c)
        if isinstance(e, ir.OpCall):
            return [e]
        return [ir.Evaluate(e, loc=self.loc(c))] if isinstance(e, ir.Call) else []

    # -- expressions -------------------------------------------------------------------------------------
    def cond(self, node) -> ir.Expr:
        e = self.expr(node)
        return e if e.dtype == "bool" else ir.Cmp("!=", e, ir.Const(0, e.dtype))

    def dsl_name(self, f):
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "dsl":
            return f.attr
        if isinstance(f, ast.Name):
            return f.id
        return None

    def binop(self, op, a, b, node):
        if op in ("&", "|", "^", "<<", ">>", "%", "//") and (ir.is_float(a.dtype) or ir.is_float(b.dtype)) \
                and op not in ("%", "//"):
            raise self.err(node, f"operator {op} needs integer operands, got {a.dtype} and {b.dtype}")
        if isinstance(a, ir.Const) and isinstance(b, ir.Const) and op in ("+", "-", "*", "//", "%"):
            fold = {"+": a.value + b.value, "-": a.value - b.value, "*": a.value * b.value}
            if b.value != 0 and isinstance(a.value, int) and isinstance(b.value, int):
                fold.update({"//": _cdiv(a.value, b.value), "%": a.value - _cdiv(a.value, b.value) * b.value})
            if op in fold:
                return ir.Const(fold[op], ir.promote(a.dtype, b.dtype))
        return ir.BinOp(op, a, b, loc=self.loc(node))

    def mma(self, n, args) -> ir.Call:
        """``dsl.mma_m16n8k16(d, d_off, a, a_off, b, b_off)``: warp-wide D[d_off:+4] += A[a_off:+8] @ B[b_off:+4]
        on the PTX m16n8k16 fragment layouts (f16 A/B in local buffers, f32 D)."""
        want = (("f32", 4), ("f16", 8), ("f16", 4))
        if len(args) != 6:
            raise self.err(n, "dsl.mma_m16n8k16(d, d_off, a, a_off, b, b_off) takes 6 arguments")
        for (dt, _), buf, node in zip(want, args[0::2], n.args[0::2]):
            if not isinstance(buf, ir.Buffer) or buf.scope != "local" or buf.dtype != dt:
                raise self.err(node, f"mma_m16n8k16 operand must be a local {dt} tensor (dsl.alloc_local)")
        return ir.Call("mma_m16n8k16", tuple(args), "f32", loc=self.loc(n))

    def layout_kw(self, n, shape):
        kw = {k.arg: k for k in n.keywords}
        if "layout" not in kw:
            return None
        node = kw["layout"].value
        try:
            val = eval(compile(ast.Expression(node), self.file, "eval"), self.fn.__globals__, dict(self.consts))
            layout = axe.Layout.parse(val) if isinstance(val, str) else val
            if not isinstance(layout, axe.Layout):
                raise DslError(f"layout must be an axe.Layout or its text, got {type(val).__name__}")
            layout.apply_base(*([0] * len(shape)), shape=shape)
            size = 1
            for d in shape:
                size *= d
            if layout.size != size:
                raise DslError(f"layout {layout} covers {layout.size} elements, the tensor has shape {shape}")
        except axe.AxeError as e:
            raise self.err(node, str(e).splitlines()[0]) from None
        return layout

    def view(self, node) -> ir.TensorView:
        """A tensor operand: a whole tensor or a static-slice region ``A[i0:i1, j0:j1]``."""
        if isinstance(node, ast.Subscript):
            buf = self.expr(node.value)
            if not isinstance(buf, ir.Buffer):
                raise self.err(node, "only tensors can be sliced")
            idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(idx) != len(buf.shape):
                raise self.err(node, f"tensor {buf.name!r} has {len(buf.shape)} dims, sliced with {len(idx)}")
            offs, shape = [], []
            for i, dim in zip(idx, buf.shape):
                if not isinstance(i, ast.Slice) or i.step is not None:
                    raise self.err(i, "operator operands take slices 'lo:hi' in every dim")
                lo = self.static(i.lower) if i.lower is not None else 0
                if i.upper is None:
                    if not isinstance(dim, ir.Const):
                        raise self.err(i, "an open slice of a dynamic dim needs an explicit upper bound")
                    hi = dim.value
                else:
                    hi = self.static(i.upper)
                if not 0 <= lo < hi or isinstance(dim, ir.Const) and hi > dim.value:
                    raise self.err(i, f"slice {lo}:{hi} out of bounds for dim of extent "
                                      f"{dim.value if isinstance(dim, ir.Const) else dim.name}")
                offs.append(lo)
                shape.append(hi - lo)
            return ir.TensorView(buf, tuple(offs), tuple(shape))
        buf = self.expr(node)
        if not isinstance(buf, ir.Buffer):
            raise self.err(node, "operator operand must be a tensor or a tensor region")
        if buf in self.distributed:
            shape, layout = self.distributed[buf]
            return ir.TensorView(buf, (0,) * len(shape), tuple(shape), layout)
        if not all(isinstance(d, ir.Const) for d in buf.shape):
            raise self.err(node, "a dynamic-shape tensor must be sliced with static bounds to be an operand")
        return ir.TensorView(buf, (0,) * len(buf.shape), tuple(d.value for d in buf.shape))

    def copy(self, n) -> ir.OpCall:
        if len(n.args) != 2:
            raise self.err(n, "dsl.copy(dst, src) takes 2 tensor arguments")
        kw = {k.arg: k.value for k in n.keywords}
        disp = kw.pop("dispatch", None)
        if kw:
            raise self.err(n, f"unknown keyword(s) {sorted(kw)} for dsl.copy")
        if disp is not None and not (isinstance(disp, ast.Constant) and isinstance(disp.value, str)):
            raise self.err(disp, "dispatch= takes a schedule name (a string)")
        dst, src = self.view(n.args[0]), self.view(n.args[1])
        if dst.buffer.dtype != src.buffer.dtype:
            raise self.err(n, f"copy between different dtypes ({src.buffer.dtype} -> {dst.buffer.dtype}); cast first")
        return ir.OpCall("copy", (dst, src), self.scope, disp.value if disp is not None else None, loc=self.loc(n))

    def static(self, node):
        """A compile-time int or tuple of ints (literals, consts, arithmetic on them)."""
        if isinstance(node, ast.Tuple):
            return tuple(self.static(e) for e in node.elts)
        e = self.expr(node)
        if not isinstance(e, ir.Const) or not isinstance(e.value, int):
            raise self.err(node, "expected a compile-time integer (literal or dsl.const)")
        return e.value

    def element(self, node):
        buf = self.expr(node.value)
        if not isinstance(buf, ir.Buffer):
            raise self.err(node, "subscript of something that is not a tensor")
        idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(idx) != len(buf.shape):
            raise self.err(node, f"tensor {buf.name!r} has {len(buf.shape)} dims, indexed with {len(idx)}")
        flat = None
        for k, i in enumerate(idx):
            e = self.expr(i)
            if ir.is_float(e.dtype):
                raise self.err(i, f"tensor index must be an integer, got {e.dtype}")
            flat = e if flat is None else self.binop("+", self.binop("*", flat, buf.shape[k], node), e, node)
        return buf, flat

    def expr(self, n) -> ir.Expr:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool):
                return ir.Const(n.value, "bool")
            if isinstance(n.value, int):
                return ir.Const(n.value, "i32")
            if isinstance(n.value, float):
                return ir.Const(n.value, "f32")
            raise self.err(n, f"unsupported constant {n.value!r}")
        if isinstance(n, ast.Name):
            if n.id not in self.env:
                raise self.err(n, f"unknown name {n.id!r}")
            return self.env[n.id]
        if isinstance(n, ast.BinOp):
            op = _BIN.get(type(n.op))
            if op is None:
                raise self.err(n, f"unsupported operator {type(n.op).__name__}")
            return self.binop(op, self.expr(n.left), self.expr(n.right), n)
        if isinstance(n, ast.UnaryOp):
            a = self.expr(n.operand)
            if isinstance(n.op, ast.USub):
                return ir.Const(-a.value, a.dtype) if isinstance(a, ir.Const) else ir.UnOp("neg", a)
            if isinstance(n.op, ast.Not):
                return ir.UnOp("not", self.cond(n.operand))
            if isinstance(n.op, ast.Invert):
                return ir.UnOp("~", a)
            return a
        if isinstance(n, ast.Compare):
            if len(n.ops) != 1:
                out = None
                left = n.left
                for op, right in zip(n.ops, n.comparators):
                    if type(op) not in _CMP:
                        raise self.err(n, f"unsupported comparison {type(op).__name__}")
                    c = ir.Cmp(_CMP[type(op)], self.expr(left), self.expr(right))
                    out = c if out is None else ir.Logic("and", out, c)
                    left = right
                return out
            op = _CMP.get(type(n.ops[0]))
            if op is None:
                raise self.err(n, f"unsupported comparison {type(n.ops[0]).__name__}")
            return ir.Cmp(op, self.expr(n.left), self.expr(n.comparators[0]))
        if isinstance(n, ast.BoolOp):
            op = "and" if isinstance(n.op, ast.And) else "or"
            out = self.cond(n.values[0])
            for v in n.values[1:]:
                out = ir.Logic(op, out, self.cond(v))
            return out
        if isinstance(n, ast.IfExp):
            return ir.Select(self.cond(n.test), self.expr(n.body), self.expr(n.orelse))
        if isinstance(n, ast.Subscript):
            buf, idx = self.element(n)
            return ir.Load(buf, idx, loc=self.loc(n))
        if isinstance(n, ast.Call):
            return self.call(n)
        raise self.err(n, f"unsupported expression: {type(n).__name__}")

    def call(self, n) -> ir.Expr:
        name = self.dsl_name(n.func)
        if name == "copy":
            return self.copy(n)
        args = [self.expr(a) for a in n.args] if name not in ("alloc_shared", "alloc_local") else []
        if name in _IDS:
            return ir.ThreadIdx(_IDS[name])
        if name == "cta_id":
            d = args[0].value if args else 0
            return ir.ThreadIdx("cta." + "xyz"[d])
        if name in ("min", "max") and len(args) == 2:
            return ir.BinOp(name, args[0], args[1], loc=self.loc(n))
        if name in _MATH and len(args) == 1:
            t = args[0].dtype if ir.is_float(args[0].dtype) or name == "abs" else "f32"
            return ir.Call(name, tuple(args), t, loc=self.loc(n))
        if name in ("f16", "f32", "f64", "i8", "i32", "i64", "float", "int") and len(args) == 1:
            t = {"float": "f32", "int": "i32"}.get(name, name)
            return ir.Cast(t, args[0])
        if name == "mma_m16n8k16":
            return self.mma(n, args)
        if name == "shfl_xor" and len(args) == 2:
            return ir.Call("shfl_xor", tuple(args), args[0].dtype, loc=self.loc(n))
        if name in ("alloc_shared", "alloc_local"):
            if len(n.args) != 2:
                raise self.err(n, f"dsl.{name}(shape, dtype) takes 2 arguments")
            shape = self.static(n.args[0])
            shape = shape if isinstance(shape, tuple) else (shape,)
            dt = self.dsl_name(n.args[1])
            size = 1
            for d in shape:
                size *= d
            self.n_shared += 1
            scope = "shared" if name == "alloc_shared" else "local"
            layout = self.layout_kw(n, shape) if name == "alloc_local" else None
            if layout is not None:
                p = layout.partition(tuple(a for a in layout.axes if a != "reg"))
                buf = ir.Buffer(f"lmem{self.n_shared}", dt, int(p.num_local), "local",
                                (ir.Const(int(p.num_local), "i32"),))
                self.distributed[buf] = (shape, layout)
                return buf
            return ir.Buffer(f"{scope[0]}mem{self.n_shared}", dt, size, scope, tuple(ir.Const(d, "i32") for d in shape))
        raise self.err(n, f"unknown function {ast.unparse(n.func)!r} with {len(args)} argument(s)")
