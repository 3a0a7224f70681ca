"""Optional launch path through the CUDA driver API (``cuda.bindings.driver``).

``available()`` is False, without raising, when cuda-python, the driver or a GPU is missing; all
other functions raise ``CudaDriverError`` in that case.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from axe.errors import AxeError
from backends.cuda.nvrtc import CompileResult

_SMEM_DEFAULT_LIMIT = 48 * 1024
_SCALARS = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.uint32): ctypes.c_uint32,
    np.dtype(np.uint64): ctypes.c_uint64,
}


class CudaDriverError(AxeError):
    """A CUDA driver call failed (or no driver / GPU is present); the message names the call."""


def _driver():
    try:
        from cuda.bindings import driver  # optional dependency: cuda-python (the [cuda] extra)
    except ImportError as exc:
        raise CudaDriverError(f"cuda-python (cuda.bindings.driver) is not installed: {exc}") from exc
    return driver


def _call(what: str, result):
    """Unpack a ``(CUresult, *values)`` tuple, raising ``CudaDriverError`` on failure."""
    drv = _driver()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != drv.CUresult.CUDA_SUCCESS:
        _, name = drv.cuGetErrorName(err)
        raise CudaDriverError(f"{what} failed: {name.decode() if name else err}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


_SELECTED: list = [None]   # the device ordinal use_device chose for this process (None: AXE_DEVICE, else 0)


def device_ordinal() -> int:
    """The GPU this process runs kernels on: the one ``use_device`` chose, else ``$AXE_DEVICE``, else 0.
    Ordinals count the devices ``CUDA_VISIBLE_DEVICES`` leaves visible, as the driver does.

    >>> isinstance(device_ordinal(), int)
    True
    """
    if _SELECTED[0] is not None:
        return _SELECTED[0]
    env = os.environ.get("AXE_DEVICE", "")
    if not env:
        return 0
    if not env.isdigit():
        raise CudaDriverError(f"AXE_DEVICE must be a device ordinal (0, 1, ...), got {env!r}")
    return int(env)


def use_device(ordinal: int) -> None:
    """Run this process's kernels on GPU ``ordinal`` (checked against the device count when a driver is
    present; a mesh rank calls it with its node-local rank's device)."""
    if not isinstance(ordinal, int) or isinstance(ordinal, bool) or ordinal < 0:
        raise CudaDriverError(f"a device ordinal is a non-negative int, got {ordinal!r}")
    _SELECTED[0] = ordinal


def device_for_local_rank(local_rank: int, local_size: int, count: int) -> tuple:
    """``(ordinal, note)``: the GPU of node-local rank ``local_rank`` of ``local_size`` on a node with ``count``
    visible GPUs — rank r takes GPU r mod count, so more ranks than GPUs share them round robin — and a note
    to print once when they do (None otherwise).

    >>> device_for_local_rank(3, 8, 8), device_for_local_rank(5, 4, 2)[0]
    ((3, None), 1)
    >>> device_for_local_rank(0, 4, 1)[1]
    '4 ranks on this node share 1 GPU(s): ranks share devices round robin (NCCL refuses several ranks per GPU)'
    """
    if count < 1:
        raise CudaDriverError("no CUDA device found")
    note = None if local_size <= count else \
        f"{local_size} ranks on this node share {count} GPU(s): ranks share devices round robin " \
        f"(NCCL refuses several ranks per GPU)"
    return local_rank % count, note


def bind_local_rank(local_rank: int, local_size: int, device: int | None = None) -> str | None:
    """Choose this process's GPU: ``device`` when given, else the one of node-local rank ``local_rank`` of
    ``local_size`` (``device_for_local_rank``) unless ``use_device`` or ``$AXE_DEVICE`` already chose, or no
    GPU is present; returns the note to print once when ranks share GPUs (None otherwise)."""
    if device is not None:
        use_device(device)
        return None
    if _SELECTED[0] is not None or os.environ.get("AXE_DEVICE") or not available():
        return None
    ordinal, note = device_for_local_rank(local_rank, local_size, device_count())
    use_device(ordinal)
    return note


