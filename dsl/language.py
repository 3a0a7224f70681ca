"""The DSL's vocabulary: every name a ``@dsl.kernel`` function can call, as a documented Python function.

A kernel is never run by Python: the frontend (``dsl/frontend.py``) reads its source with ``ast`` and
translates each call of ``dsl.copy``, ``dsl.thread_id``, ``with dsl.warp():``... into IR. The functions
here are what those names are *outside* a kernel: their signatures (the parameters the frontend accepts,
positional-only where it takes them by position only, keyword-only where by keyword only), their
docstrings (``help(dsl.copy)``) and a body that raises, because calling one from ordinary Python is a
mistake.

>>> import dsl
>>> dsl.copy(None, None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
dsl.DslError: dsl.copy only works inside a @dsl.kernel function: ...

Each function is registered by ``@builtin(handler, form=...)`` in ``BUILTINS`` (name -> ``Builtin``); the
frontend dispatches a call by looking its name up in a table built from this registry
(``Frontend.HANDLERS``), never by comparing strings. ``Builtin.handler`` names the ``Frontend`` method that
translates a call; ``Builtin.form`` says where the name may stand:

- ``CALL``: a value or a statement (``v = dsl.thread_id()``, ``dsl.copy(dst, src)``); the handler takes
  ``(node, name)`` and returns an IR expression, an ``ir.OpCall`` or a tensor (``ir.Buffer``).
- ``STATEMENT``: a statement only (``dsl.barrier()``); the handler returns a list of IR statements.
- ``SCOPE``: only as ``with dsl.warp():`` (optionally sliced, ``with dsl.warp()[0:4]:``); the handler returns
  the scope's level.
- ``SELECTOR``: only as a scope slice, ``dsl.thread()[dsl.elect_one()]``; the handler takes
  ``(node, name, scope)`` and returns the guard.
- ``METHOD``: a method of a tensor, ``T.view(...)``; the handler returns the new tensor.

Operators (``copy``, ``fill``, ``pointwise`` and the elementwise functions, ``reduce``/``sum``/``max``/``min``,
``gemm``) are collective: all threads of the scope they are written in (``with dsl.warp():``..., by default
the CTA) take part, and the layouts of their operands decide which thread moves or computes which
element (the schedule that implements the call is chosen from them; ``dispatch="name"`` picks one).

The dtypes ``dsl.f16 bf16 f32 f64 i8 i32 i64`` are both annotations and, inside a kernel, scalar casts
(``dsl.f32(i)``). ``dsl.f16`` stays the ``DType`` object (what annotations and ``dsl.alloc_shared`` take);
the casts are registered under the same names with ``exported=False`` and documented functions in
``CASTS``. Python's ``float(x)`` and ``int(x)`` are aliases of ``dsl.f32(x)`` and ``dsl.i32(x)``; the
builtins ``min``, ``max`` and ``abs`` are ``dsl.min``, ``dsl.max`` and ``dsl.abs`` (any name called bare
inside a kernel is looked up as ``dsl.<name>``). ``range`` is not a function of the vocabulary but the
syntax of a loop, ``for i in range(...)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from lowering.ir.errors import DslError

CALL, STATEMENT, SCOPE, SELECTOR, METHOD = "call", "statement", "scope", "selector", "method"
FORMS = (CALL, STATEMENT, SCOPE, SELECTOR, METHOD)


@dataclass(frozen=True)
class Builtin:
    """One name of the vocabulary: ``fn`` is its documented function, ``handler`` the ``Frontend`` method
    that translates a call of it, ``form`` where it may stand (see the module docstring), ``aliases``
    other names for it (``float`` for ``f32``), ``exported`` whether ``dsl.<name>`` is ``fn`` (not for the
    dtype casts: ``dsl.f16`` is the dtype), ``keywords`` its keyword-only parameters (what the frontend
    accepts as keywords of an operator call)."""

    name: str
    fn: Callable
    handler: str
    form: str = CALL
    aliases: tuple = ()
    exported: bool = True
    keywords: tuple = ()

    @property
    def spelling(self) -> str:
        """How the name is written in a kernel: ``dsl.copy``, or ``T.view`` for a tensor method."""
        return f"T.{self.name}" if self.form == METHOD else f"dsl.{self.name}"


BUILTINS: dict[str, Builtin] = {}


def builtin(handler: str, form: str = CALL, aliases: tuple = (), exported: bool = True):
    """Register the decorated function as a name of the vocabulary translated by ``Frontend.<handler>``.

    The function's signature and docstring document the name; what is returned in its place keeps both
    (``help`` shows them) and raises ``DslError`` when called, since only the frontend gives it meaning.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")

    def register(fn):
        name = fn.__name__
        taken = {n for b in BUILTINS.values() for n in (b.name, *b.aliases)}
        clash = [n for n in (name, *aliases) if n in taken]
        if clash:
            raise ValueError(f"DSL builtin name(s) {clash} registered twice")
        spelling = f"T.{name}" if form == METHOD else f"dsl.{name}"

        @functools.wraps(fn)
        def outside_a_kernel(*args, **kwargs):
            raise DslError(f"{spelling} only works inside a @dsl.kernel function: the frontend translates "
                           f"the kernel's source, calls of {spelling} included, into IR")

        keywords = tuple(p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY)
        BUILTINS[name] = Builtin(name, outside_a_kernel, handler, form, tuple(aliases), exported, keywords)
        return outside_a_kernel

    return register


