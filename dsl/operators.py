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

BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "maximum": "max", "minimum": "min"}
UNARY = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "rsqrt", "neg")
REDUCE_KINDS = ("sum", "max", "min")


class OperatorsMixin:
    """Methods of ``Frontend`` that parse operator calls (see module docstring)."""

    # -- operands ----------------------------------------------------------------------------------------
    def is_tensor_node(self, node) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        if isinstance(node, ast.Name):
            return isinstance(self.env.get(node.id), ir.Buffer)
        return False

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
                lo = self.expr(i.lower) if i.lower is not None else arith.ZERO
                if i.upper is None:
                    if not isinstance(dim, int):
                        raise self.err(i, "an open slice of a dynamic dim needs an explicit upper bound")
                    hi = arith.const(dim)
                else:
                    hi = self.expr(i.upper)
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

    def keywords(self, n, allowed: dict) -> dict:
        """Keyword arguments of an operator call, with defaults; unknown keywords are errors."""
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
    def op_copy(self, n) -> ir.OpCall:
        kw = self.keywords(n, {"dispatch": None})
        if len(n.args) != 2:
            raise self.err(n, "dsl.copy(dst, src) takes 2 tensor arguments")
        dst, src = self.view(n.args[0]), self.view(n.args[1])
        if dst.buffer.dtype != src.buffer.dtype:
            raise self.err(n, f"copy between different dtypes ({src.buffer.dtype} -> {dst.buffer.dtype}); "
                              f"use dsl.cast(dst, src)")
        self.check_same_shape(n, dst, src, "copy")
        return self.opcall("copy", (dst, src), n, kw["dispatch"])

    def op_copy_async(self, n) -> ir.OpCall:
        """``dsl.copy_async(dst, src, barrier=bars[i])``: a copy by the current scope (cta, warpgroup or
        warp) that completes on mbarrier ``i`` of ``bars = dsl.alloc_barriers(n)`` with one arrival;
        ``dsl.wait(bars[i], phase)`` waits for it. On the GPU a TMA load issued by one thread of the scope
        where the layouts allow it (the copy then overlaps whatever runs until the wait), else a synchronous
        copy by the scope's threads followed by one arrival on the barrier."""
        kw = self.keywords(n, {"dispatch": None, "barrier": None})
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
        idx = self.expr(node.slice)
        if ir.is_float(idx.dtype):
            raise self.err(node.slice, "a barrier index is an integer")
        if isinstance(idx, ir.Const) and not 0 <= idx.value < buf.size:
            raise self.err(node.slice, f"barrier index {idx.value} out of range for {buf.size} barriers")
        return buf, idx

    def check_same_shape(self, n, dst, src, what):
        if tuple(dst.shape) != tuple(src.shape):
            raise self.err(n, f"{what}: destination shape {dst.shape} differs from source shape {src.shape}")

    def op_fill(self, n) -> ir.OpCall:
        kw = self.keywords(n, {"dispatch": None})
        if len(n.args) != 2:
            raise self.err(n, "dsl.fill(dst, value) takes a tensor and a scalar")
        dst = self.view(n.args[0])
        value = self.expr(n.args[1])
        if isinstance(value, ir.Buffer):
            raise self.err(n.args[1], "dsl.fill's value must be a scalar")
        return self.opcall("fill", (dst,), n, kw["dispatch"], (("value", value),))

    def op_pointwise(self, n, name: str) -> ir.OpCall:
        """``dsl.add(dst, a, b)``, ``dsl.exp(dst, a)``, ``dsl.cast(dst, a)``,
        ``dsl.pointwise(dst, lambda x, y: ..., a, b)``; sources broadcast to ``dst`` (numpy rules); scalar
        arguments are inlined."""
        kw = self.keywords(n, {"dispatch": None})
        args = list(n.args)
        if not args:
            raise self.err(n, f"dsl.{name} needs a destination tensor")
        dst = self.view(args.pop(0))
        if name == "pointwise":
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
                e = self.expr(a)
                if isinstance(e, (ir.Buffer, ir.OpCall)):
                    raise self.err(a, "expected a tensor or a scalar")
                values.append(e)
        if name == "pointwise":
            if len(fn.args.args) != len(values):
                raise self.err(fn, f"the lambda takes {len(fn.args.args)} argument(s), {len(values)} given")
            saved = dict(self.env)
            try:
                for p, v in zip(fn.args.args, values):
                    self.env[p.arg] = v
                template = self.expr(fn.body)
            finally:
                self.env = saved
        elif name == "cast":
            if len(values) != 1:
                raise self.err(n, "dsl.cast(dst, src) takes one source")
            template = values[0]
        elif name in BINARY:
            if len(values) != 2:
                raise self.err(n, f"dsl.{name}(dst, a, b) takes two sources")
            template = ir.BinOp(BINARY[name], values[0], values[1])
        else:
            if len(values) != 1:
                raise self.err(n, f"dsl.{name}(dst, src) takes one source")
            template = ir.UnOp("neg", values[0]) if name == "neg" else \
                ir.Call(name, (values[0],), values[0].dtype if ir.is_float(values[0].dtype) or name == "abs"
                        else "f32")
        if template.dtype != dst.buffer.dtype:
            template = ir.Cast(dst.buffer.dtype, template)
        return self.opcall("pointwise", (dst, *srcs), n, kw["dispatch"], (("fn", template),))

    def check_broadcast(self, node, src_shape, dst_shape):
        if len(src_shape) > len(dst_shape) or any(
                s not in (1, d) for s, d in zip(reversed(src_shape), reversed(dst_shape))):
            raise self.err(node, f"source of shape {tuple(src_shape)} does not broadcast to {tuple(dst_shape)}")

    # -- reduce ------------------------------------------------------------------------------------------
    def op_reduce(self, n, name: str) -> ir.OpCall:
        """``dsl.reduce(dst, src, kind="sum", dims=(1,))``, ``dsl.sum/max/min(dst, src, dims=...)``.

        ``dst`` has ``src``'s shape with the reduced dims removed, or kept with extent 1."""
        kw = self.keywords(n, {"dispatch": None, "dims": None, "kind": None})
        if len(n.args) != 2:
            raise self.err(n, f"dsl.{name}(dst, src, dims=...) takes 2 tensors")
        kind = name
        if name == "reduce":
            k = kw["kind"]
            if not (isinstance(k, ast.Constant) and k.value in REDUCE_KINDS):
                raise self.err(k or n, f"dsl.reduce needs kind= one of {REDUCE_KINDS}")
            kind = k.value
        elif kw["kind"] is not None:
            raise self.err(kw["kind"], f"dsl.{name} takes no kind=")
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

    # -- gemm --------------------------------------------------------------------------------------------
    def op_gemm(self, n, asynchronous: bool = False) -> ir.OpCall:
        """``dsl.gemm(C, A, B, transpose_a=False, transpose_b=False, accumulate=True)``: C (+)= op(A)·op(B).
        ``dsl.gemm_async(...)`` (same arguments) may leave the product in flight: C must not be touched until
        ``dsl.gemm_wait(pending)`` has left at most ``pending`` of the scope's gemm_async calls unfinished
        (on sm_90a a wgmma group; schedules without asynchronous tensor cores complete it at once)."""
        kw = self.keywords(n, {"dispatch": None, "transpose_a": None, "transpose_b": None, "accumulate": None})
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
