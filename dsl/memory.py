"""Frontend part for tensors: parameters with layouts (memory or device), allocations of shared and register
tensors, views, and element access through layouts.

>>> storage_size(axe.Layout.parse("S[(4,8):(1,4)] + 3"), "m")
35
"""

from __future__ import annotations

import ast

import numpy as np

import axe
from axe.operator_layouts import dim_blocks
from lowering import ir
from lowering.ir import arith
from lowering.ir.address import axis_expr
from lowering.ir.errors import DslError

from .language import BUILTINS
from .signature import layout_text_error, parse_layout
from .types import I32_MAX, DType, TensorType

SHARED_BYTES = 227 * 1024      # the most shared memory a CTA may have on any supported GPU (sm_90: 227 KiB)
LOCAL_BYTES = 512 * 1024       # the most local memory a thread may have (CUDA's limit)


def _kinds_of(axis: str) -> str:
    return axe.Axis.get(axis).kind


def _kinds(layout) -> set:
    return {_kinds_of(a) for a in layout.axes}


def _axes(layout) -> tuple:
    return layout.layout.axes if isinstance(layout, axe.SwizzleLayout) else layout.axes


def _symbols(layout) -> set:
    """Names of the symbols a layout's extents, strides or offsets still hold (a layout of text such as
    ``S[4:n@m]``), empty for a static one."""
    inner = layout.layout if isinstance(layout, axe.SwizzleLayout) else layout
    out: set = set()
    for v in [it.extent for it in inner.shard + inner.replica] + [it.stride for it in inner.shard + inner.replica] \
            + list(inner.offset.values()):
        out |= {str(x) for x in getattr(v, "free_symbols", ())}
    return out


def _local_shape(layout, shape):
    """Per dim, the product of the extents of its non-device iters: the shard each device holds."""
    blocks = dim_blocks(layout, shape)
    if blocks is None:
        return None
    out = []
    for block in blocks:
        n = 1
        for it in block:
            if it.axis.kind != axe.DEVICE:
                n *= it.extent
        out.append(n)
    return tuple(out)


