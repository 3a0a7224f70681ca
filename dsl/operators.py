"""Frontend part for collective operators: operands (tensor views) and ``copy``, ``fill``, pointwise,
``reduce``/``sum``/``max``/``min`` and ``gemm`` calls, each becoming an ``ir.OpCall`` at the current scope.

>>> import dsl
>>> @dsl.kernel(threads=32)
... def k(a: dsl.Tensor[(32,), dsl.f32], b: dsl.Tensor[(32,), dsl.f32]):
...     dsl.pointwise(b, lambda x: x * 2.0 + 1.0, a)
>>> [s.op for s in k.stages((1,))[0].body]
['pointwise']
"""

from __future__ import annotations

import ast

from lowering import ir
from lowering.ir import arith

from .language import BUILTINS

BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "maximum": "max", "minimum": "min"}  # their IR ops
REDUCE_KINDS = ("sum", "max", "min")
INTEGER_MATH = ("abs",)   # math functions whose integer arguments stay integers (the others compute in f32)


class OperatorsMixin:
    """Methods of ``Frontend`` that parse operator calls (see module docstring)."""

    # -- operands ----------------------------------------------------------------------------------------
    def is_tensor_node(self, node) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        if isinstance(node, ast.Name):
            return isinstance(self.env.get(node.id), ir.Buffer)
        return False

    def tensor_first(self, n) -> bool:
        """Whether a call's first argument is a tensor or a region (``T``, ``T[0:4, :]``), not a scalar or an
        element ``T[i, j]``: it decides between the operator and the scalar form of ``dsl.add``, ``dsl.max``..."""
        if not n.args:
            return False
        first = n.args[0]
        if isinstance(first, ast.Subscript):
            idx = first.slice.elts if isinstance(first.slice, ast.Tuple) else [first.slice]
            if not any(isinstance(i, ast.Slice) for i in idx):
                return False
        return self.is_tensor_node(first)

    def _extent(self, lo: ir.Expr, hi: ir.Expr):
        """Static ``hi - lo`` (both static, or ``hi`` is ``lo + c``), else None."""
        d = arith.sub(hi, lo)
        if isinstance(d, ir.Const):
            return d.value
        if isinstance(hi, ir.BinOp) and hi.op == "+" and hi.a == lo and isinstance(hi.b, ir.Const):
            return hi.b.value
        return None

    def view(self, node) -> ir.TensorView:
        """A tensor operand: a whole tensor or a region ``A[i0:i1, j0:j1]`` (static extents, offsets may be
        dynamic); the region's layout is the tensor's layout seen from the region's origin."""
        if isinstance(node, ast.Subscript):
            buf = self.expr(node.value)
            if not isinstance(buf, ir.Buffer):
                raise self.err(node, "only tensors can be sliced")
            shape = self.logical_shape(buf, node)
            idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(idx) != len(shape):
                raise self.err(node, f"tensor {buf.name!r} has {len(shape)} dims, sliced with {len(idx)}")
            offs, ext = [], []
            for i, dim in zip(idx, shape):
                if not isinstance(i, ast.Slice) or i.step is not None:
                    raise self.err(i, "operator operands take slices 'lo:hi' in every dim")
                lo = self.value(i.lower) if i.lower is not None else arith.ZERO
                if i.upper is None:
                    if not isinstance(dim, int):
                        raise self.err(i, "an open slice of a dynamic dim needs an explicit upper bound")
                    hi = arith.const(dim)
                else:
                    hi = self.value(i.upper)
                if ir.is_float(lo.dtype) or ir.is_float(hi.dtype) or "bool" in (lo.dtype, hi.dtype):
                    raise self.err(i, f"slice bounds must be integers, got {lo.dtype} and {hi.dtype}")
                n = self._extent(lo, hi)
                if n is None:
                    raise self.err(i, "a region's extent must be static: write 'lo:lo + C' with a constant C")
                static_lo = lo.value if isinstance(lo, ir.Const) else None
                if n <= 0 or static_lo is not None and (static_lo < 0 or isinstance(dim, int) and
                                                        static_lo + n > dim):
                    raise self.err(i, f"slice {ast.unparse(i)} (extent {n}) out of bounds for dim of extent "
                                      f"{dim if isinstance(dim, int) else dim.name}")
                offs.append(static_lo if static_lo is not None else lo)
                ext.append(n)
            return ir.TensorView(buf, tuple(offs), tuple(ext), buf.layout)
        buf = self.expr(node)
        if not isinstance(buf, ir.Buffer):
            raise self.err(node, "operator operand must be a tensor or a tensor region")
        shape = self.logical_shape(buf, node)
        if not all(isinstance(d, int) for d in shape):
            raise self.err(node, "a dynamic-shape tensor must be sliced with static extents to be an operand")
        return ir.TensorView(buf, (0,) * len(shape), tuple(shape), buf.layout)

    def logical_shape(self, buf: ir.Buffer, node) -> tuple:
        """The shape operators see: ints, or IR expressions for dynamic dims (device layouts: the global shape)."""
        glob = self.global_shapes.get(buf.name)
        if glob is not None:
            return glob
        return tuple(d.value if isinstance(d, ir.Const) else d for d in buf.shape)

    def keywords(self, n, name: str) -> dict:
        """Keyword arguments of a call of the operator ``name``: its keyword-only parameters (from its
        signature in ``dsl/language.py``) -> the argument's AST, or None; unknown keywords are errors."""
        allowed = dict.fromkeys(BUILTINS[name].keywords)
        out = dict(allowed)
        for k in n.keywords:
            if k.arg not in allowed:
                raise self.err(k.value if k.arg else n, f"unknown keyword {k.arg!r} (allowed: {sorted(allowed)})")
            out[k.arg] = k.value
        disp = out.get("dispatch")
        if disp is not None:
            if not (isinstance(disp, ast.Constant) and isinstance(disp.value, str)):
                raise self.err(disp, "dispatch= takes a schedule name (a string)")
            out["dispatch"] = disp.value
        return out

    def opcall(self, name, operands, n, dispatch, attrs=()) -> ir.OpCall:
        return ir.OpCall(name, tuple(operands), self.scope, dispatch, tuple(attrs), loc=self.loc(n))

    # -- copy / fill / pointwise -------------------------------------------------------------------------
    def op_copy(self, n, name: str = "copy") -> ir.OpCall:
        kw = self.keywords(n, name)
        if len(n.args) != 2:
            raise self.err(n, "dsl.copy(dst, src) takes 2 tensor arguments")
        dst, src = self.view(n.args[0]), self.view(n.args[1])
        if dst.buffer.dtype != src.buffer.dtype:
            raise self.err(n, f"copy between different dtypes ({src.buffer.dtype} -> {dst.buffer.dtype}); "
                              f"use dsl.cast(dst, src)")
        self.check_same_shape(n, dst, src, "copy")
        return self.opcall("copy", (dst, src), n, kw["dispatch"])

    def op_copy_async(self, n, name: str) -> ir.OpCall:
        """``dsl.copy_async(dst, src, barrier=bars[i])``: a copy by the current scope (cta, warpgroup or
        warp) that completes on mbarrier ``i`` of ``bars = dsl.alloc_barriers(n)`` with one arrival;
        ``dsl.wait(bars[i], phase)`` waits for it. On the GPU a TMA load issued by one thread of the scope
        where the layouts allow it (the copy then overlaps whatever runs until the wait), else a synchronous
        copy by the scope's threads followed by one arrival on the barrier."""
        kw = self.keywords(n, name)
        if len(n.args) != 2 or kw["barrier"] is None:
            raise self.err(n, "dsl.copy_async(dst, src, barrier=bars[i]) takes 2 tensors and a barrier")
        if self.scope not in ("cta", "warpgroup", "warp"):
            raise self.err(n, f"dsl.copy_async runs at cta, warpgroup or warp scope, not {self.scope}")
        buf, idx = self.barrier_ref(kw["barrier"])
        op = self.op_copy(ast.Call(func=n.func, args=n.args, keywords=[k for k in n.keywords if k.arg == "dispatch"],
                                   lineno=n.lineno, col_offset=n.col_offset))
        return ir.OpCall("copy", op.operands, op.scope, op.dispatch,
                         (("async", True), ("barrier", buf), ("barrier_index", idx)), loc=op.loc)

    def barrier_ref(self, node):
        """``bars[i]`` for a barrier array from ``dsl.alloc_barriers``: ``(buffer, index)``."""
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
            raise self.err(node, "expected bars[i], an element of a dsl.alloc_barriers(...) array")
        buf = self.env.get(node.value.id)
        if not isinstance(buf, ir.Buffer) or buf.name not in self.barrier_bufs:
            raise self.err(node, f"{node.value.id!r} is not a barrier array (make one with dsl.alloc_barriers(n))")
        idx = self.value(node.slice)
        if ir.is_float(idx.dtype):
            raise self.err(node.slice, "a barrier index is an integer")
        if isinstance(idx, ir.Const) and not 0 <= idx.value < buf.size:
            raise self.err(node.slice, f"barrier index {idx.value} out of range for {buf.size} barriers")
        return buf, idx

    def check_same_shape(self, n, dst, src, what):
        if tuple(dst.shape) != tuple(src.shape):
            raise self.err(n, f"{what}: destination shape {dst.shape} differs from source shape {src.shape}")

    def op_fill(self, n, name: str) -> ir.OpCall:
        kw = self.keywords(n, name)
        if len(n.args) != 2:
            raise self.err(n, "dsl.fill(dst, value) takes a tensor and a scalar")
        dst = self.view(n.args[0])
        value = self.value(n.args[1])
        return self.opcall("fill", (dst,), n, kw["dispatch"], (("value", value),))

    def op_pointwise(self, n, name: str) -> ir.OpCall:
        """``dsl.pointwise(dst, lambda x, y: ..., a, b)``: the lambda, written in the kernel language, gives
        each element of ``dst`` from the sources' elements."""
        return self.elementwise(n, name, None, takes_lambda=True)

    def op_cast(self, n, name: str) -> ir.OpCall:
        """``dsl.cast(dst, src)``: ``src`` converted to ``dst``'s dtype (scalars are cast with ``dsl.f32(x)``...)."""
        if not self.tensor_first(n):
            raise self.err(n, "dsl.cast(dst, src) converts a tensor; convert a scalar with its dtype, dsl.f32(x)")
        return self.elementwise(n, name, lambda v: v[0], 1, "dsl.cast(dst, src) takes one source")

    def op_binary(self, n, name: str) -> ir.Expr:
        """``dsl.add(dst, a, b)`` (a pointwise operator when the first argument is a tensor) or the scalar
        ``dsl.add(a, b)``; likewise sub, mul, div, maximum, minimum."""
        op = BINARY[name]
        if self.tensor_first(n):
            return self.elementwise(n, name, lambda v: ir.BinOp(op, v[0], v[1]), 2,
                                    f"dsl.{name}(dst, a, b) takes two sources")
        args = [self.value(a) for a in n.args]
        if len(args) != 2:
            raise self.err(n, f"dsl.{name}(a, b) takes two scalars (on tensors: dsl.{name}(dst, a, b))")
        return self.binop(op, args[0], args[1], n)

    def math_call(self, name: str, x: ir.Expr, loc=None) -> ir.Call:
        """``name(x)`` for a math function: floats keep their dtype, integers compute in f32 (but abs)."""
        return ir.Call(name, (x,), x.dtype if ir.is_float(x.dtype) or name in INTEGER_MATH else "f32", loc=loc)

    def op_unary(self, n, name: str) -> ir.Expr:
        """``dsl.exp(dst, src)`` (a pointwise operator when the first argument is a tensor) or the scalar
        ``dsl.exp(x)``; likewise log, sqrt, rsqrt, abs, sin, cos, tanh."""
        if self.tensor_first(n):
            return self.elementwise(n, name, lambda v: self.math_call(name, v[0]), 1,
                                    f"dsl.{name}(dst, src) takes one source")
        args = [self.value(a) for a in n.args]
        if len(args) != 1:
            raise self.err(n, f"dsl.{name}(x) takes one scalar (on tensors: dsl.{name}(dst, src))")
        return self.math_call(name, args[0], self.loc(n))

    def op_neg(self, n, name: str) -> ir.Expr:
        """``dsl.neg(dst, src)`` (pointwise) or the scalar ``dsl.neg(x)``, which is ``-x``."""
        if self.tensor_first(n):
            return self.elementwise(n, name, lambda v: ir.UnOp("neg", v[0]), 1,
                                    f"dsl.{name}(dst, src) takes one source")
        args = [self.value(a) for a in n.args]
        if len(args) != 1:
            raise self.err(n, f"dsl.{name}(x) takes one scalar (on tensors: dsl.{name}(dst, src))")
        return ir.UnOp("neg", args[0])

    def elementwise(self, n, name: str, template, arity: int | None = None, usage: str = "",
                    takes_lambda: bool = False) -> ir.OpCall:
        """A pointwise operator ``dsl.<name>(dst, [lambda,] *sources)``: sources broadcast to ``dst`` (numpy
        rules), scalar arguments are inlined; ``template(values)`` builds each element from the sources'
        values (``arity`` of them, else the error ``usage``), or the lambda does."""
        kw = self.keywords(n, name)
        args = list(n.args)
        if not args:
            raise self.err(n, f"dsl.{name} needs a destination tensor")
        dst = self.view(args.pop(0))
        if takes_lambda:
            if not args or not isinstance(args[0], ast.Lambda):
                raise self.err(n, "dsl.pointwise(dst, lambda ...: ..., *sources) needs a lambda second")
            fn, args = args[0], args[1:]
        srcs, values = [], []
        for a in args:
            if self.is_tensor_node(a):
                v = self.view(a)
                self.check_broadcast(a, v.shape, dst.shape)
                values.append(ir.template_arg(len(srcs), v.buffer.dtype))
                srcs.append(v)
            else:
                values.append(self.value(a))
        if takes_lambda:
            a = fn.args
            if a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
                raise self.err(fn, "the lambda of dsl.pointwise takes plain parameters, one per source")
            if len(fn.args.args) != len(values):
                raise self.err(fn, f"the lambda takes {len(fn.args.args)} argument(s), {len(values)} given")
            saved = dict(self.env)
            try:
                for p, v in zip(fn.args.args, values):
                    self.env[p.arg] = v
                template = self.value(fn.body)
            finally:
                self.env = saved
        else:
            if len(values) != arity:
                raise self.err(n, usage)
            template = template(values)
        if template.dtype != dst.buffer.dtype:
            template = ir.Cast(dst.buffer.dtype, template)
        return self.opcall("pointwise", (dst, *srcs), n, kw["dispatch"], (("fn", template),))

    def check_broadcast(self, node, src_shape, dst_shape):
        if len(src_shape) > len(dst_shape) or any(
                s not in (1, d) for s, d in zip(reversed(src_shape), reversed(dst_shape))):
            raise self.err(node, f"source of shape {tuple(src_shape)} does not broadcast to {tuple(dst_shape)}")

    # -- reduce ------------------------------------------------------------------------------------------
    def op_reduce(self, n, name: str) -> ir.OpCall:
        """``dsl.reduce(dst, src, kind="sum", dims=(1,))``, ``dsl.sum/max/min(dst, src, dims=...)`` (whose
        kind is their name: they have no ``kind=``).

        ``dst`` has ``src``'s shape with the reduced dims removed, or kept with extent 1."""
        kw = self.keywords(n, name)
        if len(n.args) != 2:
            raise self.err(n, f"dsl.{name}(dst, src, dims=...) takes 2 tensors")
        kind = name
        if "kind" in kw:
            k = kw["kind"]
            if not (isinstance(k, ast.Constant) and k.value in REDUCE_KINDS):
                raise self.err(k or n, f"dsl.{name} needs kind= one of {REDUCE_KINDS}")
            kind = k.value
        dst, src = self.view(n.args[0]), self.view(n.args[1])
        if kw["dims"] is None:
            dims = tuple(range(len(src.shape)))
        else:
            d = self.static(kw["dims"])
            dims = tuple(sorted(set(d if isinstance(d, tuple) else (d,))))
        if not dims or any(not 0 <= d < len(src.shape) for d in dims):
            raise self.err(kw["dims"] or n, f"dims {dims} out of range for a {len(src.shape)}-d source")
        kept = tuple(s for i, s in enumerate(src.shape) if i not in dims)
        ones = tuple(1 if i in dims else s for i, s in enumerate(src.shape))
        if tuple(dst.shape) not in (kept, ones) and not (kept == () and tuple(dst.shape) == (1,)):
            raise self.err(n, f"dsl.{name} over dims {dims} of shape {tuple(src.shape)} gives shape {kept} "
                              f"(or {ones}); the destination has shape {tuple(dst.shape)}")
        if dst.buffer.dtype != src.buffer.dtype:
            raise self.err(n, f"dsl.{name}: destination dtype {dst.buffer.dtype} differs from source "
                              f"{src.buffer.dtype}")
        return self.opcall("reduce", (dst, src), n, kw["dispatch"], (("kind", kind), ("dims", dims)))

    def op_minmax(self, n, name: str) -> ir.Expr:
        """``dsl.max(dst, src, dims=...)`` (a reduction when the first argument is a tensor) or the scalar
        ``dsl.max(a, b)``; likewise min."""
        if self.tensor_first(n):
            return self.op_reduce(n, name)
        args = [self.value(a) for a in n.args]
        if len(args) != 2:
            raise self.err(n, f"dsl.{name}(a, b) takes two scalars (on tensors: dsl.{name}(dst, src, dims=...))")
        return self.binop(name, args[0], args[1], n)   # the IR's max / min

    # -- gemm --------------------------------------------------------------------------------------------
    def op_gemm(self, n, name: str) -> ir.OpCall:
        """``dsl.gemm(C, A, B, ...)``: see ``gemm_call``."""
        return self.gemm_call(n, name, asynchronous=False)

    def op_gemm_async(self, n, name: str) -> ir.OpCall:
        """``dsl.gemm_async(C, A, B, ...)``: see ``gemm_call``."""
        return self.gemm_call(n, name, asynchronous=True)

    def gemm_call(self, n, name: str, asynchronous: bool) -> ir.OpCall:
        """``dsl.gemm(C, A, B, transpose_a=False, transpose_b=False, accumulate=True)``: C (+)= op(A)·op(B).
        ``dsl.gemm_async(...)`` (same arguments) may leave the product in flight: C must not be touched until
        ``dsl.gemm_wait(pending)`` has left at most ``pending`` of the scope's gemm_async calls unfinished
        (on sm_90a a wgmma group; schedules without asynchronous tensor cores complete it at once)."""
        kw = self.keywords(n, name)
        if len(n.args) != 3:
            raise self.err(n, "dsl.gemm(C, A, B) takes 3 tensors")
        flags = {}
        for k in ("transpose_a", "transpose_b", "accumulate"):
            v = kw[k]
            if v is None:
                flags[k] = k == "accumulate"
            elif isinstance(v, ast.Constant) and isinstance(v.value, bool):
                flags[k] = v.value
            else:
                raise self.err(v, f"{k}= takes True or False")
        c, a, b = (self.view(x) for x in n.args)
        for v, node in ((c, n.args[0]), (a, n.args[1]), (b, n.args[2])):
            if len(v.shape) != 2:
                raise self.err(node, f"gemm operands are 2-d; {v.buffer.name!r} has shape {v.shape}")
        m, k = a.shape[::-1] if flags["transpose_a"] else a.shape
        k2, nn = b.shape[::-1] if flags["transpose_b"] else b.shape
        if k != k2 or tuple(c.shape) != (m, nn):
            raise self.err(n, f"gemm shapes do not agree: C {c.shape}, A {a.shape}"
                              f"{' (transposed)' if flags['transpose_a'] else ''}, B {b.shape}"
                              f"{' (transposed)' if flags['transpose_b'] else ''}")
        if a.buffer.dtype != b.buffer.dtype:
            raise self.err(n, f"gemm: A is {a.buffer.dtype} but B is {b.buffer.dtype}")
        if asynchronous:
            flags["async"] = True
        return self.opcall("gemm", (c, a, b), n, kw["dispatch"], tuple(sorted(flags.items())))
