"""The IR core every layer above builds on: immutable nodes (``nodes``), index arithmetic that folds as it
builds (``arith``), coordinates from layouts as IR (``address``), one thread acting for its scope
(``sync``) and the typed errors that point at the kernel's lines (``errors``).

``from lowering import ir`` gives the nodes: ``ir.Kernel``, ``ir.OpCall``, ``ir.Var``...

>>> from lowering import ir
>>> ir.BinOp("+", ir.Var("x", "i32"), ir.Const(1, "i32")).dtype
'i32'
"""

from .nodes import (
    DTYPES,
    INTRINSICS,
    NUMPY_DTYPES,
    THREAD_KINDS,
    Alloc,
    Assign,
    Barrier,
    BinOp,
    Break,
    Buffer,
    Call,
    Cast,
    Cmp,
    Const,
    Continue,
    Evaluate,
    Expr,
    For,
    HostCall,
    If,
    Kernel,
    Launch,
    Load,
    Loc,
    Logic,
    OpCall,
    Program,
    Select,
    Stmt,
    Store,
    TensorView,
    ThreadIdx,
    UnOp,
    Var,
    While,
    is_float,
    promote,
    tag,
    template_arg,
)

__all__ = [
    "DTYPES", "INTRINSICS", "NUMPY_DTYPES", "THREAD_KINDS", "Alloc", "Assign", "Barrier", "BinOp", "Break",
    "Buffer", "Call", "Cast", "Cmp", "Const", "Continue", "Evaluate", "Expr", "For", "HostCall", "If", "Kernel",
    "Launch", "Load", "Loc", "Logic", "OpCall", "Program", "Select", "Stmt", "Store", "TensorView", "ThreadIdx",
    "UnOp", "Var", "While", "is_float", "promote", "tag", "template_arg",
]
