"""The Python-embedded kernel language: ``@dsl.kernel`` parses a function into thread-level IR."""

import axe

from . import ir
from .errors import DslError, KernelRuntimeError
from .kernel import KernelFunction, compile, kernel
from .layouts import reduce_layout, transpose_layout
from .options import backend_option, positional
from .schedule import Schedule, dispatch, schedule, schedules_for
from .types import Tensor, bf16, bool_, const, dim, f16, f32, f64, i8, i32, i64

axe.register_axis("tx", kind=axe.THREAD)  # thread index within the CTA

__all__ = ["backend_option", "positional", "reduce_layout", "transpose_layout",
           "Schedule", "dispatch", "schedule", "schedules_for",
           "ir", "DslError", "KernelRuntimeError", "KernelFunction", "compile", "kernel", "Tensor",
           "bf16", "bool_", "const", "dim", "f16", "f32", "f64", "i8", "i32", "i64"]
