"""Run a thread-level kernel on the GPU: emit CUDA C++, compile (cached), load, launch.

Tensor arguments: objects already on the GPU (``__cuda_array_interface__``: cupy, torch, numba; or
DLPack with a CUDA device, read through ``cuda.core``'s ``StridedMemoryView``) are passed by pointer,
without copies; numpy arrays are copied to the device and back. Every tensor is checked against the
kernel's declared shape, dtype and layout before launch (an ``AxeError`` names the parameter).

>>> from backends.cuda.run import device_args_plan
>>> from dsl import ir
>>> device_args_plan(ir.Kernel("k", (ir.Var("n", "i32"),), (1,), 32, ()), [5])[0][0]
'scalar'
"""

from __future__ import annotations

import ctypes
import functools
import os

import numpy as np

from dsl import ir
from dsl.errors import KernelRuntimeError

from ..cpu import dtypes as D
from ..cpu.args import _strides_of, bind_tensor
from .cache import compile_cached
from .driver import _call, _driver, _ensure_context, device_arch, finish, free, load_kernel, to_device

_CTYPES = {"f32": ctypes.c_float, "f64": ctypes.c_double, "i32": ctypes.c_int32, "i64": ctypes.c_int64,
           "i8": ctypes.c_int8, "bool": ctypes.c_bool, "f16": ctypes.c_uint16, "bf16": ctypes.c_uint16}
_TYPESTR = {"f16": ("<f2", "|f2"), "bf16": ("<V2", "<u2", "<i2"), "f32": ("<f4",), "f64": ("<f8",),
            "i8": ("|i1",), "i32": ("<i4",), "i64": ("<i8",), "bool": ("|b1",)}
_SMEM_DEFAULT_LIMIT = 48 * 1024


def _expected_strides(p: ir.Buffer, shape: tuple):
    """Element strides a device tensor must have: row-major, or those of the parameter's memory layout."""
    if p.layout is None or not set(p.layout.axes) <= {"m"}:
        return _cstrides(shape)
    st = _strides_of(p.layout, shape)
    if st is None or p.layout.offset.get("m", 0):
        raise KernelRuntimeError(f"tensor {p.name!r} is laid out as {p.layout}, which no strided device array has: "
                                 f"pass it as a numpy array of its raw storage")
    return st


