"""Parameter annotations: dtypes, ``Tensor[shape, dtype]`` and ``const``."""

from __future__ import annotations

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


@dataclass(frozen=True)
class TensorType:
    """``dsl.Tensor[(M, "K"), dsl.f16]``: dims are ints or names of scalar parameters."""

    shape: tuple
    dtype: DType
    layout: object = None


class _TensorFactory:
    def __getitem__(self, item) -> TensorType:
        shape, dtype, *rest = item
        shape = shape if isinstance(shape, tuple) else (shape,)
        return TensorType(shape, dtype, rest[0] if rest else None)


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