# -- data movement -------------------------------------------------------------------------------------------
@builtin("op_copy")
def copy(dst, src, /, *, dispatch=None):
    """Copy the tensor (or region) ``src`` into ``dst``, collectively over the current scope.

    Both operands have the same shape and dtype (``dsl.cast`` converts). Each may be global, shared or a
    register tensor; their layouts decide who moves what: a register tensor drives (each thread copies the
    elements its layout gives it), between memory tensors the scope's threads stride over the destination.
    Regions ``T[i:i + 16, :]`` have static extents and may start at dynamic offsets. ``dispatch`` names a
    schedule to use instead of the first that accepts.

    Example::

        @dsl.kernel(threads=128)
        def k(x: dsl.Tensor[(64, 64), dsl.f32], y: dsl.Tensor[(64, 64), dsl.f32]):
            tile = dsl.alloc_shared((64, 64), dsl.f32)
            dsl.copy(tile, x)                        # the CTA's 128 threads stride over the tile
            dsl.barrier()
            dsl.copy(y[0:32, :], tile[32:64, :])     # regions: static extents
    """


@builtin("op_copy_async")
def copy_async(dst, src, /, *, barrier, dispatch=None):
    """Copy ``src`` into ``dst`` asynchronously: the copy completes with one arrival on ``barrier``.

    ``barrier`` is an element ``bars[i]`` of ``bars = dsl.alloc_barriers(n)``; ``dsl.wait(bars[i], phase)``
    waits until the copy has landed. Written at cta, warpgroup or warp scope. On sm_90 a copy into a TMA
    tile (the layouts decide) is one TMA load issued by one thread of the scope, overlapping whatever runs
    until the wait; elsewhere the scope's threads copy synchronously and then arrive on the barrier.

    Example::

        @dsl.kernel(threads=32)
        def k(a: dsl.Tensor[(4, 32), dsl.f32], out: dsl.Tensor[(4, 32), dsl.f32]):
            s = dsl.alloc_shared((1, 32), dsl.f32)
            bars = dsl.alloc_barriers(1)
            for i in range(4):
                dsl.copy_async(s, a[i:i + 1, 0:32], barrier=bars[0])
                dsl.wait(bars[0], i)                 # copy i completes phase i of bars[0]
                out[i, dsl.thread_id()] = s[0, dsl.thread_id()] * 2.0
                dsl.barrier()
    """


@builtin("op_fill")
def fill(dst, value, /, *, dispatch=None):
    """Set every element of the tensor (or region) ``dst`` to the scalar ``value``, collectively over the
    current scope (a register tensor: each thread its own elements, as its layout says).

    Example::

        @dsl.kernel(threads=32)
        def k(y: dsl.Tensor[(32, 4), dsl.f32]):
            acc = dsl.alloc_local((32, 4), dsl.f32, layout="S[(32,4):(1@lane,1@reg)]")
            dsl.fill(acc, 0.0)
            dsl.copy(y, acc)
    """


# -- synchronisation ----------------------------------------------------------------------------------------
@builtin("alloc_barriers")
def alloc_barriers(n, /, *, arrivals=1):
    """Allocate ``n`` mbarriers in shared memory (returns the array ``bars``; use its elements ``bars[i]``).

    One thread initialises them before anything else runs; ``arrivals`` is the number of arrivals that
    complete each phase (one per ``dsl.copy_async`` or per ``dsl.arrive`` of a scope instance).

    Example::

        @dsl.kernel(threads=32)
        def k(a: dsl.Tensor[(32,), dsl.f32], out: dsl.Tensor[(32,), dsl.f32]):
            s = dsl.alloc_shared((32,), dsl.f32)
            bars = dsl.alloc_barriers(2, arrivals=1)
            dsl.copy_async(s, a, barrier=bars[1])
            dsl.wait(bars[1], 0)
            out[dsl.thread_id()] = s[dsl.thread_id()]
    """


@builtin("sync_wait")
def wait(barrier, phase, /):
    """Wait until the phase of parity ``phase % 2`` of the mbarrier ``barrier`` (``bars[i]``) has completed,
    as ``mbarrier.try_wait.parity`` does: before any phase completed, a wait for parity 1 passes at once.

    Example::

        @dsl.kernel(threads=32)
        def k(a: dsl.Tensor[(2, 32), dsl.f32], out: dsl.Tensor[(2, 32), dsl.f32]):
            s = dsl.alloc_shared((1, 32), dsl.f32)
            bars = dsl.alloc_barriers(1)
            for i in range(2):
                dsl.copy_async(s, a[i:i + 1, :], barrier=bars[0])
                dsl.wait(bars[0], i)                 # the i-th completion of bars[0]
                out[i, dsl.thread_id()] = s[0, dsl.thread_id()]
                dsl.barrier()
    """