def _device_pointer(p: ir.Buffer, a, shape: tuple):
    """(pointer, keep-alive) for an argument already on the GPU, else None; its shape, dtype and strides
    (row-major, or the parameter's memory layout) are checked."""
    want = None
    try:
        iface = getattr(a, "__cuda_array_interface__", None)
    except TypeError:      # e.g. torch has no typestr for bfloat16: DLPack describes it
        iface = None
    if iface is None and hasattr(a, "__dlpack_device__"):
        dev_type, _ = a.__dlpack_device__()
        if int(dev_type) in (2, 13):  # kDLCUDA, kDLCUDAManaged
            from cuda.core.utils import StridedMemoryView
            view = StridedMemoryView(a, stream_ptr=-1)
            want = _expected_strides(p, shape)
            got = tuple(view.strides) if view.strides is not None else _cstrides(tuple(view.shape))
            if tuple(view.shape) != shape or got != want:
                raise KernelRuntimeError(f"tensor {p.name!r} must be a {shape} array with element strides {want} on "
                                         f"the GPU, got shape {tuple(view.shape)} strides {got}")
            item = np.dtype(view.dtype).itemsize if view.dtype is not None else None
            if item != np.dtype(D.storage(p.dtype)).itemsize:
                raise KernelRuntimeError(f"tensor {p.name!r} must be {p.dtype}, got a GPU tensor of {view.dtype}")
            return view.ptr, view
    if iface is None:
        return None
    got = tuple(iface["shape"])
    if got != shape:
        raise KernelRuntimeError(f"tensor {p.name!r} must have shape {shape}, got {got}")
    if iface["typestr"] not in _TYPESTR[p.dtype]:
        raise KernelRuntimeError(f"tensor {p.name!r} must be {p.dtype}, got typestr {iface['typestr']!r}")
    strides = iface.get("strides")
    item = int(iface["typestr"][2:])
    got_st = tuple(s // item for s in strides) if strides is not None else _cstrides(shape)
    want = _expected_strides(p, shape)
    if got_st != want:
        raise KernelRuntimeError(f"tensor {p.name!r} must have element strides {want} on the GPU, got {got_st}")
    return int(iface["data"][0]), a


def _cstrides(shape):
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


def device_args_plan(kernel: ir.Kernel, args) -> list:
    """Per parameter: ``("scalar", ctypes value)``, ``("device", pointer, keep-alive)`` or
    ``("host", flat numpy storage)`` — after checking shapes and dtypes."""
    if len(args) != len(kernel.params):
        raise KernelRuntimeError(f"kernel {kernel.name!r} takes {len(kernel.params)} arguments, got {len(args)}")
    scalars = {}
    plan = []
    for p, a in zip(kernel.params, args):
        if isinstance(p, ir.Var):
            v = D.convert(np.asarray(a), p.dtype)
            scalars[p.name] = v.item()
            bits = v.item() if p.dtype not in ("f16", "bf16") else \
                int(np.asarray(v, np.float16).view(np.uint16)) if p.dtype == "f16" else int(D.to_storage(v, "bf16"))
            plan.append(("scalar", _CTYPES[p.dtype](bits)))
    for i, (p, a) in enumerate(zip(kernel.params, args)):
        if isinstance(p, ir.Buffer):
            shape = tuple(int(d.value if isinstance(d, ir.Const) else scalars[d.name]) for d in p.shape)
            size = p.size if isinstance(p.size, int) else int(np.prod(shape))
            dev = _device_pointer(p, a, shape) if p.layout is None or set(p.layout.axes) <= {"m"} else None
            if dev is not None:
                plan.insert(i, ("device", dev[0], dev[1]))
            else:
                plan.insert(i, ("host", bind_tensor(kernel.name, p, a, shape, size)))
    return plan


@functools.lru_cache(maxsize=64)
def _loaded(code: str, name: str, arch: str, options: tuple = ()):
    return load_kernel(compile_cached(code, arch, options), name)


def compile_options() -> tuple:
    """NVRTC options from the environment: ``AXE_CUDA_WAIT_LIMIT=N`` makes every mbarrier wait trap after
    N polls (a hung pipeline becomes a launch error; for tests and first runs on new hardware)."""
    limit = os.environ.get("AXE_CUDA_WAIT_LIMIT", "")
    if not limit:
        return ()
    if not limit.isdigit():
        raise KernelRuntimeError(f"AXE_CUDA_WAIT_LIMIT must be a number of polls, got {limit!r}")
    return (f"-DAXE_WAIT_LIMIT={limit}ull",)


_SOURCES: dict = {}      # id(kernel) -> (kernel, CudaSource)


def _source(kernel: ir.Kernel):
    """The CUDA source of ``kernel``, emitted once per kernel object. Looked up by identity: the
    specialisation cache hands out the same object for a specialisation, and hashing a whole kernel's IR
    (milliseconds for a big GEMM) on every launch would cost more than a small kernel runs."""
    hit = _SOURCES.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]
    from lowering.cuda import emit_cuda  # late import: lowering is a peer of this package's callers

    if len(_SOURCES) >= 256:
        _SOURCES.pop(next(iter(_SOURCES)))
    src = _SOURCES[id(kernel)] = (kernel, emit_cuda(kernel))
    return src[1]


def stream_handle(stream) -> int:
    """The ``CUstream`` of ``stream``: an int handle, a torch stream (``.cuda_stream``), a CuPy stream
    (``.ptr``) or an object with ``__cuda_stream__`` (cuda.core); 0 is the default stream.

    >>> class TorchLike: cuda_stream = 1234
    >>> stream_handle(TorchLike()), stream_handle(0)
    (1234, 0)
    """
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "__cuda_stream__"):
        return int(stream.__cuda_stream__()[1])
    for attr in ("cuda_stream", "ptr", "handle"):
        if hasattr(stream, attr):
            return int(getattr(stream, attr))
    raise KernelRuntimeError(f"stream= takes a CUDA stream (an int handle, a torch or CuPy stream), got "
                             f"{type(stream).__name__}")


def run(kernel: ir.Kernel, args, *, arch: str | None = None, stream=None) -> None:
    """Launch ``kernel`` once on device 0. Without ``stream`` it waits for the kernel; with ``stream=`` it
    launches on that stream and returns at once when every tensor is a device tensor (numpy arrays are
    always copied in, and back after the kernel finished)."""
    handle = None if stream is None else stream_handle(stream)
    src = _source(kernel)
    arch = arch or device_arch()
    k = _loaded(src.code, src.name, arch, compile_options())
    plan = device_args_plan(kernel, args)
    drv = _driver()
    _ensure_context()
    holders, copies, pointers = [], [], {}
    try:
        for p, entry in zip(kernel.params, plan):
            if entry[0] == "scalar":
                holders.append(entry[1])
            elif entry[0] == "device":
                holders.append(ctypes.c_uint64(int(entry[1])))
                pointers[p.name] = int(entry[1])
            else:
                pointers[p.name] = to_device(entry[1], copies)
                holders.append(ctypes.c_uint64(pointers[p.name]))
        holders += [_tensor_map(drv, kernel, plan, pointers, tm) for tm in src.tensor_maps]
        params = (ctypes.c_void_p * max(len(holders), 1))(*[ctypes.addressof(h) for h in holders])
        _launch(drv, k, src, params, handle or 0)
        if handle is None or copies:
            finish(copies)
    finally:
        free(copies)