def storage_size(layout, axis: str) -> int:
    """Elements of storage a layout addresses on ``axis`` (largest base address + 1); an error if negative.
    A swizzled layout needs its addresses rounded up to whole swizzle blocks.

    >>> storage_size(axe.Layout.parse("S[(4,8):(1,4)] + 3"), "m")
    35
    """
    if isinstance(layout, axe.SwizzleLayout):
        n = storage_size(layout.layout, axis)
        sw = layout.swizzle
        block = 1 << (sw.bits + sw.base + max(0, sw.shift))
        return -(-n // block) * block
    lo = hi = layout.offset.get(axis, 0)
    for it in layout.shard + layout.replica:
        if it.axis.name == axis:
            step = it.stride * (it.extent - 1)
            lo, hi = (lo + step, hi) if step < 0 else (lo, hi + step)
    if lo < 0:
        raise DslError(f"layout {layout} reaches negative addresses on {axis!r}")
    return int(hi) + 1


class MemoryMixin:
    """Methods of ``Frontend`` for tensors (see module docstring)."""

    def tensor_param(self, a, t: TensorType) -> ir.Buffer:
        """A global tensor parameter. With a memory layout (axis ``m``) its storage is the layout's span;
        with device axes the kernel sees this rank's shard (row-major) and operators the global shape."""
        dims = tuple(self._dim(a, d) for d in t.shape)
        if t.layout is None:
            size = dims[0]
            for d in dims[1:]:
                size = arith.mul(size, d)
            return ir.Buffer(a.arg, t.dtype.name, size, "global", dims)
        shape = tuple(d.value if isinstance(d, ir.Const) else None for d in dims)
        if None in shape:
            raise self.err(a, f"tensor {a.arg!r} has a layout, so its shape must be static (ints or consts)")
        layout = self.checked_layout(a, t.layout, shape)
        kinds = _kinds(layout)
        if axe.DEVICE in kinds:
            if kinds - {axe.DEVICE, axe.MEMORY} or [x for x in layout.axes if _kinds_of(x) == axe.MEMORY
                                                     and x != "m"]:
                raise self.err(a, f"a distributed tensor's layout uses device axes and 'm' only: {layout}")
            local = _local_shape(layout, shape)
            if local is None:
                raise self.err(a, f"the shard of {a.arg!r} under {layout} is not a row-major block of {shape}")
            self.global_shapes[a.arg] = shape
            size = 1
            for d in local:
                size *= d
            return ir.Buffer(a.arg, t.dtype.name, size, "global", tuple(arith.const(d) for d in local), layout, shape)
        if set(layout.axes) != {"m"}:
            raise self.err(a, f"a global tensor's layout maps to memory (axis m); {layout} uses {layout.axes}")
        return ir.Buffer(a.arg, t.dtype.name, storage_size(layout, "m"), "global",
                         tuple(arith.const(d) for d in shape), layout)

    def checked_layout(self, node, val, shape) -> axe.Layout:
        try:
            if isinstance(val, tuple) and len(val) == 2 and all(isinstance(x, tuple) for x in val):
                # the paper's notation: (shape, strides), e.g. ((4, 64, 64), (1 @ axe.gpuid, 64, 1))
                if len(val[0]) != len(val[1]):
                    raise DslError(f"layout {val}: {len(val[0])} extents but {len(val[1])} strides")
                val = axe.Layout([axe.Iter(e, st) for e, st in zip(*val)])
            layout = parse_layout(val) if isinstance(val, str) else val
            if not isinstance(layout, (axe.Layout, axe.SwizzleLayout)):
                raise DslError(f"layout must be an axe.Layout (or SwizzleLayout) or its text, got {type(val).__name__}")
            free = _symbols(layout)
            if free:
                raise DslError(f"layout {layout} has symbolic parts ({', '.join(sorted(free))}); a tensor's layout "
                               f"is static (put values in with a const parameter or an f-string)")
            size = 1
            for d in shape:
                size *= d
            if layout.size != size:
                raise DslError(f"layout {layout} covers {layout.size} elements, the tensor has shape {shape}")
            (layout.layout if isinstance(layout, axe.SwizzleLayout) else layout).group(shape)
        except axe.LayoutSyntaxError as e:      # keep the layout text and the caret under its bad character
            raise self.err(node, layout_text_error(e)) from None
        except axe.AxeError as e:
            raise self.err(node, str(e).splitlines()[0]) from None
        return layout

    def _dim(self, node, d):
        if isinstance(d, int) and not isinstance(d, bool):
            if not 1 <= d <= I32_MAX:
                raise self.err(node, f"tensor dim {d} must be a positive int below 2**31")
            return ir.Const(d, "i32")
        if isinstance(d, str):
            v = self.env.get(d)
            if v is None:
                raise self.err(node, f"dim {d!r} must name an integer scalar parameter or const")
            if not isinstance(v, ir.Expr) or ir.is_float(v.dtype) or v.dtype == "bool":
                raise self.err(node, f"dim {d!r} of parameter {node.arg!r} names a {getattr(v, 'dtype', 'tensor')} "
                                     f"parameter; a dim is an integer (dsl.i32, dsl.i64, dsl.i8 or an int const)")
            if isinstance(v, ir.Const) and not 1 <= v.value <= I32_MAX:
                raise self.err(node, f"dim {d!r} of parameter {node.arg!r} is {v.value}; a dim is positive")
            return v
        raise self.err(node, f"tensor dim {d!r} must be an int or a parameter name")

    def alloc_shared(self, n, name: str) -> ir.Buffer:
        """``dsl.alloc_shared(shape, dtype, layout=None)``: see ``alloc``."""
        return self.alloc(n, "shared", name)

    def alloc_local(self, n, name: str) -> ir.Buffer:
        """``dsl.alloc_local(shape, dtype, layout=None)``: see ``alloc``."""
        return self.alloc(n, "local", name)

    def alloc_barriers(self, n, name: str) -> ir.Buffer:
        """``dsl.alloc_barriers(n, arrivals=1)``: an array of mbarriers in shared memory, initialised by one
        thread where it is assigned to a name (``Frontend.assign``)."""
        count = self.static(n.args[0]) if len(n.args) == 1 else None
        if not isinstance(count, int) or count < 1:
            raise self.err(n, "dsl.alloc_barriers(n, arrivals=1) takes a positive constant count")
        arrivals = 1
        for kw in n.keywords:
            if kw.arg not in BUILTINS[name].keywords:
                raise self.err(kw.value, f"unknown keyword {kw.arg!r} for dsl.alloc_barriers")
            arrivals = self.static(kw.value)
            if not isinstance(arrivals, int) or arrivals < 1:
                raise self.err(kw.value, "arrivals= is the number of copies completing each phase (>= 1)")
        self.n_shared += 1
        buf = ir.Buffer(f"bars{self.n_shared}", "i64", count, "shared", (arith.const(count),))
        self.auto_names.add(buf.name)
        self.barrier_bufs.add(buf.name)
        self.barrier_arrivals[buf.name] = arrivals
        return buf

    def alloc(self, n, scope: str, name: str) -> ir.Buffer:
        """``dsl.alloc_shared(shape, dtype, layout=None)`` / ``dsl.alloc_local(...)``. A shared layout maps to
        memory (``m``); a local layout to thread axes and ``reg`` (a distributed register tensor) or ``reg``
        alone (a per-thread array)."""
        if len(n.args) != 2:
            raise self.err(n, f"dsl.alloc_{scope}(shape, dtype, layout=None) takes 2 positional arguments")
        bad = [k.arg for k in n.keywords if k.arg not in BUILTINS[name].keywords]
        if bad:
            raise self.err(n, f"unknown keyword(s) {bad} for dsl.alloc_{scope}")
        shape = self.static_shape(n.args[0], "allocation")
        dt = self.dsl_name(n.args[1])
        if isinstance(n.args[1], ast.Name):    # a dtype held by a module-level or closure variable
            held = self.outer_object(n.args[1].id)
            dt = held.name if isinstance(held, DType) else dt
        if dt == "bool_":
            dt = "bool"
        if dt not in ir.DTYPES:
            raise self.err(n.args[1], f"unknown dtype {ast.unparse(n.args[1])!r} (use dsl.f16, dsl.f32, ...)")
        layout = self.layout_kw(n, shape)
        self.n_shared += 1
        name = f"{scope[0]}mem{self.n_shared}"
        self.auto_names.add(name)
        dims = tuple(ir.Const(d, "i32") for d in shape)
        size = 1
        for d in shape:
            size *= d
        if layout is None:
            return self.sized(n, ir.Buffer(name, dt, size, scope, dims))
        node = next(k.value for k in n.keywords if k.arg == "layout")
        self.check_scope_layout(node, scope, layout)
        axis = "m" if scope == "shared" else "reg"
        storage = storage_size(layout, axis) if axis in _axes(layout) else 1
        return self.sized(n, ir.Buffer(name, dt, storage, scope, dims, layout))

    def sized(self, n, buf: ir.Buffer) -> ir.Buffer:
        """``buf`` if its storage fits where it lives: shared memory of a CTA, local memory of a thread."""
        nbytes = buf.size * (2 if buf.dtype == "bf16" else np.dtype(ir.NUMPY_DTYPES[buf.dtype]).itemsize)
        limit = SHARED_BYTES if buf.scope == "shared" else LOCAL_BYTES
        if buf.size > I32_MAX or nbytes > limit:
            where = "shared memory of a CTA" if buf.scope == "shared" else "local memory of a thread"
            raise self.err(n, f"{buf.scope} tensor of {buf.size} {buf.dtype} elements ({nbytes} bytes) does not fit "
                              f"in the {where} ({limit} bytes)")
        return buf

    def check_scope_layout(self, node, scope: str, layout) -> None:
        """A shared tensor's layout maps to memory (``m``, possibly swizzled); a register tensor's to thread
        axes and ``reg``. The same for allocations and for views of them (``T.view(shape, layout=L)``)."""
        if isinstance(layout, axe.SwizzleLayout) and scope != "shared":
            raise self.err(node, "swizzled layouts are for shared memory")
        if scope in ("shared", "global"):
            what = "a shared" if scope == "shared" else "a global"
            if isinstance(layout, axe.SwizzleLayout):
                if scope != "shared" or set(layout.layout.axes) != {"m"} or layout.axis.name != "m":
                    raise self.err(node, f"a swizzled shared layout maps to memory (axis m); got {layout}")
                return
            if set(layout.axes) != {"m"}:
                raise self.err(node, f"{what} tensor's layout maps to memory (axis m); {layout} uses "
                                     f"{layout.axes}")
            return
        kinds = {a: _kinds_of(a) for a in layout.axes}
        odd = [a for a, k in kinds.items() if a != "reg" and k != axe.THREAD]
        if odd:
            raise self.err(node, f"a register tensor's layout maps to thread axes and 'reg'; {layout} uses {odd}")
        if "reg" not in layout.axes and any(it.axis.name == "reg" for it in layout.shard) is False and \
                layout.size > 1 and not any(k == axe.THREAD for k in kinds.values()):
            raise self.err(node, f"layout {layout} places nothing in registers")

    def static_shape(self, node, what: str) -> tuple:
        """A compile-time shape: an int or a tuple of ints, each positive (``what`` names its use)."""
        shape = self.static(node)
        shape = shape if isinstance(shape, tuple) else (shape,)
        if not shape or any(not isinstance(d, int) or d <= 0 for d in shape):
            raise self.err(node, f"{what} shape must be positive ints, got {shape}")
        size = 1
        for d in shape:
            size *= d
        if size > I32_MAX:
            raise self.err(node, f"{what} shape {shape} has {size} elements, more than 32-bit indices reach")
        return shape

    def unique_name(self, want: str) -> str:
        """``want``, or ``want_2``... if a parameter or another buffer already has that name."""
        taken = self.taken | {p for p in self.fn.__code__.co_varnames[:self.fn.__code__.co_argcount]}
        name, i = want, 2
        while name in taken:
            name, i = f"{want}_{i}", i + 1
        self.taken.add(name)
        return name

    def view_call(self, n, name: str) -> ir.Buffer:
        """``T.view(shape, layout=L)``: the same storage seen with another shape and layout."""
        bad = [k.arg for k in n.keywords if k.arg not in BUILTINS[name].keywords]
        if bad:
            raise self.err(n, f"unknown keyword(s) {bad} for T.view(shape, layout=L)")
        buf = self.expr(n.func.value)
        if buf.scope == "global" and buf.name in self.global_shapes:
            raise self.err(n, "a distributed tensor cannot be re-viewed")
        if len(n.args) != 1:
            raise self.err(n, "T.view(shape, layout=L) takes the new shape")
        shape = self.static_shape(n.args[0], "view")
        layout = self.layout_kw(n, shape)
        if layout is not None:
            self.check_scope_layout(next(k.value for k in n.keywords if k.arg == "layout"), buf.scope, layout)
        axis = "m" if buf.scope != "local" else "reg"
        need = (storage_size(layout, axis) if axis in _axes(layout) else 1) if layout is not None else 1
        if layout is None:
            for d in shape:
                need *= d
        have = buf.size if isinstance(buf.size, int) else None
        if have is not None and need > have:
            raise self.err(n, f"view needs {need} elements of storage; {buf.name!r} has {have}")
        return ir.Buffer(buf.name, buf.dtype, buf.size, buf.scope, tuple(ir.Const(d, "i32") for d in shape), layout)

    def layout_kw(self, n, shape):
        """The ``layout=`` keyword of a call, evaluated in the kernel's globals and consts, or None."""
        kw = {k.arg: k for k in n.keywords}
        if "layout" not in kw:
            return None
        node = kw["layout"].value
        try:   # names as in the kernel's module, closure (a kernel factory's arguments) and const parameters
            val = eval(compile(ast.Expression(node), self.file, "eval"), self.fn.__globals__,
                       {**self.outer_names(), **self.consts})
        except Exception as e:  # the user's expression: report it at its line
            raise self.err(node, f"cannot evaluate layout expression: {type(e).__name__}: {e}") from None
        return self.checked_layout(node, val, shape)

    def element(self, node):
        """``(buffer, flat storage index)`` of ``T[i, j]``: through the tensor's memory layout when it has one;
        a register tensor distributed by a layout is indexed by its slot ``r[k]``."""
        buf = self.expr(node.value)
        if not isinstance(buf, ir.Buffer):
            raise self.err(node, "subscript of something that is not a tensor")
        idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(isinstance(i, ast.Slice) for i in idx):
            raise self.err(node, "a region (slice) is an operator operand, not a value; index elements with ints")
        coords = []
        for i in idx:
            e = self.value(i)
            if ir.is_float(e.dtype) or e.dtype == "bool":
                raise self.err(i, f"tensor index must be an integer, got {getattr(e, 'dtype', type(e).__name__)}")
            coords.append(e)
        distributed = buf.layout is not None and buf.scope == "local"
        device = buf.layout is not None and buf.name in self.global_shapes
        if distributed:
            if len(coords) != 1:
                raise self.err(node, f"register tensor {buf.name!r} is distributed by its layout: index its "
                                     f"slots with one index (0..{buf.size - 1})")
            return buf, coords[0]
        if len(coords) != len(buf.shape):
            raise self.err(node, f"tensor {buf.name!r} has {len(buf.shape)} dims, indexed with {len(coords)}")
        for c, d, i in zip(coords, buf.shape, idx):
            if isinstance(c, ir.Const) and isinstance(d, ir.Const) and not 0 <= c.value < d.value:
                raise self.err(i, f"index {c.value} out of bounds for dim of extent {d.value} of {buf.name!r}")
        if buf.layout is not None and not device:
            axis = "m" if buf.scope != "local" else "reg"
            return buf, axis_expr(buf.layout, tuple(d.value for d in buf.shape), tuple(coords), axis)
        return buf, arith.linearize(tuple(coords), buf.shape)