@builtin("sync_arrive", STATEMENT)
def arrive(barrier, /):
    """One arrival on the mbarrier ``barrier`` (``bars[i]``) per instance of the current scope, once all its
    threads got there: a consumer's "this stage is free" (cta, warpgroup, warp or thread scope).

    Example::

        @dsl.kernel(threads=64)
        def k(x: dsl.Tensor[(128,), dsl.f32], y: dsl.Tensor[(128,), dsl.f32]):
            buf = dsl.alloc_shared((32,), dsl.f32)
            full = dsl.alloc_barriers(1)
            empty = dsl.alloc_barriers(1)
            with dsl.warp()[0:1]:                    # producer
                for t in range(4):
                    dsl.wait(empty[0], t + 1)        # parity 1 passes at once the first time
                    dsl.copy_async(buf, x[t * 32:t * 32 + 32], barrier=full[0])
            with dsl.warp()[1:2]:                    # consumer
                for t in range(4):
                    dsl.wait(full[0], t)
                    y[t * 32 + dsl.lane_id()] = 2.0 * buf[dsl.lane_id()]
                    dsl.arrive(empty[0])             # one arrival for the warp: the stage is free
    """


@builtin("sync_barrier", STATEMENT)
def barrier():
    """Synchronise the threads of the current scope (cta, warpgroup, warp, or cluster with a cluster launch):
    ``__syncthreads()`` at cta scope, a named barrier per warpgroup, ``__syncwarp()`` per warp.

    Example::

        @dsl.kernel(threads=64)
        def k(out: dsl.Tensor[(64,), dsl.i32]):
            s = dsl.alloc_shared((64,), dsl.i32)
            s[dsl.thread_id()] = dsl.thread_id()
            dsl.barrier()                            # every write to s is visible after this
            out[dsl.thread_id()] = s[63 - dsl.thread_id()]
    """


@builtin("sync_barrier", STATEMENT)
def syncthreads():
    """The same as ``dsl.barrier()``: synchronise the threads of the current scope.

    Example::

        @dsl.kernel(threads=64)
        def k(out: dsl.Tensor[(64,), dsl.i32]):
            s = dsl.alloc_shared((64,), dsl.i32)
            s[dsl.thread_id()] = dsl.thread_id()
            dsl.syncthreads()
            out[dsl.thread_id()] = s[63 - dsl.thread_id()]
    """


@builtin("sync_setmaxnreg", STATEMENT)
def setmaxnreg(n, /):
    """Set the registers per thread of the current warpgroup to the constant ``n`` (a multiple of 8 in
    24..256; sm_90a ``setmaxnreg``, the kernel then launches with a register cap). Warpgroup scope only:
    a producer warpgroup gives registers up, consumers take them.

    Example::

        @dsl.kernel(threads=256)
        def k(a: dsl.Tensor[(256,), dsl.f32]):
            with dsl.warpgroup()[0:1]:
                dsl.setmaxnreg(40)
            with dsl.warpgroup()[1:2]:
                dsl.setmaxnreg(232)
                a[dsl.thread_id()] = 1.0
    """


# -- elementwise operators ----------------------------------------------------------------------------------
@builtin("op_pointwise")
def pointwise(dst, fn, /, *sources, dispatch=None):
    """``dst[i] = fn(sources...[i])`` for every element, collectively over the current scope.

    ``fn`` is a lambda written in the kernel language, taking one argument per source. Tensor sources
    broadcast to ``dst`` (numpy rules); scalar sources are passed as they are. The register tensors' layouts
    decide which thread computes which elements.

    Example::

        @dsl.kernel(threads=32)
        def k(a: dsl.Tensor[(32,), dsl.f32], b: dsl.Tensor[(32,), dsl.f32]):
            dsl.pointwise(b, lambda x, s: x * s + 1.0, a, 2.0)
    """


@builtin("op_cast")
def cast(dst, src, /, *, dispatch=None):
    """Convert the tensor ``src`` elementwise to ``dst``'s dtype (a pointwise operator; ``src`` broadcasts).
    Scalars are cast with the dtypes: ``dsl.f16(x)``.

    Example::

        @dsl.kernel(threads=32)
        def k(a: dsl.Tensor[(32,), dsl.f32], b: dsl.Tensor[(32,), dsl.f16]):
            dsl.cast(b, a)
    """


_BINARY_DOC = """{what}.

On tensors, ``dsl.{name}(dst, a, b)`` is the pointwise operator ``dst = {expr}`` over the current scope
(``a`` and ``b`` tensors that broadcast to ``dst``, or scalars); on two scalars, ``dsl.{name}(a, b)`` is
the value ``{expr}``.

Example::

    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32], b: dsl.Tensor[(32,), dsl.f32], c: dsl.Tensor[(32,), dsl.f32]):
        dsl.{name}(c, a, b)
        c[dsl.thread_id()] = dsl.{name}(c[dsl.thread_id()], 2.0)
"""


