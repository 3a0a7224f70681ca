"""The thread-level IR: a small closed set of immutable node types that backends consume.

>>> from lowering import ir
>>> x = ir.Var("x", "i32")
>>> ir.BinOp("+", x, ir.Const(1, "i32")).dtype
'i32'
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field

import axe

DTYPES = ("f16", "bf16", "f32", "f64", "i8", "i32", "i64", "bool")
THREAD_KINDS = ("tx", "lane", "warp", "warpgroup", "cta.x", "cta.y", "cta.z")
axe.register_axis("tx", kind=axe.THREAD)  # the thread index within the CTA, an axis layouts may name
NUMPY_DTYPES = {"f16": "float16", "f32": "float32", "f64": "float64", "i8": "int8", "i32": "int32",
                "i64": "int64", "bool": "bool"}   # numpy's name of each dtype numpy has (bf16 has none)


@dataclass(frozen=True)
class Loc:
    """A source position: file, line, column (1-based line, 0-based column)."""

    file: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def _loc():
    return field(default=None, compare=False, repr=False)


class Expr:
    """Base of all expressions; each has a ``dtype``."""


class Stmt:
    """Base of all statements."""


@dataclass(frozen=True)
class Buffer:
    """A memory region: ``scope`` is global (a kernel parameter), shared (per CTA) or local (per thread)."""

    name: str
    dtype: str
    size: object  # int, or a Var for dynamic global sizes
    scope: str = "global"
    shape: tuple = ()
    layout: object = None  # an axe.Layout (memory, thread or device axes) or None for row-major
    global_shape: tuple = ()  # a tensor sharded over devices: the whole tensor's shape (``shape`` is the shard)


@dataclass(frozen=True)
class Const(Expr):
    value: object
    dtype: str


@dataclass(frozen=True)
class Var(Expr):
    name: str
    dtype: str


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    a: Expr
    b: Expr
    loc: Loc | None = _loc()

    @functools.cached_property      # deep index expressions ask for it at every level (not a field: not compared)
    def dtype(self) -> str:
        return promote(self.a.dtype, self.b.dtype) if self.op != "/" else _div_type(self.a.dtype, self.b.dtype)


@dataclass(frozen=True)
class UnOp(Expr):
    op: str
    a: Expr

    @property
    def dtype(self) -> str:
        return "bool" if self.op == "not" else self.a.dtype


@dataclass(frozen=True)
class Cmp(Expr):
    op: str
    a: Expr
    b: Expr
    dtype: str = "bool"


@dataclass(frozen=True)
class Logic(Expr):
    op: str
    a: Expr
    b: Expr
    dtype: str = "bool"


@dataclass(frozen=True)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr

    @property
    def dtype(self) -> str:
        return promote(self.a.dtype, self.b.dtype)


@dataclass(frozen=True)
class Cast(Expr):
    dtype: str
    a: Expr


@dataclass(frozen=True)
class ThreadIdx(Expr):
    kind: str
    dtype: str = "i32"


@dataclass(frozen=True)
class Load(Expr):
    buffer: Buffer
    index: Expr
    loc: Loc | None = _loc()

    @property
    def dtype(self) -> str:
        return self.buffer.dtype


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple
    dtype: str
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Assign(Stmt):
    var: Var
    value: Expr
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Store(Stmt):
    buffer: Buffer
    index: Expr
    value: Expr
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class For(Stmt):
    var: Var
    start: Expr
    stop: Expr
    step: Expr
    body: tuple
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class While(Stmt):
    cond: Expr
    body: tuple
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: tuple
    orelse: tuple = ()
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Break(Stmt):
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Continue(Stmt):
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Barrier(Stmt):
    scope: str = "cta"
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Evaluate(Stmt):
    call: Call
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class Alloc(Stmt):
    buffer: Buffer
    loc: Loc | None = _loc()


@dataclass(frozen=True)
class TensorView:
    """An operand of an operator: ``buffer`` seen as a ``shape`` region starting at ``offsets``.

    ``layout`` maps the view's logical index to storage (global/shared: the row-major region of the
    buffer when None) or, for a distributed local tensor, to thread axes and ``reg`` (the storage slot).
    """

    buffer: Buffer
    offsets: tuple
    shape: tuple
    layout: object = None


@dataclass(frozen=True)
class OpCall(Stmt):
    """A collective operator (copy, fill, ...) over ``scope``; lowered to thread-level IR by a schedule."""

    op: str
    operands: tuple
    scope: str = "cta"
    dispatch: str | None = None
    attrs: tuple = ()  # (name, value) pairs, e.g. (("dims", (1,)), ("kind", "sum"))
    loc: Loc | None = _loc()

    def attr(self, name: str, default=None):
        """The value of attribute ``name`` (``default`` when absent)."""
        return dict(self.attrs).get(name, default)


@dataclass(frozen=True)
class Kernel:
    """A thread-level kernel: what a backend runs. ``grid`` is 1-3 ints, ``threads`` the CTA size,
    ``cluster`` the CTAs per cluster along each grid dim (all 1: no clusters)."""

    name: str
    params: tuple  # Buffer (global) or Var (scalar), in call order
    grid: tuple
    threads: int
    body: tuple
    file: str = ""
    cluster: tuple = (1,)


@dataclass(frozen=True)
class Launch:
    kernel: Kernel


@dataclass(frozen=True)
class HostCall:
    """A host-side operation (e.g. a collective) between kernel segments."""

    name: str
    args: tuple


@dataclass(frozen=True)
class Program:
    """Kernel segments (``Launch``) and host operations (``HostCall``) in order, over ``params``."""

    steps: tuple
    params: tuple = ()


INTRINSICS = {
    # name: (number of args, what it is). Every ``ir.Call`` in thread-level IR is one of these.
    "exp": (1, "e**x (float)"), "log": (1, "natural log"), "sqrt": (1, "square root"), "abs": (1, "|x|"),
    "sin": (1, "sine"), "cos": (1, "cosine"), "tanh": (1, "tanh"), "rsqrt": (1, "1/sqrt(x)"),
    "shfl_xor": (2, "value of the lane (lane ^ mask) of the same warp (__shfl_xor_sync, full mask)"),
    "shfl_idx": (2, "value of lane (src % 32) of the same warp (__shfl_sync, full mask)"),
    "copy_vec": (5, "copy_vec(dst, dst_index, src, src_index, n): n elements (16 bytes) in one vector access"),
    "cp_async": (5, "cp_async(shared dst, index, global src, index, n): asynchronous 16-byte copy (cp.async, sm_80+)"),
    "cp_async_wait_all": (0, "wait for this thread's cp.async copies (cp.async.wait_all)"),
    "ldmatrix": (6, "ldmatrix(dst local, offset, shared buf, row index, num, trans): warp-wide "
                    "ldmatrix.sync.aligned.m8n8.x{num}[.trans].b16; lane 8j+i gives row i of matrix j"),
    "stmatrix": (6, "stmatrix(shared buf, row index, src local, offset, num, trans): warp-wide "
                    "stmatrix.sync.aligned.m8n8.x{num}[.trans].shared.b16 (sm_90): lane 8j+i gives row i of matrix j, "
                    "registers offset.. hold what ldmatrix would load from there"),
    "wgmma_m64nk16": (8, "wgmma_m64nk16(acc local, A shared, a_row, a_k, B shared, b_row, b_k, N): warpgroup-wide "
                         "acc(64xN) += A[a_row:a_row+64, a_k:a_k+16] @ B[b_row:b_row+N, b_k:b_k+16]^T, operands "
                         "K-major in "
                         "128-byte-swizzled shared tiles (wgmma.mma_async m64nNk16, sm_90a)"),
    "wgmma_fence": (0, "wgmma.fence (before wgmma reads registers written otherwise)"),
    "wgmma_commit": (0, "wgmma.commit_group"),
    "wgmma_wait": (1, "wgmma.wait_group N: at most N committed wgmma groups of this thread still pending"),
    "setmaxnreg": (1, "setmaxnreg.{inc,dec}.sync.aligned.u32 N: this warpgroup's registers per thread (sm_90a)"),
    "fence_proxy_async": (0, "fence.proxy.async.shared::cta (generic-proxy shared writes visible to wgmma/TMA)"),
    "tma_load": (11, "tma_load(shared tile, row offset, column offset, global tensor, c0, c1, box_cols, box_rows, "
                     "mbarriers, index, swizzle bytes): the box at (row c1, column c0) into the tile's column block "
                     "at that row "
                     "(cp.async.bulk.tensor.2d), completing on mbarrier `index`"),
    "mbar_init": (3, "mbarrier.init(mbarriers, index, arrival count)"),
    "mbar_expect_tx": (3, "mbarrier.arrive.expect_tx(mbarriers, index, bytes)"),
    "mbar_arrive": (2, "mbarrier.arrive(mbarriers, index)"),
    "mbar_wait": (3, "wait until phase `parity` of mbarrier `index` completes (try_wait.parity loop)"),
    "mbar_inval": (2, "mbarrier.inval(mbarriers, index)"),
    "dsmem_load": (3, "dsmem_load(shared buffer, cta rank, index): element of that buffer in the shared memory of "
                      "CTA `rank` of this cluster (distributed shared memory)"),
    "mma_m16n8k16": (6, "warp-wide D[d_off:+4] += A[a_off:+8] @ B[b_off:+4] on local buffers, PTX fragments "
                        "(D f32; A and B both f16 or both bf16)"),
}

_RANK = {"bool": 0, "i8": 1, "i32": 2, "i64": 3, "f16": 4, "bf16": 4, "f32": 5, "f64": 6}


def is_float(dtype: str) -> bool:
    """True for floating dtypes.

    >>> is_float("f16"), is_float("i32")
    (True, False)
    """
    return dtype in ("f16", "bf16", "f32", "f64")


def promote(a: str, b: str) -> str:
    """The dtype of a binary operation: the wider of the two (bool < i8 < i32 < i64 < f16 < f32 < f64).

    >>> promote("i32", "f16")
    'f16'
    """
    if a == "bool" and b == "bool":
        return "i32"
    return a if _RANK[a] >= _RANK[b] else b


def _div_type(a: str, b: str) -> str:
    t = promote(a, b)
    return t if is_float(t) else "f32"


def tag(node) -> int:
    """A short number naming what a schedule generates for ``node`` (scratch buffers, loop variables): the
    same in every process (``hash`` of strings is not), so generated code and its compile cache key are
    reproducible.

    >>> tag(Const(1, "i32")) == tag(Const(1, "i32"))
    True
    """
    return zlib.crc32(repr(node).encode()) % 10000


def template_arg(i: int, dtype: str) -> Var:
    """The placeholder for the i-th source element in a pointwise operator's template (``OpCall`` attr
    ``template``): schedules substitute each source's element for it.

    >>> template_arg(1, "f32")
    Var(name='_1', dtype='f32')
    """
    return Var(f"_{i}", dtype)
