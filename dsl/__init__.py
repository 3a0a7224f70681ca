"""The Python-embedded kernel language: ``@dsl.kernel`` parses a function into thread-level IR."""

from . import ir
from .errors import DslError, KernelRuntimeError
from .kernel import KernelFunction, compile, kernel
from .types import Tensor, bf16, bool_, const, dim, f16, f32, f64, i8, i32, i64

__all__ = ["ir", "DslError", "KernelRuntimeError", "KernelFunction", "compile", "kernel", "Tensor",
           "bf16", "bool_", "const", "dim", "f16", "f32", "f64", "i8", "i32", "i64"]