@builtin("op_binary")
def add(*operands, dispatch=None):
    pass


@builtin("op_binary")
def sub(*operands, dispatch=None):
    pass


@builtin("op_binary")
def mul(*operands, dispatch=None):
    pass


@builtin("op_binary")
def div(*operands, dispatch=None):
    pass


@builtin("op_binary")
def maximum(*operands, dispatch=None):
    pass


@builtin("op_binary")
def minimum(*operands, dispatch=None):
    pass


for _f, _what, _expr in ((add, "Sum", "a + b"), (sub, "Difference", "a - b"), (mul, "Product", "a * b"),
                         (div, "Quotient", "a / b"), (maximum, "Larger of two values", "max(a, b)"),
                         (minimum, "Smaller of two values", "min(a, b)")):
    _f.__doc__ = _BINARY_DOC.format(what=_what, name=_f.__name__, expr=_expr)


_UNARY_DOC = """{what}.

On tensors, ``dsl.{name}(dst, src)`` is the pointwise operator ``dst = {expr}`` over the current scope
(``src`` broadcasts to ``dst``); on a scalar, ``dsl.{name}(x)`` is the value ({note}).

Example::

    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32], b: dsl.Tensor[(32,), dsl.f32]):
        dsl.{name}(b, a)
        b[dsl.thread_id()] = dsl.{name}(b[dsl.thread_id()])
"""

_INTEGER_MATH = "an integer argument is computed in f32"


@builtin("op_unary")
def exp(*operands, dispatch=None):
    pass


@builtin("op_unary")
def log(*operands, dispatch=None):
    pass


@builtin("op_unary")
def sqrt(*operands, dispatch=None):
    pass


@builtin("op_unary")
def rsqrt(*operands, dispatch=None):
    pass


@builtin("op_unary")
def abs(*operands, dispatch=None):
    pass


@builtin("op_unary")
def sin(*operands, dispatch=None):
    pass


@builtin("op_unary")
def cos(*operands, dispatch=None):
    pass


@builtin("op_unary")
def tanh(*operands, dispatch=None):
    pass


@builtin("op_neg")
def neg(*operands, dispatch=None):
    pass


for _f, _what, _expr, _note in (
        (exp, "Exponential", "exp(src)", _INTEGER_MATH), (log, "Natural logarithm", "log(src)", _INTEGER_MATH),
        (sqrt, "Square root", "sqrt(src)", _INTEGER_MATH), (rsqrt, "Reciprocal square root", "1 / sqrt(src)",
                                                            _INTEGER_MATH),
        (abs, "Absolute value", "|src|", "in the argument's dtype; the builtin abs(x) is the same"),
        (sin, "Sine", "sin(src)", _INTEGER_MATH), (cos, "Cosine", "cos(src)", _INTEGER_MATH),
        (tanh, "Hyperbolic tangent", "tanh(src)", _INTEGER_MATH),
        (neg, "Negation", "-src", "the same as -x")):
    _f.__doc__ = _UNARY_DOC.format(what=_what, name=_f.__name__, expr=_expr, note=_note)


# -- reductions ---------------------------------------------------------------------------------------------
@builtin("op_reduce")
def reduce(dst, src, /, *, kind, dims=None, dispatch=None):
    """Reduce the tensor ``src`` over ``dims`` (all dims by default) with ``kind`` ("sum", "max" or "min")
    into ``dst``, collectively over the current scope.

    ``dst`` has ``src``'s shape with the reduced dims removed, or kept with extent 1. With register tensors
    the layouts decide the plan: each thread folds its own elements, then lanes exchange partial results
    with shuffles over the lane bits the reduced dims span, then warps through shared memory
    (``dsl.reduce_layout`` gives where the result lives).

    Example::

        TILE = axe.Layout.parse("S[(4,32):(1@warp,1@lane)]")

        @dsl.kernel(threads=128)
        def k(x: dsl.Tensor[(4, 32), dsl.f32], y: dsl.Tensor[(4, 1), dsl.f32]):
            t = dsl.alloc_local((4, 32), dsl.f32, layout=TILE)
            m = dsl.alloc_local((4, 1), dsl.f32, layout=dsl.reduce_layout(TILE, (4, 32), (1,), keepdims=True))
            dsl.copy(t, x)
            dsl.reduce(m, t, kind="max", dims=(1,))   # shuffles within each warp
            dsl.copy(y, m)
    """


