"""Python source (``ast``) -> thread-level IR for the base language.

>>> import dsl
>>> @dsl.kernel(grid=(1,), threads=32)
... def k(a: dsl.Tensor[(32,), dsl.i32]):
...     a[dsl.thread_id()] = dsl.thread_id() * 2
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import textwrap

from lowering import ir
from lowering.ir import arith
from lowering.ir.errors import DslError, at
from lowering.ir.sync import arrive_once

from .language import BUILTINS, CALL, METHOD, SCOPE, SELECTOR, STATEMENT
from .memory import MemoryMixin
from .operators import OperatorsMixin
from .scopes import ScopesMixin
from .signature import closure_vars, resolved_annotations
from .types import INT_RANGE, DType, TensorType, const

_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
        ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FOLDS = ("+", "-", "*", "//", "%", "<<", ">>", "&", "|", "^")    # folded when both operands are constants
_IDS = {"thread_id": "tx", "lane_id": "lane", "warp_id": "warp", "warpgroup_id": "warpgroup"}  # their axes
_MISSING = object()
# where a name of each form may stand, for the error when it stands elsewhere
_MISPLACED = {STATEMENT: "{s}() is a statement; it has no value",
              SCOPE: "{s}() is an execution scope: write 'with {s}():'",
              SELECTOR: "{s}() selects a thread: use it as a scope slice, dsl.thread()[{s}()]",
              METHOD: "{n} is a tensor method: write T.{n}(...) with T a tensor"}


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _fits(v: int, dtype: str) -> bool:
    lo, hi = INT_RANGE.get(dtype, INT_RANGE["i64"])
    return lo <= v <= hi


class Frontend(MemoryMixin, ScopesMixin, OperatorsMixin):
    """Translate one kernel function, specialised on ``consts``, into ``ir.Kernel`` body statements."""

    HANDLERS: dict = {}   # every name of the vocabulary -> (Builtin, handler method): handler_table, below

    def __init__(self, fn, consts: dict, cluster: tuple = (1,)):
        self.fn = fn
        self.cluster = tuple(cluster) + (1,) * (3 - len(cluster))
        self.file = inspect.getsourcefile(fn) or "<kernel>"
        try:
            lines, self.first = inspect.getsourcelines(fn)
        except (OSError, TypeError):
            raise DslError(f"kernel {fn.__name__!r}: its Python source is not available (kernels defined with "
                           f"exec or in an interactive prompt cannot be parsed; put them in a file)") from None
        self.tree = ast.parse(textwrap.dedent("".join(lines)))
        self.indent = len(lines[0]) - len(lines[0].lstrip())
        self.consts = consts
        self.env: dict = {}
        self.params: list = []
        self.shapes: dict = {}
        self.n_shared = 0
        self.auto_names: set = set()
        self.barrier_bufs: set = set()
        self.barrier_arrivals: dict = {}
        self.taken: set = set()
        self.scope = "cta"
        self.global_shapes: dict = {}
        self.tensor_params: set = set()
        self.control = 0            # how many if/for/while bodies enclose the statement being translated

    def loc(self, node) -> ir.Loc:
        return ir.Loc(self.file, self.first + node.lineno - 1, node.col_offset + self.indent)

    def err(self, node, msg: str) -> DslError:
        return DslError(at(self.loc(node), msg))

    # -- signature ---------------------------------------------------------------------------------------
    def translate(self) -> tuple:
        fdef = self.tree.body[0]
        ann = resolved_annotations(self.fn)
        args = sorted(fdef.args.args, key=lambda a: isinstance(ann.get(a.arg), TensorType))
        slots = {}
        for a in args:
            t = ann.get(a.arg)
            if t is None:
                raise self.err(a, f"parameter {a.arg!r} needs an annotation (dsl.Tensor[...], a dtype or dsl.const)")
            if t is const:
                v = self.consts[a.arg]
                if isinstance(v, bool):
                    self.env[a.arg] = ir.Const(v, "bool")
                elif isinstance(v, int):
                    if not _fits(v, "i32"):
                        raise self.err(a, f"const {a.arg!r} = {v} does not fit in i32 (the kernel's integers are "
                                          f"32-bit)")
                    self.env[a.arg] = ir.Const(v, "i32")
                elif isinstance(v, float):
                    self.env[a.arg] = ir.Const(v, "f32")
                # other values (layouts, strings) are only visible to compile-time expressions (layout=...)
            elif isinstance(t, DType):
                v = ir.Var(a.arg, t.name)
                self.env[a.arg] = v
                slots[a.arg] = v
            elif isinstance(t, TensorType):
                b = self.tensor_param(a, t)
                self.env[a.arg] = b
                slots[a.arg] = b
                self.tensor_params.add(a.arg)
            else:
                raise self.err(a, f"unsupported annotation {t!r} for parameter {a.arg!r}")
        self.params = [slots[a.arg] for a in fdef.args.args if a.arg in slots]
        return self.block(fdef.body)

    # -- statements --------------------------------------------------------------------------------------
    def block(self, stmts) -> tuple:
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return tuple(out)

    def stmt(self, s) -> list:
        loc = self.loc(s)
        if isinstance(s, ast.Assign) and len(s.targets) == 1:
            return self.assign(s.targets[0], self.bound_value(s.value), s)
        if isinstance(s, ast.AnnAssign) and s.value is not None:
            return self.assign(s.target, self.bound_value(s.value), s)
        if isinstance(s, ast.AugAssign):
            op = _BIN.get(type(s.op))
            if op is None:
                raise self.err(s, f"unsupported operator {type(s.op).__name__}")
            if isinstance(s.target, ast.Name):
                self.check_rebind(s.target, None)
            cur = self.value(s.target)
            return self.assign(s.target, self.binop(op, cur, self.value(s.value), s), s)
        if isinstance(s, ast.For):
            return [self.for_(s, loc)]
        if isinstance(s, ast.While):
            if s.orelse:
                raise self.err(s, "while ... else is not supported")
            return [ir.While(self.cond(s.test), self.nested(s.body), loc=loc)]
        if isinstance(s, ast.If):
            return [ir.If(self.cond(s.test), self.nested(s.body), self.nested(s.orelse), loc=loc)]
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

    def nested(self, stmts) -> tuple:
        """The statements of an if/for/while body (where a tensor name may not be rebound)."""
        self.control += 1
        try:
            return self.block(stmts)
        finally:
            self.control -= 1

    def bound_value(self, node):
        """The right-hand side of an assignment: a scalar, or a tensor (an allocation, a view, another name)."""
        e = self.expr(node)
        if isinstance(e, ir.Buffer):
            return e
        return self.scalar_of(node, e)

    def check_rebind(self, target, value) -> None:
        """A tensor parameter keeps its tensor; a name keeps being a tensor or a scalar; a tensor name is not
        rebound to another tensor inside if/for/while (which tensor it names is decided at compile time)."""
        name = target.id
        old = self.env.get(name)
        if name in self.tensor_params:
            raise self.err(target, f"cannot assign to {name!r}: it is a tensor parameter (write an element, "
                                   f"{name}[i] = ..., or give the new value another name)")
        if name in self.consts and not isinstance(value, ir.Buffer):
            raise self.err(target, f"cannot assign to {name!r}: it is a const parameter")
        if isinstance(old, ir.Buffer) and not isinstance(value, ir.Buffer):
            raise self.err(target, f"{name!r} is a tensor; assigning a scalar to it is not supported (write an "
                                   f"element, {name}[i] = ..., or use another name)")
        if isinstance(old, ir.Expr) and isinstance(value, ir.Buffer):
            raise self.err(target, f"{name!r} is a scalar; binding a tensor to it is not supported (use another "
                                   f"name)")
        if isinstance(old, ir.Buffer) and isinstance(value, ir.Buffer) and self.control and \
                value.name not in self.auto_names and old.name != value.name:
            raise self.err(target, f"{name!r} names tensor {old.name!r}; rebinding it to {value.name!r} inside "
                                   f"if/for/while is not supported (which tensor a name means is fixed when the "
                                   f"kernel compiles)")

    def assign(self, target, value, node) -> list:
        if isinstance(target, ast.Name):
            self.check_rebind(target, value)
            if isinstance(value, ir.Buffer):
                barriers = value.name in self.barrier_bufs
                fresh = value.name in self.auto_names
                if fresh:   # a fresh allocation takes the user's variable name
                    old = value.name
                    value = dataclasses.replace(value, name=self.unique_name(target.id))
                    if barriers:
                        self.barrier_bufs.add(value.name)
                        self.barrier_arrivals[value.name] = self.barrier_arrivals[old]
                self.env[target.id] = value
                if not fresh:   # another name for a tensor, or a view of one: the same storage, not a new one
                    return []
                out = [ir.Alloc(value, loc=self.loc(node))]
                if barriers:  # one thread initialises every mbarrier (one arrival per phase), then all see it
                    i = ir.Var(f"{value.name}_i", "i32")
                    count = arith.const(self.barrier_arrivals[value.name])
                    init = ir.Evaluate(ir.Call("mbar_init", (value, i, count), "i32"), loc=self.loc(node))
                    init_all = ir.For(i, arith.ZERO, arith.const(value.size), arith.ONE, (init,), loc=self.loc(node))
                    out += [ir.If(ir.Cmp("==", ir.ThreadIdx("tx"), arith.ZERO), (init_all,), loc=self.loc(node)),
                            ir.Barrier("cta", loc=self.loc(node))]
                return out
            old = self.env.get(target.id)
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
            if isinstance(value, ir.Buffer):
                raise self.err(node, f"an element of {buf.name!r} takes a scalar, not a tensor (copy tensors "
                                     f"with dsl.copy(dst, src))")
            if value.dtype != buf.dtype:
                value = ir.Cast(buf.dtype, value)
            return [ir.Store(buf, index, value, loc=self.loc(node))]
        raise self.err(target, "can only assign to a name or a tensor element")

    def for_(self, s, loc):
        it = s.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and isinstance(s.target, ast.Name) and 1 <= len(it.args) <= 3 and not s.orelse):
            raise self.err(s, "only 'for name in range(...)' loops are supported")
        if it.keywords:
            raise self.err(it, "range() takes no keyword arguments")
        args = [self.value(a) for a in it.args]
        for a, node in zip(args, it.args):
            if ir.is_float(a.dtype) or a.dtype == "bool":
                raise self.err(node, f"range() bounds must be integers, got {a.dtype}")
        start, stop, step = (ir.Const(0, "i32"), args[0], ir.Const(1, "i32")) if len(args) == 1 else \
            (args[0], args[1], args[2] if len(args) == 3 else ir.Const(1, "i32"))
        if isinstance(step, ir.Const) and step.value == 0:
            raise self.err(it, "range() step must not be zero")
        self.check_rebind(s.target, None)
        old = self.env.get(s.target.id)
        if isinstance(old, ir.Var) and old.dtype != "i32":
            raise self.err(s.target, f"{s.target.id!r} is {old.dtype}; a loop variable is i32 (use another name)")
        v = ir.Var(s.target.id, "i32")
        self.env[s.target.id] = v
        return ir.For(v, start, stop, step, self.nested(s.body), loc=loc)

    def call_stmt(self, c) -> list:
        out = self.call(c, statement=True)
        if isinstance(out, list):
            return out
        if isinstance(out, ir.OpCall):
            return [out]
        return [ir.Evaluate(out, loc=self.loc(c))] if isinstance(out, ir.Call) else []

    # -- synchronisation (handlers of dsl/language.py's names) -------------------------------------------
    def sync_barrier(self, c, name) -> list:
        """``dsl.barrier()`` / ``dsl.syncthreads()``: a barrier over the current scope."""
        if c.args or c.keywords:
            raise self.err(c, "dsl.barrier() takes no arguments (it synchronises the current scope)")
        scope = {"cta": "cta", "warpgroup": "warpgroup", "warp": "warp", "cluster": "cluster"}.get(self.scope)
        if scope is None:
            raise self.err(c, f"dsl.barrier() at {self.scope} scope is not supported (use cluster, cta, "
                              f"warpgroup or warp scope)")
        if scope == "cluster" and self.cluster == (1, 1, 1):
            raise self.err(c, "dsl.barrier() at cluster scope needs a cluster launch (@dsl.kernel(cluster=...))")
        return [ir.Barrier(scope, loc=self.loc(c))]

    def sync_arrive(self, c, name) -> list:
        """``dsl.arrive(bars[i])``: one arrival on the mbarrier per instance of the current scope, once all
        its threads got there (a consumer's "this stage is free")."""
        if len(c.args) != 1 or c.keywords:
            raise self.err(c, "dsl.arrive(bars[i]) takes one barrier")
        if self.scope not in ("cta", "warpgroup", "warp", "thread"):
            raise self.err(c, f"dsl.arrive runs at cta, warpgroup, warp or thread scope, not {self.scope}")
        buf, idx = self.barrier_ref(c.args[0])
        return list(arrive_once(self.scope, buf, idx, self.loc(c)))

    def constant_argument(self, c):
        """The one positional argument of ``c`` as a compile-time int, else None."""
        return self.static(c.args[0]) if len(c.args) == 1 and not c.keywords else None

    def sync_setmaxnreg(self, c, name) -> list:
        """``dsl.setmaxnreg(n)``: the registers per thread of the current warpgroup (sm_90a ``setmaxnreg``;
        the kernel then launches with a register cap)."""
        loc = self.loc(c)
        n = self.constant_argument(c)
        if not isinstance(n, int) or n % 8 or not 24 <= n <= 256:
            raise self.err(c, "dsl.setmaxnreg(n) takes a constant register count, a multiple of 8 in 24..256")
        if self.scope != "warpgroup":
            raise self.err(c, f"dsl.setmaxnreg runs at warpgroup scope (inside dsl.warpgroup()[i:j]), "
                              f"not {self.scope}")
        return [ir.Evaluate(ir.Call("setmaxnreg", (arith.const(n),), "i32", loc=loc), loc=loc)]

    def sync_gemm_wait(self, c, name) -> list:
        """``dsl.gemm_wait(pending)``: wait until at most ``pending`` of this scope's ``dsl.gemm_async``
        remain."""
        loc = self.loc(c)
        n = self.constant_argument(c)
        if not isinstance(n, int) or not 0 <= n <= 7:
            raise self.err(c, "dsl.gemm_wait(pending) takes a constant 0..7")
        return [ir.Evaluate(ir.Call("wgmma_wait", (arith.const(n),), "i32", loc=loc), loc=loc)]

    def sync_wait(self, n, name) -> ir.Call:
        """``dsl.wait(bars[i], phase)``: wait for the phase of parity ``phase % 2`` of an mbarrier."""
        if len(n.args) != 2 or n.keywords:
            raise self.err(n, "dsl.wait(bars[i], phase) takes a barrier and the phase parity (0 or 1)")
        buf, idx = self.barrier_ref(n.args[0])
        phase = self.value(n.args[1])
        return ir.Call("mbar_wait", (buf, idx, arith.mod(phase, 2)), "i32", loc=self.loc(n))

    # -- expressions -------------------------------------------------------------------------------------
    def outer_object(self, name: str, default=None):
        """What ``name`` is bound to outside the kernel (closure first, then module globals), else ``default``."""
        closure = self.outer_names()
        return closure[name] if name in closure else self.fn.__globals__.get(name, default)

    def outer_names(self) -> dict:
        """The kernel function's closure variables (a kernel made by a factory function), found once."""
        if not hasattr(self, "_closure"):
            self._closure = closure_vars(self.fn)
        return self._closure

    def outer_constant(self, n) -> ir.Const:
        """A module-level or closure int/float/bool read inside the kernel: a compile-time constant."""
        v = self.outer_object(n.id, _MISSING)
        if n.id in self.consts:
            v = self.consts[n.id]
            raise self.err(n, f"const parameter {n.id!r} is a {type(v).__name__}; only ints, floats and bools are "
                              f"values in a kernel (others are for layout= expressions)")
        if v is _MISSING:
            raise self.err(n, f"unknown name {n.id!r}")
        if isinstance(v, bool):
            return ir.Const(v, "bool")
        if isinstance(v, int):
            if not -2**31 <= v < 2**31:
                raise self.err(n, f"global {n.id!r} = {v} does not fit in i32")
            return ir.Const(v, "i32")
        if isinstance(v, float):
            return ir.Const(v, "f32")
        raise self.err(n, f"{n.id!r} is a {type(v).__name__} outside the kernel; kernels read outer ints, floats "
                          f"and bools as constants (pass other values as parameters)")

    def cond(self, node) -> ir.Expr:
        e = self.value(node)
        return e if e.dtype == "bool" else ir.Cmp("!=", e, ir.Const(0, e.dtype))

    def value(self, node) -> ir.Expr:
        """``node`` as a scalar value (a number, an element, an expression): an error at its line if it is a
        tensor or something without a value."""
        return self.scalar_of(node, self.expr(node))

    def scalar_of(self, node, e) -> ir.Expr:
        if isinstance(e, ir.Buffer):
            text = ast.unparse(node)
            raise self.err(node, f"{text!r} is a tensor; a scalar is needed here (an element: {text}[i], or an "
                                 f"operator such as dsl.copy for whole tensors)")
        if not isinstance(e, ir.Expr):
            raise self.err(node, f"{ast.unparse(node)} has no value (it is a statement)")
        return e

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
        dtype = ir.promote(a.dtype, b.dtype)
        integer = not ir.is_float(dtype)
        if integer and isinstance(b, ir.Const) and not isinstance(b.value, float):
            if op in ("//", "%") and b.value == 0:
                raise self.err(node, f"integer {'division' if op == '//' else 'modulo'} by zero (undefined on a "
                                     f"GPU)")
            bits = {"i8": 8, "i32": 32, "i64": 64}.get(dtype, 32)
            if op in ("<<", ">>") and not 0 <= b.value < bits:
                raise self.err(node, f"shift by {b.value} of a {bits}-bit integer (undefined on a GPU: the amount "
                                     f"must be 0..{bits - 1})")
        if isinstance(a, ir.Const) and isinstance(b, ir.Const) and op in _FOLDS:
            fold = {"+": a.value + b.value, "-": a.value - b.value, "*": a.value * b.value}
            if b.value != 0 and isinstance(a.value, int) and isinstance(b.value, int):
                fold.update({"//": _cdiv(a.value, b.value), "%": a.value - _cdiv(a.value, b.value) * b.value})
            if integer and isinstance(a.value, int) and isinstance(b.value, int):   # (shifts in range: above)
                fold.update({"<<": a.value << b.value, ">>": a.value >> b.value, "&": a.value & b.value,
                             "|": a.value | b.value, "^": a.value ^ b.value})
            if op in fold:
                v = fold[op]
                if integer and not _fits(int(v), dtype if dtype in INT_RANGE else "i32"):
                    raise self.err(node, f"constant {ast.unparse(node) if isinstance(node, ast.BinOp) else v} = "
                                         f"{v} does not fit in {dtype if dtype in INT_RANGE else 'i32'} (the "
                                         f"kernel's integers are 32-bit)")
                return ir.Const(v, dtype)
        return ir.BinOp(op, a, b, loc=self.loc(node))

    # -- indices, casts and intrinsics (handlers of dsl/language.py's names) ------------------------------
    def thread_index(self, n, name) -> ir.ThreadIdx:
        """``dsl.thread_id()``, ``lane_id()``, ``warp_id()``, ``warpgroup_id()``."""
        if n.args or n.keywords:
            raise self.err(n, f"dsl.{name}() takes no arguments")
        return ir.ThreadIdx(_IDS[name])

    def grid_dim(self, n, name) -> int:
        """The constant ``dim`` (0, 1 or 2; default 0) of ``dsl.cta_id(dim)`` and the cluster ids."""
        nodes = list(n.args) + [k.value for k in n.keywords]
        if len(nodes) > 1 or any(k.arg != "dim" for k in n.keywords):
            raise self.err(n, f"dsl.{name}(dim) takes a constant dim 0, 1 or 2")
        if not nodes:
            return 0
        d = self.expr(nodes[0])
        if not (isinstance(d, ir.Const) and d.value in (0, 1, 2)):
            raise self.err(n, f"dsl.{name}(dim) takes a constant dim 0, 1 or 2")
        return d.value

    def cta_index(self, n, name) -> ir.Expr:
        """``dsl.cta_id(dim=0)``: the CTA's index in the grid."""
        return ir.ThreadIdx("cta." + "xyz"[self.grid_dim(n, name)])

    def cluster_index(self, n, name) -> ir.Expr:
        """``dsl.cluster_id(dim=0)``: the cluster's index in the grid."""
        d = self.grid_dim(n, name)
        return arith.floordiv(ir.ThreadIdx("cta." + "xyz"[d]), self.cluster[d])

    def cluster_cta_index(self, n, name) -> ir.Expr:
        """``dsl.cluster_cta_id(dim=0)``: the CTA's index in its cluster."""
        d = self.grid_dim(n, name)
        return arith.mod(ir.ThreadIdx("cta." + "xyz"[d]), self.cluster[d])

    def scalar_cast(self, n, name) -> ir.Cast:
        """``dsl.f16(x)``... (and ``float(x)``, ``int(x)``): a scalar converted to the dtype ``name``."""
        if len(n.args) != 1 or n.keywords:
            raise self.err(n, f"dsl.{name}(x) converts one scalar to {name}")
        arg = n.args[0]
        if name in INT_RANGE and isinstance(arg, ast.Constant) and type(arg.value) is int:   # dsl.i64(2**40)
            if not _fits(arg.value, name):
                raise self.err(arg, f"integer constant {arg.value} does not fit in {name}")
            return ir.Const(arg.value, name)
        return ir.Cast(name, self.value(arg))

    def intrinsic_mma(self, n, name) -> ir.Call:
        """``dsl.mma_m16n8k16(d, d_off, a, a_off, b, b_off)``: warp-wide D[d_off:+4] += A[a_off:+8] @ B[b_off:+4]
        on the PTX m16n8k16 fragment layouts (f16 A/B in local buffers, f32 D)."""
        want = (("f32", 4), ("f16", 8), ("f16", 4))
        args = [self.expr(a) for a in n.args]
        for i in (1, 3, 5):
            if i < len(args):
                args[i] = self.scalar_of(n.args[i], args[i])
        if len(args) != 6 or n.keywords:
            raise self.err(n, "dsl.mma_m16n8k16(d, d_off, a, a_off, b, b_off) takes 6 arguments")
        for (dt, _), buf, node in zip(want, args[0::2], n.args[0::2]):
            if not isinstance(buf, ir.Buffer) or buf.scope != "local" or buf.dtype != dt:
                raise self.err(node, f"mma_m16n8k16 operand must be a local {dt} tensor (dsl.alloc_local)")
        return ir.Call("mma_m16n8k16", tuple(args), "f32", loc=self.loc(n))

    def intrinsic_shfl_xor(self, n, name) -> ir.Call:
        """``dsl.shfl_xor(value, mask)``: the value of lane ``lane ^ mask``."""
        if len(n.args) != 2 or n.keywords:
            raise self.err(n, "dsl.shfl_xor(value, mask) takes 2 arguments")
        args = tuple(self.value(a) for a in n.args)
        if ir.is_float(args[1].dtype) or args[1].dtype == "bool":
            raise self.err(n.args[1], f"dsl.shfl_xor's lane mask is an integer, got {args[1].dtype}")
        return ir.Call("shfl_xor", args, args[0].dtype, loc=self.loc(n))

    def static(self, node):
        """A compile-time int or tuple of ints (literals, consts, arithmetic on them)."""
        if isinstance(node, ast.Tuple):
            return tuple(self.static(e) for e in node.elts)
        e = self.expr(node)
        if not isinstance(e, ir.Const) or not isinstance(e.value, int):
            raise self.err(node, "expected a compile-time integer (literal or dsl.const)")
        return e.value

    def expr(self, n) -> ir.Expr:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool):
                return ir.Const(n.value, "bool")
            if isinstance(n.value, int):
                if not _fits(n.value, "i32"):
                    raise self.err(n, f"integer constant {n.value} does not fit in i32 (the kernel's integers and "
                                      f"index arithmetic are 32-bit; a 64-bit constant is dsl.i64({n.value}))")
                return ir.Const(n.value, "i32")
            if isinstance(n.value, float):
                return ir.Const(n.value, "f32")
            raise self.err(n, f"unsupported constant {n.value!r}")
        if isinstance(n, ast.Name):
            if n.id not in self.env:
                return self.outer_constant(n)
            return self.env[n.id]
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, ast.Pow):
                return self.power(n)
            op = _BIN.get(type(n.op))
            if op is None:
                raise self.err(n, f"unsupported operator {type(n.op).__name__}")
            return self.binop(op, self.value(n.left), self.value(n.right), n)
        if isinstance(n, ast.UnaryOp):
            if isinstance(n.op, ast.USub) and isinstance(n.operand, ast.Constant) and type(n.operand.value) is int \
                    and n.operand.value == 2**31:
                return ir.Const(-2**31, "i32")       # the smallest i32, written as a literal
            a = self.value(n.operand)
            if isinstance(n.op, ast.USub):
                if isinstance(a, ir.Const) and isinstance(a.value, bool):
                    return ir.Const(-int(a.value), "i32")
                return ir.Const(-a.value, a.dtype) if isinstance(a, ir.Const) else ir.UnOp("neg", a)
            if isinstance(n.op, ast.Not):
                return ir.UnOp("not", self.cond(n.operand))
            if isinstance(n.op, ast.Invert):
                if ir.is_float(a.dtype):
                    raise self.err(n, f"operator ~ needs an integer operand, got {a.dtype}")
                return ir.UnOp("~", a)
            return a
        if isinstance(n, ast.Compare):
            if len(n.ops) != 1:
                out = None
                left = n.left
                for op, right in zip(n.ops, n.comparators):
                    if type(op) not in _CMP:
                        raise self.err(n, f"unsupported comparison {type(op).__name__}")
                    c = ir.Cmp(_CMP[type(op)], self.value(left), self.value(right))
                    out = c if out is None else ir.Logic("and", out, c)
                    left = right
                return out
            op = _CMP.get(type(n.ops[0]))
            if op is None:
                raise self.err(n, f"unsupported comparison {type(n.ops[0]).__name__}")
            return ir.Cmp(op, self.value(n.left), self.value(n.comparators[0]))
        if isinstance(n, ast.BoolOp):
            op = "and" if isinstance(n.op, ast.And) else "or"
            out = self.cond(n.values[0])
            for v in n.values[1:]:
                out = ir.Logic(op, out, self.cond(v))
            return out
        if isinstance(n, ast.IfExp):
            return ir.Select(self.cond(n.test), self.value(n.body), self.value(n.orelse))
        if isinstance(n, ast.Subscript):
            buf, idx = self.element(n)
            return ir.Load(buf, idx, loc=self.loc(n))
        if isinstance(n, ast.Call):
            return self.call(n)
        raise self.err(n, f"unsupported expression: {type(n).__name__}")

    def power(self, n) -> ir.Const:
        """``a ** b`` of compile-time integers (``2**k``), folded; it must fit in i32 as every literal does."""
        a, b = self.value(n.left), self.value(n.right)
        if not all(isinstance(x, ir.Const) and type(x.value) is int for x in (a, b)) or b.value < 0:
            raise self.err(n, "** takes compile-time integers with a non-negative exponent (e.g. 2**k with k a "
                              "const); compute other powers with * or dsl.exp/dsl.log")
        if abs(a.value) > 1 and b.value > 64 or not _fits(a.value ** b.value, "i32"):
            raise self.err(n, f"constant {ast.unparse(n)} does not fit in i32 (the kernel's integers and index "
                              f"arithmetic are 32-bit)")
        return ir.Const(a.value ** b.value, "i32")

    def call(self, n, statement: bool = False):
        """A call, translated by the handler the vocabulary names for it (``dsl/language.py``); a call
        written as a statement may also be a statement-only name (``dsl.barrier()``)."""
        b, handler = self.builtin(n)
        form = b.form
        if form == CALL or form == STATEMENT and statement or form == METHOD and self.is_method_call(n):
            return handler(self, n, b.name)
        raise self.err(n, _MISPLACED[form].format(s=b.spelling, n=b.name))

    def is_method_call(self, n) -> bool:
        """Whether a call is ``T.<name>(...)`` of a tensor ``T``."""
        return isinstance(n.func, ast.Attribute) and self.is_tensor_node(n.func.value)

    def builtin(self, n) -> tuple:
        """``(Builtin, handler)`` of a call: ``dsl.<name>(...)`` or ``name(...)`` looked up in the
        vocabulary, ``T.<name>(...)`` among the tensor methods; else a ``DslError`` suggesting a name."""
        f = n.func
        if self.is_method_call(n):
            entry = self.HANDLERS.get(f.attr)
            if entry is None or entry[0].form != METHOD:
                close = difflib.get_close_matches(f.attr, _METHOD_NAMES, n=1)
                hint = f"; did you mean {ast.unparse(f.value)}.{close[0]}?" if close else ""
                raise self.err(n, f"unknown tensor method {ast.unparse(f)}{hint}")
            return entry
        entry = self.HANDLERS.get(self.dsl_name(f))
        if entry is None:
            raise self.unknown_function(n)
        return entry

    def unknown_function(self, n) -> DslError:
        """The error for a call of a name outside the vocabulary, suggesting the closest name a kernel may
        call as ``dsl.<name>``."""
        f, name = n.func, self.dsl_name(n.func)
        if name is None and isinstance(f, ast.Attribute):   # math.exp(x), np.float32(x)...
            name = f.attr
        close = difflib.get_close_matches(name, _CALL_NAMES, n=1) if name else []
        hint = f"; did you mean dsl.{close[0]}?" if close else ""
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "dsl":
            return self.err(n, f"unknown DSL function dsl.{name}{hint or ' (the names are in dsl.BUILTINS)'}")
        return self.err(n, f"unknown function {ast.unparse(f)!r}{hint}")


def handler_table(cls) -> dict:
    """Every name of the vocabulary (and its aliases) -> ``(Builtin, cls.<handler>)``."""
    table = {}
    for b in BUILTINS.values():
        handler = getattr(cls, b.handler, None)
        if not callable(handler):
            raise TypeError(f"dsl.{b.name}: {cls.__name__} has no handler {b.handler!r}")
        for name in (b.name, *b.aliases):
            table[name] = (b, handler)
    return table


Frontend.HANDLERS = handler_table(Frontend)
_CALL_NAMES = sorted(n for n, (b, _) in Frontend.HANDLERS.items() if b.form != METHOD)
_METHOD_NAMES = sorted(n for n, (b, _) in Frontend.HANDLERS.items() if b.form == METHOD)
