"""Binding user arrays to a kernel's tensor parameters on the CPU backend.

Accepted: numpy arrays, objects exporting DLPack on the CPU (``__dlpack__``: torch CPU tensors, jax
arrays...), anything ``np.asarray`` takes. Numpy arrays and DLPack tensors are used in place (results
appear in them); other inputs are copied. The array must match the declared dtype and shape: row-major,
or, for a tensor with a memory layout, either strides that are exactly the layout's or the raw storage as
a 1-d array of the layout's span.

>>> import numpy as np
>>> from lowering import ir
>>> p = ir.Buffer("a", "f32", 6, "global", (ir.Const(2, "i32"), ir.Const(3, "i32")))
>>> bind_tensor("k", p, np.ones((2, 3), np.float32), (2, 3), 6).shape
(6,)
"""

from __future__ import annotations

import inspect
import pathlib

import numpy as np

import axe
from axe.operator_layouts import dim_blocks
from lowering import ir
from lowering.ir.errors import KernelRuntimeError, at

from . import dtypes

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_OURS = tuple(str(_ROOT / pkg) + "/" for pkg in ("axe", "lowering", "backends", "collectives", "dsl"))


def call_site() -> ir.Loc | None:
    """Where the user called into the project: the innermost frame of the stack outside its packages (the
    line that launched a kernel, or called ``specialise``). Only for messages: walk the stack when raising.

    >>> call_site().file.startswith("<doctest")
    True
    """
    f = inspect.currentframe()
    try:
        while f is not None:
            name = f.f_code.co_filename
            if not name.startswith(_OURS):
                info = inspect.getframeinfo(f, context=0)
                col = getattr(info.positions, "col_offset", None) or 0
                return ir.Loc(name, f.f_lineno, col)
            f = f.f_back
        return None
    finally:
        del f


def called_at(message: str) -> str:
    """``message`` at the user's call site (``file:line:`` and the line with a caret), for errors found when a
    kernel is called: its arguments do not fit its parameters."""
    return at(call_site(), message)


def as_array(a) -> np.ndarray:
    """A numpy view of ``a`` sharing memory where possible (DLPack), else ``np.asarray(a)``."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "__dlpack__"):
        try:
            return np.from_dlpack(a)
        except (TypeError, BufferError, RuntimeError) as e:
            raise KernelRuntimeError(called_at(f"cannot read {type(a).__name__} through DLPack on the CPU: {e}")) \
                from None
    return np.asarray(a)


def _strides_of(layout: axe.Layout, shape: tuple):
    """Element strides per dim when every dim of ``layout`` is a single memory iter, else None."""
    blocks = dim_blocks(layout, shape)
    if blocks is None or layout.replica:
        return None
    out = []
    for block in blocks:
        its = [it for it in block if it.extent != 1]
        if len(its) > 1:
            return None
        out.append(its[0].stride if its else 0)
    return tuple(out)


def bind_tensor(kname: str, p: ir.Buffer, a, shape: tuple, size: int) -> np.ndarray:
    """The flat storage array for parameter ``p`` (updated in place when ``a`` allows it)."""
    if a is None or isinstance(a, (bool, int, float, complex, str, bytes, np.generic)):
        raise KernelRuntimeError(called_at(f"kernel {kname!r}: tensor {p.name!r} needs an array of {p.dtype}, "
                                           f"got {type(a).__name__} {a!r}"[:300]))
    arr = as_array(a)
    view = dtypes.accepts(arr, p.dtype)
    if view is None:
        raise KernelRuntimeError(called_at(f"kernel {kname!r}: tensor {p.name!r} must be {p.dtype} "
                                           f"({dtypes.storage(p.dtype)}), got {arr.dtype}"))
    memory_layout = p.layout is not None and set(p.layout.axes) == {"m"}
    if memory_layout:
        if view.ndim == 1 and view.size == size and view.flags.c_contiguous:
            return view
        st = _strides_of(p.layout, shape)
        mine = tuple(s // view.itemsize for s in view.strides)
        if st is None or view.shape != shape or mine != st or p.layout.offset.get("m", 0):
            raise KernelRuntimeError(called_at(
                f"kernel {kname!r}: tensor {p.name!r} is laid out as {p.layout}: pass an array of shape {shape} with "
                f"element strides {st} or its raw storage (1-d, {size} elements); got shape {view.shape} strides "
                f"{mine}"))
        return np.lib.stride_tricks.as_strided(view, (size,), (view.itemsize,))
    if shape and view.shape != shape:
        raise KernelRuntimeError(called_at(f"kernel {kname!r}: tensor {p.name!r} must have shape {shape}, got "
                                           f"{view.shape}"))
    if not view.flags.c_contiguous:
        raise KernelRuntimeError(called_at(f"kernel {kname!r}: tensor {p.name!r} must be C-contiguous (row-major)"))
    return view.reshape(-1)