@builtin("op_reduce")
def sum(dst, src, /, *, dims=None, dispatch=None):
    """``dsl.reduce(dst, src, kind="sum", dims=dims)``: the sum of ``src`` over ``dims`` (all by default).

    Example::

        TILE = axe.Layout.parse("S[(4,32):(1@warp,1@lane)]")     # row -> warp, column -> lane

        @dsl.kernel(threads=128)
        def k(x: dsl.Tensor[(4, 32), dsl.f32], y: dsl.Tensor[(4,), dsl.f32]):
            t = dsl.alloc_local((4, 32), dsl.f32, layout=TILE)
            s = dsl.alloc_local((4,), dsl.f32, layout=dsl.reduce_layout(TILE, (4, 32), (1,)))
            dsl.copy(t, x)
            dsl.sum(s, t, dims=(1,))                 # lane shuffles: a row lies in one warp
            dsl.copy(y, s)
    """


@builtin("op_minmax")
def max(*operands, dims=None, dispatch=None):
    """Maximum: on tensors ``dsl.max(dst, src, dims=...)`` is ``dsl.reduce(dst, src, kind="max", dims=...)``;
    on two scalars ``dsl.max(a, b)`` (or the builtin ``max(a, b)``) is the larger one.

    Example::

        TILE = axe.Layout.parse("S[(4,32):(1@warp,1@lane)]")

        @dsl.kernel(threads=128)
        def k(x: dsl.Tensor[(4, 32), dsl.f32], y: dsl.Tensor[(4, 1), dsl.f32]):
            t = dsl.alloc_local((4, 32), dsl.f32, layout=TILE)
            m = dsl.alloc_local((4, 1), dsl.f32, layout=dsl.reduce_layout(TILE, (4, 32), (1,), keepdims=True))
            dsl.copy(t, x)
            dsl.max(m, t, dims=(1,))                 # the reduction (m keeps the reduced dim as 1)
            m[0] = dsl.max(m[0], 0.0)                # the scalar form, on this thread's slot of m
            dsl.copy(y, m)
    """


@builtin("op_minmax")
def min(*operands, dims=None, dispatch=None):
    """Minimum: on tensors ``dsl.min(dst, src, dims=...)`` is ``dsl.reduce(dst, src, kind="min", dims=...)``;
    on two scalars ``dsl.min(a, b)`` (or the builtin ``min(a, b)``) is the smaller one.

    Example::

        TILE = axe.Layout.parse("S[(4,32):(1@warp,1@lane)]")

        @dsl.kernel(threads=128)
        def k(x: dsl.Tensor[(4, 32), dsl.f32], y: dsl.Tensor[(4, 1), dsl.f32]):
            t = dsl.alloc_local((4, 32), dsl.f32, layout=TILE)
            m = dsl.alloc_local((4, 1), dsl.f32, layout=dsl.reduce_layout(TILE, (4, 32), (1,), keepdims=True))
            dsl.copy(t, x)
            dsl.min(m, t, dims=(1,))                 # the reduction (m keeps the reduced dim as 1)
            m[0] = dsl.min(m[0], 0.0)                # the scalar form, on this thread's slot of m
            dsl.copy(y, m)
    """


# -- matrix products ----------------------------------------------------------------------------------------
@builtin("op_gemm")
def gemm(c, a, b, /, *, transpose_a=False, transpose_b=False, accumulate=True, dispatch=None):
    """``C (+)= op(A) @ op(B)`` on 2-d tensors, collectively over the current scope (``op`` transposes when
    ``transpose_a``/``transpose_b``; ``accumulate=False`` overwrites C).

    The layouts pick the implementation: register tensors tiling the ``mma.m16n8k16`` fragments at warp
    scope; A and B in memory (any memory layout) with C a fragment tiling over warps at cta, warpgroup or
    warp scope (each warp loads its fragments; on sm_90a swizzled TMA tiles and wgmma); loops at thread scope.

    Example::

        C_FRAGS = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
                           axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))

        @dsl.kernel(threads=128)
        def k(a: dsl.Tensor[(64, 32), dsl.f16], b: dsl.Tensor[(32, 32), dsl.f16],
              c: dsl.Tensor[(64, 32), dsl.f32]):
            As = dsl.alloc_shared((64, 32), dsl.f16)
            Bs = dsl.alloc_shared((32, 32), dsl.f16)
            acc = dsl.alloc_local((64, 32), dsl.f32, layout=C_FRAGS)    # mma fragments over 4 warps
            dsl.copy(As, a)
            dsl.copy(Bs, b)
            dsl.barrier()
            dsl.gemm(acc, As, Bs, accumulate=False)
            dsl.copy(c, acc)
    """


