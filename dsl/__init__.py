"""The Python-embedded kernel language: ``@dsl.kernel`` parses a function into thread-level IR."""

from axe.operator_layouts import reduce_layout, transpose_layout
from lowering import ir
from lowering.ir.errors import DslError, KernelRuntimeError
from lowering.schedules import Schedule, dispatch, schedule, schedules_for

from .kernel import KernelFunction, compile, kernel
from .options import backend_option, positional
from .types import Tensor, bf16, bool_, const, dim, f16, f32, f64, i8, i32, i64

__all__ = ["backend_option", "positional", "reduce_layout", "transpose_layout",
           "Schedule", "dispatch", "schedule", "schedules_for",
           "ir", "DslError", "KernelRuntimeError", "KernelFunction", "compile", "kernel", "Tensor",
           "bf16", "bool_", "const", "dim", "f16", "f32", "f64", "i8", "i32", "i64"]
