"""The DSL's error types under the name users import them by; they are defined with the IR
(``lowering.ir.errors``), since every pass raises them.

>>> from dsl.errors import DslError
>>> DslError.__module__
'dsl'
"""

from lowering.ir.errors import DslError, KernelRuntimeError

__all__ = ["DslError", "KernelRuntimeError"]