@builtin("op_gemm_async")
def gemm_async(c, a, b, /, *, transpose_a=False, transpose_b=False, accumulate=True, dispatch=None):
    """``dsl.gemm`` that may leave the product in flight (a wgmma group on sm_90a): ``c`` must not be touched
    until ``dsl.gemm_wait(pending)`` has left at most ``pending`` of the scope's ``gemm_async`` calls
    unfinished. Schedules without asynchronous tensor cores complete it at once.

    Example::

        C_FRAGS = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
                           axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))

        @dsl.kernel(threads=128)
        def k(a: dsl.Tensor[(64, 32), dsl.f16], b: dsl.Tensor[(32, 32), dsl.f16],
              c: dsl.Tensor[(64, 32), dsl.f32]):
            As = dsl.alloc_shared((64, 32), dsl.f16)
            Bs = dsl.alloc_shared((32, 32), dsl.f16)
            acc = dsl.alloc_local((64, 32), dsl.f32, layout=C_FRAGS)
            dsl.copy(As, a)
            dsl.copy(Bs, b)
            dsl.barrier()
            dsl.gemm_async(acc, As, Bs, accumulate=False)
            dsl.gemm_wait(0)                         # acc may be read from here on
            dsl.copy(c, acc)
    """


@builtin("sync_gemm_wait", STATEMENT)
def gemm_wait(pending, /):
    """Wait until at most ``pending`` (a constant 0..7) of the current scope's ``dsl.gemm_async`` calls are
    unfinished (``wgmma.wait_group`` on sm_90a).

    Example::

        C_FRAGS = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
                           axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))

        @dsl.kernel(threads=128)
        def k(a: dsl.Tensor[(64, 64), dsl.f16], b: dsl.Tensor[(64, 32), dsl.f16],
              c: dsl.Tensor[(64, 32), dsl.f32]):
            As = dsl.alloc_shared((64, 64), dsl.f16)
            Bs = dsl.alloc_shared((64, 32), dsl.f16)
            acc = dsl.alloc_local((64, 32), dsl.f32, layout=C_FRAGS)
            dsl.copy(As, a)
            dsl.copy(Bs, b)
            dsl.barrier()
            dsl.gemm_async(acc, As[:, 0:32], Bs[0:32, :], accumulate=False)
            dsl.gemm_async(acc, As[:, 32:64], Bs[32:64, :])
            dsl.gemm_wait(0)                         # both products are in acc now
            dsl.copy(c, acc)
    """


@builtin("intrinsic_mma")
def mma_m16n8k16(d, d_off, a, a_off, b, b_off, /):
    """Warp-wide ``D[d_off:+4] += A[a_off:+8] @ B[b_off:+4]``: one PTX ``mma.sync.m16n8k16`` on this lane's
    fragment registers (f16 A and B, f32 D, each a per-thread ``dsl.alloc_local`` array), laid out as the
    PTX fragment layouts (``axe.presets.nvidia.mma_m16n8k16("A")``...) say. All 32 lanes of a warp call it.

    Example::

        @dsl.kernel(threads=32)
        def k(out: dsl.Tensor[(32, 4), dsl.f32]):
            a = dsl.alloc_local((8,), dsl.f16)
            b = dsl.alloc_local((4,), dsl.f16)
            d = dsl.alloc_local((4,), dsl.f32)
            for i in range(8):
                a[i] = 1.0
            for i in range(4):
                b[i] = 1.0
                d[i] = 0.0
            dsl.mma_m16n8k16(d, 0, a, 0, b, 0)       # every element of D is 16.0
            for i in range(4):
                out[dsl.lane_id(), i] = d[i]
    """


@builtin("intrinsic_shfl_xor")
def shfl_xor(value, mask, /):
    """The ``value`` of lane ``lane_id() ^ mask`` of the same warp (``__shfl_xor_sync`` over the full warp;
    every lane of the warp must call it).

    Example::

        @dsl.kernel(threads=32)
        def k(x: dsl.Tensor[(32,), dsl.i32], out: dsl.Tensor[(1,), dsl.i32]):
            v = x[dsl.lane_id()]
            for s in range(5):
                v += dsl.shfl_xor(v, 1 << s)         # butterfly: every lane ends with the warp's sum
            if dsl.lane_id() == 0:
                out[0] = v
    """


# -- thread and block indices -------------------------------------------------------------------------------
_INDEX_DOC = """The {what} (an ``i32``; axis ``{axis}`` of thread layouts).

Example::

    @dsl.kernel(threads=256)
    def k(out: dsl.Tensor[(256,), dsl.i32]):
        out[dsl.thread_id()] = dsl.{name}()
"""


@builtin("thread_index")
def thread_id():
    pass


@builtin("thread_index")
def lane_id():
    pass


@builtin("thread_index")
def warp_id():
    pass


@builtin("thread_index")
def warpgroup_id():
    pass


for _f, _what, _axis in ((thread_id, "index of this thread in its CTA, 0..threads-1", "tx"),
                         (lane_id, "index of this thread in its warp, 0..31", "lane"),
                         (warp_id, "index of this thread's warp in its CTA", "warp"),
                         (warpgroup_id, "index of this thread's warpgroup (4 warps) in its CTA", "warpgroup")):
    _f.__doc__ = _INDEX_DOC.format(what=_what, axis=_axis, name=_f.__name__)