def _init():
    drv = _driver()
    try:
        _call("cuInit", drv.cuInit(0))
    except CudaDriverError:
        raise
    except Exception as exc:  # the driver library itself is missing
        raise CudaDriverError(f"cuInit failed: {exc}") from exc
    return drv


def device_count() -> int:
    """How many GPUs this process sees (``CUDA_VISIBLE_DEVICES`` applied); ``CudaDriverError`` without a driver."""
    drv = _init()
    return int(_call("cuDeviceGetCount", drv.cuDeviceGetCount()))


@functools.cache
def _context(ordinal: int = 0):
    drv = _init()
    count = _call("cuDeviceGetCount", drv.cuDeviceGetCount())
    if count < 1:
        raise CudaDriverError("no CUDA device found")
    if ordinal >= count:
        raise CudaDriverError(f"GPU {ordinal} was asked for (use_device / AXE_DEVICE), but this process sees "
                              f"{count} GPU(s)")
    dev = _call("cuDeviceGet", drv.cuDeviceGet(ordinal))
    ctx = _call("cuDevicePrimaryCtxRetain", drv.cuDevicePrimaryCtxRetain(dev))
    return dev, ctx


def _ensure_context():
    drv = _driver()
    dev, ctx = _context(device_ordinal())
    _call("cuCtxSetCurrent", drv.cuCtxSetCurrent(ctx))
    return dev


def available() -> bool:
    """True when a CUDA driver and at least one GPU can be used; never raises.

    >>> isinstance(available(), bool)
    True
    """
    try:
        _ensure_context()
    except Exception:
        return False
    return True


def device_arch() -> str:
    """The ``sm_XY`` name of this process's GPU (e.g. ``"sm_90"`` on an H100)."""
    drv = _driver()
    dev = _ensure_context()
    attr = drv.CUdevice_attribute
    major, minor = (
        _call("cuDeviceGetAttribute", drv.cuDeviceGetAttribute(which, dev))
        for which in (
            attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
            attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
        )
    )
    return f"sm_{major}{minor}"


def target_arch() -> str:
    """What kernels for this process's GPU are compiled for: its ``sm_XY`` with the arch-specific features
    where it has them (``sm_90a`` on an H100: wgmma, setmaxnreg). Asked of the driver once per device (every
    kernel call needs it; a failure, e.g. no GPU, is not remembered)."""
    return _target_arch(device_ordinal())


@functools.lru_cache(maxsize=16)
def _target_arch(ordinal: int) -> str:
    arch = device_arch()
    return arch + "a" if arch in ("sm_90", "sm_100") else arch


@dataclass(frozen=True)
class Kernel:
    """A loaded kernel function; ``loaded_from`` is ``"cubin"`` or ``"ptx"``."""

    name: str
    function: object
    module: object
    loaded_from: str


def load_kernel(result: CompileResult, name: str, prefer: str = "cubin") -> Kernel:
    """Load ``result`` into the current context (the cubin when there is one) and look up ``name``.

    ``name`` must be the kernel's (``extern "C"``) symbol name.
    """
    if prefer not in ("cubin", "ptx"):
        raise CudaDriverError(f"prefer must be 'cubin' or 'ptx', got {prefer!r}")
    drv = _driver()
    _ensure_context()
    if prefer == "cubin" and result.cubin is not None:
        image, kind = result.cubin, "cubin"
    else:
        image, kind = result.ptx.encode() + b"\0", "ptx"
    module = _call(f"cuModuleLoadData({kind})", drv.cuModuleLoadData(image))
    function = _call(f"cuModuleGetFunction({name!r})", drv.cuModuleGetFunction(module, name.encode()))
    return Kernel(name=name, function=function, module=module, loaded_from=kind)


