"""IR dtypes on numpy. bf16 has no numpy dtype: its storage is the raw 16 bits (``uint16``; arrays of
``ml_dtypes.bfloat16`` are viewed as such) and its values are float32 rounded to bf16 after every
operation (round to nearest even), which is what bf16 arithmetic on a GPU gives.

>>> import numpy as np
>>> bits = to_storage(np.array([1.0, 3.140625, 1.00390625], np.float32), "bf16")
>>> from_storage(bits, "bf16").tolist()
[1.0, 3.140625, 1.0]
"""

from __future__ import annotations

import numpy as np

from lowering.ir import NUMPY_DTYPES
from lowering.ir.errors import KernelRuntimeError

_COMPUTE = {k: np.dtype(v) for k, v in NUMPY_DTYPES.items()}
_COMPUTE["bf16"] = np.dtype(np.float32)


def compute(dtype: str) -> np.dtype:
    """The numpy dtype values of ``dtype`` are computed in."""
    try:
        return _COMPUTE[dtype]
    except KeyError:
        raise KernelRuntimeError(f"the CPU backend has no dtype {dtype!r}") from None


def storage(dtype: str) -> np.dtype:
    """The numpy dtype tensors of ``dtype`` are stored in."""
    return np.dtype(np.uint16) if dtype == "bf16" else compute(dtype)


def round_bf16(x: np.ndarray) -> np.ndarray:
    """float32 values rounded to the nearest bf16 (ties to even), still as float32."""
    return from_storage(to_storage(x, "bf16"), "bf16")


def to_storage(values, dtype: str) -> np.ndarray:
    """Values (compute dtype) -> storage representation."""
    if dtype != "bf16":
        return np.asarray(values).astype(storage(dtype), copy=False)
    f = np.ascontiguousarray(values, dtype=np.float32)
    u = f.view(np.uint32).astype(np.uint64)
    nan = np.isnan(f)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(nan, np.uint16(0x7FC0), rounded)


def from_storage(bits, dtype: str) -> np.ndarray:
    """Storage representation -> values (compute dtype)."""
    if dtype != "bf16":
        return bits
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def convert(values, dtype: str) -> np.ndarray:
    """Values cast to ``dtype`` (as an IR ``Cast`` or an assignment does)."""
    out = np.asarray(values).astype(compute(dtype), copy=False)
    return round_bf16(out) if dtype == "bf16" else out


def accepts(arr: np.ndarray, dtype: str) -> np.ndarray | None:
    """The storage view of a user array for a tensor of ``dtype``, or None if the dtype does not match."""
    if dtype == "bf16":
        if arr.dtype.name == "bfloat16" or arr.dtype == np.uint16:
            return arr.view(np.uint16)
        return None
    return arr if arr.dtype == storage(dtype) else None