def _tensor_map(drv, kernel, plan, pointers, tm):
    """The 128-byte ``CUtensorMap`` for a TMA-loaded 2-d row-major tensor: box = (cols, rows), swizzled."""
    name, box_cols, box_rows, swizzle, dtype = tm
    i = next(i for i, p in enumerate(kernel.params) if p.name == name)
    p = kernel.params[i]
    scalars = {q.name: e[1].value for q, e in zip(kernel.params, plan) if e[0] == "scalar"}
    rows, cols = (int(d.value) if isinstance(d, ir.Const) else int(scalars[d.name]) for d in p.shape)
    if pointers[name] % 16 or (cols * 2) % 16:
        raise KernelRuntimeError(f"tensor {name!r}: the TMA needs a 16-byte aligned base and row pitch")
    tmap = _call("cuTensorMapEncodeTiled", drv.cuTensorMapEncodeTiled(
        *tensor_map_args(drv, dtype, pointers[name], rows, cols, box_rows, box_cols, swizzle)))
    words = [int(w) for w in tmap.opaque]
    return (ctypes.c_uint64 * 16)(*words)


def tensor_map_args(drv, dtype: str, pointer: int, rows: int, cols: int, box_rows: int, box_cols: int,
                    swizzle: int) -> tuple:
    """The arguments of ``cuTensorMapEncodeTiled`` for a row-major (rows, cols) f16/bf16 tensor at ``pointer``
    read in (box_rows, box_cols) boxes into ``swizzle``-byte-swizzled shared tiles: sizes innermost first,
    the one stride (of rows) in bytes, typed as the binding requires (``cuuint64_t`` / ``cuuint32_t``);
    elements past the edges read as zeros."""
    T = drv.CUtensorMapDataType
    kind = T.CU_TENSOR_MAP_DATA_TYPE_FLOAT16 if dtype == "f16" else T.CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
    sw = {32: "CU_TENSOR_MAP_SWIZZLE_32B", 64: "CU_TENSOR_MAP_SWIZZLE_64B", 128: "CU_TENSOR_MAP_SWIZZLE_128B"}
    u64, u32 = drv.cuuint64_t, drv.cuuint32_t
    return (kind, 2, pointer, [u64(cols), u64(rows)], [u64(cols * 2)], [u32(box_cols), u32(box_rows)],
            [u32(1), u32(1)], drv.CUtensorMapInterleave.CU_TENSOR_MAP_INTERLEAVE_NONE,
            getattr(drv.CUtensorMapSwizzle, sw[swizzle]), drv.CUtensorMapL2promotion.CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
            drv.CUtensorMapFloatOOBfill.CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)


def _launch(drv, k, src, params, stream: int = 0):
    grid = tuple(src.grid) + (1,) * (3 - len(src.grid))
    if src.shared_bytes > _SMEM_DEFAULT_LIMIT:
        attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        _call("cuFuncSetAttribute", drv.cuFuncSetAttribute(k.function, attr, src.shared_bytes))
    cluster = tuple(src.cluster) + (1,) * (3 - len(src.cluster))
    if cluster == (1, 1, 1):
        _call(f"cuLaunchKernel({k.name})", drv.cuLaunchKernel(k.function, *grid, src.threads, 1, 1,
                                                               src.shared_bytes, stream, ctypes.addressof(params),
                                                               0))
        return
    if cluster[0] * cluster[1] * cluster[2] > 8:   # beyond the portable cluster size of sm_90
        attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED
        _call("cuFuncSetAttribute", drv.cuFuncSetAttribute(k.function, attr, 1))
    cfg = drv.CUlaunchConfig()
    cfg.gridDimX, cfg.gridDimY, cfg.gridDimZ = grid
    cfg.blockDimX, cfg.blockDimY, cfg.blockDimZ = src.threads, 1, 1
    cfg.sharedMemBytes = src.shared_bytes
    cfg.hStream = stream
    attr = drv.CUlaunchAttribute()
    attr.id = drv.CUlaunchAttributeID.CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION
    attr.value.clusterDim.x, attr.value.clusterDim.y, attr.value.clusterDim.z = cluster
    cfg.attrs = [attr]
    cfg.numAttrs = 1
    _call(f"cuLaunchKernelEx({k.name})", drv.cuLaunchKernelEx(cfg, k.function, ctypes.addressof(params), 0))