def _dim3(value, what: str) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, int) else tuple(value)
    if not 1 <= len(dims) <= 3 or any(not isinstance(d, int) or d < 1 for d in dims):
        raise CudaDriverError(f"{what} must be 1 to 3 positive ints, got {value!r}")
    return dims + (1,) * (3 - len(dims))


def to_device(host: np.ndarray, copies: list, stream: int | None = None, back: bool = True) -> int:
    """Allocate device memory for ``host``, copy it there (ordered on ``stream`` when given), and remember
    the pair in ``copies`` (``back``: copy it back to the host in ``finish``)."""
    drv = _driver()
    dptr = _call("cuMemAlloc", drv.cuMemAlloc(max(host.nbytes, 1)))
    copies.append((host, dptr, back))
    if stream is None:
        _call("cuMemcpyHtoD", drv.cuMemcpyHtoD(dptr, host.ctypes.data, host.nbytes))
    else:   # on the launch stream: a copy on the legacy stream is not ordered before a non-blocking one
        _call("cuMemcpyHtoDAsync", drv.cuMemcpyHtoDAsync(dptr, host.ctypes.data, host.nbytes, drv.CUstream(stream)))
    return int(dptr)


def finish(copies: list, stream: int | None = None) -> None:
    """Wait for the launch (on ``stream``, else the whole context), then copy the staged arrays that are
    to come back to the host."""
    drv = _driver()
    if stream is None:
        _call("cuCtxSynchronize", drv.cuCtxSynchronize())
    else:
        _call("cuStreamSynchronize", drv.cuStreamSynchronize(drv.CUstream(stream)))
    for host, dptr, back in copies:
        if back:
            _call("cuMemcpyDtoH", drv.cuMemcpyDtoH(host.ctypes.data, dptr, host.nbytes))


def free(copies: list) -> None:
    drv = _driver()
    for _, dptr, _ in copies:
        drv.cuMemFree(dptr)


def launch(
    kernel: Kernel,
    grid: int | Sequence[int],
    block: int | Sequence[int],
    args: Sequence[object],
    shared_bytes: int = 0,
) -> None:
    """Run ``kernel`` synchronously on this process's GPU (``device_ordinal``).

    ``args`` are numpy arrays (copied to the device, passed as pointers and copied back in place
    afterwards) and numpy scalars (``np.float32(2)``, ``np.int32(n)``, ...) passed by value.
    ``shared_bytes`` of dynamic shared memory above 48 KB raise the function's limit first.
    """
    drv = _driver()
    _ensure_context()
    g, b = _dim3(grid, "grid"), _dim3(block, "block")
    if not isinstance(shared_bytes, int) or shared_bytes < 0:
        raise CudaDriverError(f"shared_bytes must be a non-negative int, got {shared_bytes!r}")
    if shared_bytes > _SMEM_DEFAULT_LIMIT:
        attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        _call("cuFuncSetAttribute", drv.cuFuncSetAttribute(kernel.function, attr, shared_bytes))
    holders, copies = [], []
    try:
        for i, arg in enumerate(args):
            if isinstance(arg, np.ndarray):
                if not arg.flags.c_contiguous or not arg.flags.writeable:
                    raise CudaDriverError(f"array argument {i} must be C-contiguous and writeable")
                holders.append(ctypes.c_uint64(to_device(arg, copies)))
            elif isinstance(arg, np.generic) and arg.dtype in _SCALARS:
                holders.append(_SCALARS[arg.dtype](arg.item()))
            else:
                raise CudaDriverError(
                    f"kernel argument {i} ({type(arg).__name__}) must be a numpy array or a numpy scalar of "
                    f"{sorted(str(d) for d in _SCALARS)}"
                )
        params = (ctypes.c_void_p * max(len(holders), 1))(*[ctypes.addressof(h) for h in holders])
        _call(
            f"cuLaunchKernel({kernel.name})",
            drv.cuLaunchKernel(kernel.function, *g, *b, shared_bytes, 0, ctypes.addressof(params), 0),
        )
        finish(copies)
    finally:
        free(copies)