@builtin("cta_index")
def cta_id(dim=0):
    """The index of this CTA in the grid along ``dim`` (a constant 0, 1 or 2).

    Example::

        @dsl.kernel(grid=(4, 2), threads=32)
        def k(a: dsl.Tensor[(2, 128), dsl.i32]):
            a[dsl.cta_id(1), dsl.cta_id(0) * 32 + dsl.thread_id()] = dsl.cta_id()
    """


@builtin("cluster_index")
def cluster_id(dim=0):
    """The index of this CTA's cluster along ``dim`` (a constant 0, 1 or 2), with
    ``@dsl.kernel(cluster=...)``: ``dsl.cta_id(dim) // cluster[dim]``.

    Example::

        @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
        def k(cid: dsl.Tensor[(8,), dsl.i32]):
            if dsl.thread_id() == 0:
                cid[dsl.cta_id()] = dsl.cluster_id()
    """


@builtin("cluster_cta_index")
def cluster_cta_id(dim=0):
    """The index of this CTA within its cluster along ``dim`` (a constant 0, 1 or 2):
    ``dsl.cta_id(dim) % cluster[dim]``.

    Example::

        @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
        def k(rank: dsl.Tensor[(8,), dsl.i32]):
            with dsl.cluster():
                dsl.barrier()
            if dsl.thread_id() == 0:
                rank[dsl.cta_id()] = dsl.cluster_cta_id()
    """


# -- memory -------------------------------------------------------------------------------------------------
@builtin("alloc_shared")
def alloc_shared(shape, dtype, /, *, layout=None):
    """A tensor in shared memory, one per CTA: ``shape`` constant ints, ``dtype`` a ``dsl`` dtype, ``layout``
    a memory layout over axis ``m`` (possibly swizzled; default row-major). Assigned to a name, the
    tensor takes that name.

    Example::

        @dsl.kernel(threads=32)
        def k(out: dsl.Tensor[(32, 32), dsl.f32]):
            t = dsl.alloc_shared((32, 32), dsl.f32, layout="S[(32,32):(1,33)]")   # padded column-major
            dsl.fill(t, 1.0)
            dsl.barrier()
            dsl.copy(out, t)
    """


@builtin("alloc_local")
def alloc_local(shape, dtype, /, *, layout=None):
    """A register tensor: without a layout (or with one over ``reg`` only) a per-thread array indexed
    ``r[i]``; with thread axes (``lane``, ``warp``, ``tx``...) and ``reg`` one tensor distributed over the
    threads of the scope, each holding the elements its layout gives it (indexed by slot ``r[k]``).

    Example::

        @dsl.kernel(threads=128)
        def k(x: dsl.Tensor[(4, 32), dsl.f32]):
            r = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@warp,1@lane)]")   # one per thread
            dsl.copy(r, x)
            r[0] = r[0] * 2.0
            dsl.copy(x, r)
    """


@builtin("view_call", METHOD)
def view(tensor, shape, /, *, layout=None):
    """``T.view(shape, layout=L)``, a method of a tensor inside a kernel: the same storage seen with another
    shape and layout (default row-major); the view needs no more storage than ``T`` has.

    Example::

        @dsl.kernel(threads=32)
        def k(x: dsl.Tensor[(32,), dsl.f32], y: dsl.Tensor[(4, 8), dsl.f32], yt: dsl.Tensor[(8, 4), dsl.f32]):
            s = dsl.alloc_shared((32,), dsl.f32)
            dsl.copy(s, x)
            dsl.barrier()
            dsl.copy(y, s.view((4, 8)))                              # row-major
            dsl.copy(yt, s.view((8, 4), layout="S[(8,4):(1,8)]"))    # the same storage, transposed
    """


# -- execution scopes -------------------------------------------------------------------------------------
_SCOPE_DOC = """``with dsl.{name}():`` -- {what}.

The operators inside are collective over {members}; the default scope of a kernel is the CTA. {slicing}

Example::

{example}
"""

_SLICEABLE = "Sliced, ``with dsl.{name}()[lo:hi]:`` runs the body only on the {unit}s ``lo..hi-1``."


@builtin("scope_level", SCOPE)
def kernel_scope():
    pass


@builtin("scope_level", SCOPE)
def cluster():
    pass


@builtin("scope_level", SCOPE)
def cta():
    pass


@builtin("scope_level", SCOPE)
def warpgroup():
    pass


@builtin("scope_level", SCOPE)
def warp():
    pass


@builtin("scope_level", SCOPE)
def thread():
    pass


