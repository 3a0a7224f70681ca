"""AWS Trainium on-chip memories: SBUF and PSUM, 2-D with 128 partitions (``P``) and a free dim (``F``)."""

from __future__ import annotations

from ..errors import AxeError
from ..layout import Layout

PARTITIONS = 128
PSUM_FREE_BYTES = 2048  # one PSUM bank per partition


def sbuf(shape: tuple[int, int]) -> Layout:
    """A (rows, cols) tensor in SBUF: row r on partition ``r % 128``; row blocks of 128 side by side in F.

    >>> str(sbuf((256, 512)))
    'S[(2,128,512):(512@F,1@P,1@F)]'
    """
    rows, cols = _shape(shape, "sbuf")
    if rows <= PARTITIONS:
        return Layout.parse(f"S[({rows},{cols}):(1@P,1@F)]")
    if rows % PARTITIONS:
        raise AxeError(f"sbuf: {rows} rows must be at most {PARTITIONS} or a multiple of it")
    return Layout.parse(f"S[({rows // PARTITIONS},{PARTITIONS},{cols}):({cols}@F,1@P,1@F)]")


def psum(shape: tuple[int, int], dtype_bytes: int = 4) -> Layout:
    """A (rows <= 128, cols) matmul output tile in one PSUM bank (2 KiB per partition).

    >>> str(psum((128, 512)))
    'S[(128,512):(1@P,1@F)]'
    """
    rows, cols = _shape(shape, "psum")
    if rows > PARTITIONS:
        raise AxeError(f"psum: {rows} rows exceed the {PARTITIONS} partitions")
    if cols * dtype_bytes > PSUM_FREE_BYTES:
        raise AxeError(f"psum: {cols} columns of {dtype_bytes} bytes exceed a {PSUM_FREE_BYTES}-byte bank")
    return Layout.parse(f"S[({rows},{cols}):(1@P,1@F)]")


def matmul(m: int, k: int, n: int) -> dict[str, Layout]:
    """The Tensor Engine's ``nc_matmul`` operands: ``out[M, N] = stationary[K, M].T @ moving[K, N]``.

    The contraction dim K (<= 128) lies on the SBUF partitions of both inputs; the (M <= 128, N <= 512)
    fp32 result lands in one PSUM bank with M on the partitions. Keys: ``"stationary"`` (K, M),
    ``"moving"`` (K, N) and ``"out"`` (M, N).

    >>> {k: str(v) for k, v in matmul(128, 64, 512).items()}["moving"]
    'S[(64,512):(1@P,1@F)]'
    """
    for v, what, hi in ((m, "M", PARTITIONS), (k, "K", PARTITIONS), (n, "N", PSUM_FREE_BYTES // 4)):
        if type(v) is not int or not 1 <= v <= hi:
            raise AxeError(f"matmul: {what} must be an int in [1, {hi}], got {v!r}")
    return {"stationary": sbuf((k, m)), "moving": sbuf((k, n)), "out": psum((m, n))}


def _shape(shape, what):
    try:
        rows, cols = shape
    except (TypeError, ValueError):
        raise AxeError(f"{what}: shape must be (rows, cols), got {shape!r}") from None
    if type(rows) is not int or type(cols) is not int or rows < 1 or cols < 1:
        raise AxeError(f"{what}: shape must be two positive ints, got {shape!r}")
    return rows, cols
