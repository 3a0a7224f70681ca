"""Parameter annotations: dtypes, ``Tensor[shape, dtype]`` and ``const``."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from lowering.ir.errors import DslError


@dataclass(frozen=True)
class DType:
    """A scalar type: a parameter annotation (``n: dsl.i32``), and inside a kernel a cast (``dsl.f32(i)``).

    >>> dsl_f32 = DType("f32")
    >>> dsl_f32(1)
    Traceback (most recent call last):
    ...
    dsl.DslError: dsl.f32(x) converts a value only inside a @dsl.kernel function; outside one, dsl.f32 is a type
    """

    name: str

    def __repr__(self) -> str:
        return f"dsl.{self.name}"

    def __call__(self, *args, **kwargs):
        raise DslError(f"dsl.{self.name}(x) converts a value only inside a @dsl.kernel function; outside one, "
                       f"dsl.{self.name} is a type")


f16, bf16, f32, f64 = DType("f16"), DType("bf16"), DType("f32"), DType("f64")
i8, i32, i64, bool_ = DType("i8"), DType("i32"), DType("i64"), DType("bool")
_DTYPE_NAMES = ("dsl.f16", "dsl.bf16", "dsl.f32", "dsl.f64", "dsl.i8", "dsl.i32", "dsl.i64", "dsl.bool_")
INTEGER_TYPES = (i8, i32, i64)


I32_MAX = 2**31 - 1          # the largest extent or constant of the kernel's 32-bit index arithmetic
INT_RANGE = {"i8": (-2**7, 2**7 - 1), "i32": (-2**31, 2**31 - 1), "i64": (-2**63, 2**63 - 1)}
_USAGE = "dsl.Tensor[shape, dtype] or dsl.Tensor[shape, dtype, layout], e.g. dsl.Tensor[(n, 64), dsl.f32]"


@dataclass(frozen=True)
class TensorType:
    """``dsl.Tensor[(M, "K"), dsl.f16]``: dims are ints or names of scalar parameters."""

    shape: tuple
    dtype: DType
    layout: object = None


@dataclass(frozen=True)
class BadTensorType:
    """A ``dsl.Tensor[...]`` annotation that is not one: ``@dsl.kernel`` reports ``problem`` at the parameter.

    >>> Tensor[(4,)].problem  # doctest: +ELLIPSIS
    'dsl.Tensor[(4,)] needs a shape and a dtype: dsl.Tensor[shape, dtype] or ...'
    """

    text: str
    problem: str


def _show(item) -> str:
    parts = item if isinstance(item, tuple) and len(item) != 1 else (item,)
    return "dsl.Tensor[" + ", ".join(repr(p) for p in parts) + "]"


def _dim_problem(d) -> str | None:
    """Why ``d`` is not a tensor dim (a positive int, or the name of a scalar parameter), else None."""
    if isinstance(d, str):
        return None if d.isidentifier() else f"dim {d!r} is not a parameter name"
    if isinstance(d, bool) or not isinstance(d, int):
        return f"dim {d!r} ({type(d).__name__}) must be a positive int or dsl.dim(\"name\") of a scalar parameter"
    if not 1 <= d <= I32_MAX:
        return f"dim {d} must be a positive int below 2**31"
    return None


class _TensorFactory:
    """``dsl.Tensor[shape, dtype]`` / ``dsl.Tensor[shape, dtype, layout]`` (see ``TensorType``). A malformed
    annotation becomes a ``BadTensorType`` that ``@dsl.kernel`` reports at the parameter's line."""

    def __getitem__(self, item) -> TensorType | BadTensorType:
        text = _show(item)
        if not isinstance(item, tuple) or len(item) < 2:
            return BadTensorType(text, f"{text} needs a shape and a dtype: {_USAGE}")
        if len(item) > 3:
            return BadTensorType(text, f"{text} takes a shape, a dtype and optionally a layout; got {len(item)} "
                                       f"items")
        shape, dtype, *rest = item
        if isinstance(shape, DType):
            return BadTensorType(text, f"{text}: the shape comes first, then the dtype: {_USAGE}")
        shape = shape if isinstance(shape, tuple) else (shape,) if isinstance(shape, (int, str)) else shape
        if not isinstance(shape, tuple):
            return BadTensorType(text, f"{text}: the shape must be a tuple of dims, got {type(shape).__name__}")
        if not shape:
            return BadTensorType(text, f"{text}: the shape has no dims (a scalar is a dtype annotation: dsl.f32)")
        shape = tuple(int(d) if isinstance(d, numbers.Integral) and not isinstance(d, bool) else d for d in shape)
        for d in shape:             # (numpy integers are ints)
            problem = _dim_problem(d)
            if problem:
                return BadTensorType(text, f"{text}: {problem}")
        if not isinstance(dtype, DType):
            hint = f" (write dsl.{dtype})" if isinstance(dtype, str) and f"dsl.{dtype}" in _DTYPE_NAMES else ""
            return BadTensorType(text, f"{text}: the dtype must be one of {', '.join(_DTYPE_NAMES)}{hint}, got "
                                       f"{dtype!r}")
        layout = rest[0] if rest else None
        if layout is not None and not isinstance(layout, (str, tuple)) and not hasattr(layout, "axes"):
            return BadTensorType(text, f"{text}: the layout must be an axe.Layout or its text, got "
                                       f"{type(layout).__name__}")
        return TensorType(shape, dtype, layout)


Tensor = _TensorFactory()


class _Const:
    """Marks a compile-time parameter: the kernel is specialised (and cached) per value."""

    def __repr__(self) -> str:
        return "dsl.const"


const = _Const()


def dim(name: str) -> str:
    """A symbolic tensor dim bound to the scalar parameter ``name`` (``dsl.Tensor[(dsl.dim("n"),), dsl.f32]``).

    >>> dim("n")
    'n'
    """
    return str(name)