_SCOPE_EXAMPLES = {
    "kernel_scope": '''
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(4, 64, 64), dsl.f32, ((4, 64, 64), (1 @ axe.gpuid, 64, 1))],
          y: dsl.Tensor[(64, 64), dsl.f32, ((4, 16, 64), (1 @ axe.gpuid, 64, 1))]):
        with dsl.kernel_scope():                     # a reduce-scatter over 4 GPUs
            dsl.sum(y, x, dims=(0,))''',
    "cluster": '''
    @dsl.kernel(grid=(4,), threads=32, cluster=(2,))
    def k(a: dsl.Tensor[(4,), dsl.i32]):
        with dsl.cluster():
            dsl.barrier()                            # all threads of both CTAs of the cluster
        a[dsl.cta_id()] = dsl.cluster_cta_id()''',
    "cta": '''
    @dsl.kernel(threads=64)
    def k(x: dsl.Tensor[(64,), dsl.f32]):
        with dsl.warp():
            with dsl.cta():                          # back to the whole CTA
                dsl.fill(x, 0.0)''',
    "warpgroup": '''
    @dsl.kernel(threads=256)
    def k(out: dsl.Tensor[(256,), dsl.i32]):
        with dsl.warpgroup()[1:2]:                   # threads 128..255 only
            out[dsl.thread_id()] = dsl.warpgroup_id()''',
    "warp": '''
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(4, 32), dsl.f32]):
        with dsl.warp():
            dsl.fill(x[dsl.warp_id():dsl.warp_id() + 1, :], 1.0)   # each warp its own row
        with dsl.warp()[0:1]:
            x[0, dsl.lane_id()] = 2.0''',
    "thread": '''
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(32, 4), dsl.f32], first: dsl.Tensor[(1,), dsl.i32]):
        with dsl.thread():
            r = dsl.alloc_local((4,), dsl.f32)
            dsl.fill(r, 1.0)                         # this thread's own array
            dsl.copy(x[dsl.thread_id():dsl.thread_id() + 1, :], r.view((1, 4)))
        with dsl.thread()[dsl.elect_one()]:
            first[0] = dsl.thread_id()''',
}

for _f, _what, _members, _unit in (
        (kernel_scope, "the whole launch (every CTA, on every device)",
         "the whole kernel: with tensors distributed over devices they become collectives between devices "
         "(the kernel is split around them, they run as host calls)", None),
        (cluster, "the CTAs of a cluster (``@dsl.kernel(cluster=...)``)", "the cluster's CTAs", None),
        (cta, "one CTA (thread block)", "the threads of a CTA", "CTA"),
        (warpgroup, "a warpgroup (4 consecutive warps, 128 threads)",
         "each warpgroup on its own (register tensors of its operators are each warpgroup's own)",
         "warpgroup"),
        (warp, "a warp (32 lanes)", "each warp on its own (a layout's ``lane`` axis counts its lanes)", "warp"),
        (thread, "one thread", "each thread on its own (loops over per-thread arrays and memory)", "thread")):
    _f.__doc__ = _SCOPE_DOC.format(
        name=_f.__name__, what=_what, members=_members, example=_SCOPE_EXAMPLES[_f.__name__].lstrip("\n"),
        slicing=_SLICEABLE.format(name=_f.__name__, unit=_unit) if _unit else "It cannot be sliced.")
thread.__doc__ += ("\n``with dsl.thread()[dsl.elect_one()]:`` runs the body on one thread of the enclosing "
                   "scope.\n")


@builtin("elect_one_guard", SELECTOR)
def elect_one():
    """Selects one thread of the enclosing scope, as the slice of a thread scope:
    ``with dsl.thread()[dsl.elect_one()]:`` runs the body on that thread only (lane 0 of a warp, thread 0 of
    a warpgroup or CTA, thread 0 of CTA 0 at kernel scope).

    Example::

        @dsl.kernel(threads=128)
        def k(first: dsl.Tensor[(4,), dsl.i32]):
            with dsl.warp():
                with dsl.thread()[dsl.elect_one()]:
                    first[dsl.warp_id()] = dsl.lane_id() + 10
    """


# -- scalar casts (registered under the dtype names; dsl.f16 itself is the dtype) ---------------------------
_CAST_DOC = """``dsl.{name}(x)`` inside a kernel: the scalar ``x`` converted to {name}{alias}.

``dsl.{name}`` itself is the dtype (``dsl.types.DType``), used in annotations and allocations; only a call
of it inside a kernel is this cast. Tensors are converted with ``dsl.cast(dst, src)``.

Example::

    @dsl.kernel(threads=32)
    def k(out: dsl.Tensor[(32,), dsl.{name}]):
        out[dsl.thread_id()] = dsl.{name}(dsl.thread_id() * 3)
"""


def _cast(dtype: str, aliases: tuple = ()):
    def cast(x, /):
        pass

    cast.__name__ = cast.__qualname__ = dtype
    cast.__doc__ = _CAST_DOC.format(name=dtype, alias="".join(f" (the builtin ``{a}(x)`` is the same)"
                                                              for a in aliases))
    return builtin("scalar_cast", aliases=aliases, exported=False)(cast)


CASTS = {d: _cast(d, {"f32": ("float",), "i32": ("int",)}.get(d, ()))
         for d in ("f16", "bf16", "f32", "f64", "i8", "i32", "i64")}

EXPORTED = tuple(b.name for b in BUILTINS.values() if b.exported)

__all__ = ["BUILTINS", "Builtin", "CASTS", "EXPORTED", "builtin", *EXPORTED]

del _f, _what, _expr, _note, _axis, _members, _unit
