"""The Python-embedded kernel language: ``@dsl.kernel`` parses a function into thread-level IR.

The names a kernel calls (``dsl.copy``, ``dsl.thread_id``, ``with dsl.warp():``...) are documented
functions of ``dsl.language``, exported here (``help(dsl.copy)``); ``dsl.BUILTINS`` lists them all.
"""

from axe import reduce_layout, transpose_layout
from lowering import ir
from lowering.ir.errors import DslError, KernelRuntimeError
from lowering.schedules import Schedule, dispatch, schedule, schedules_for

from .kernel import KernelFunction, compile, kernel
from .language import (
    BUILTINS,
    Builtin,
    abs,
    add,
    alloc_barriers,
    alloc_local,
    alloc_shared,
    arrive,
    barrier,
    cast,
    cluster,
    cluster_cta_id,
    cluster_id,
    copy,
    copy_async,
    cos,
    cta,
    cta_id,
    div,
    elect_one,
    exp,
    fill,
    gemm,
    gemm_async,
    gemm_wait,
    kernel_scope,
    lane_id,
    log,
    max,
    maximum,
    min,
    minimum,
    mma_m16n8k16,
    mul,
    neg,
    pointwise,
    reduce,
    rsqrt,
    setmaxnreg,
    shfl_xor,
    sin,
    sqrt,
    sub,
    sum,
    syncthreads,
    tanh,
    thread,
    thread_id,
    view,
    wait,
    warp,
    warp_id,
    warpgroup,
    warpgroup_id,
)
from .options import backend_option, positional
from .types import Tensor, bf16, bool_, const, dim, f16, f32, f64, i8, i32, i64

__all__ = ["backend_option", "positional", "reduce_layout", "transpose_layout",
           "Schedule", "dispatch", "schedule", "schedules_for",
           "ir", "DslError", "KernelRuntimeError", "KernelFunction", "compile", "kernel", "Tensor",
           "bf16", "bool_", "const", "dim", "f16", "f32", "f64", "i8", "i32", "i64",
           # the vocabulary of kernels (dsl/language.py); the dtypes above are also its scalar casts
           "BUILTINS", "Builtin",
           "copy", "copy_async", "fill", "alloc_barriers", "wait", "arrive", "barrier", "syncthreads",
           "setmaxnreg", "pointwise", "cast", "add", "sub", "mul", "div", "maximum", "minimum",
           "exp", "log", "sqrt", "rsqrt", "abs", "sin", "cos", "tanh", "neg", "reduce", "sum", "max", "min",
           "gemm", "gemm_async", "gemm_wait", "mma_m16n8k16", "shfl_xor",
           "thread_id", "lane_id", "warp_id", "warpgroup_id", "cta_id", "cluster_id", "cluster_cta_id",
           "alloc_shared", "alloc_local", "view",
           "kernel_scope", "cluster", "cta", "warpgroup", "warp", "thread", "elect_one"]
