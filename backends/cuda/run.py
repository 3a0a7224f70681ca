"""Run a thread-level kernel on the GPU: emit CUDA C++, compile (cached), load, launch.

Tensor arguments: objects already on the GPU (``__cuda_array_interface__``: cupy, torch, numba; or
DLPack with a CUDA device, read through ``cuda.core``'s ``StridedMemoryView``) are passed by pointer,
without copies; numpy arrays are copied to the device and back (once per distinct array, and back only
when the kernel writes the tensor). Every tensor is checked against the kernel's declared shape, dtype and
layout before launch, and against what the generated code assumes: a base aligned for its widest vector
access, fewer than 2**31 elements (index arithmetic is 32-bit), this process's GPU (an ``AxeError`` names the
parameter). Arguments that share memory get a build without ``__restrict__``. Device tensors are ordered
before the launch stream: DLPack producers are handed that stream, and a ``__cuda_array_interface__``
``stream`` is waited for on the launch stream.

>>> from backends.cuda.run import device_args_plan
>>> from lowering import ir
>>> device_args_plan(ir.Kernel("k", (ir.Var("n", "i32"),), (1,), 32, ()), [5])[0][0]
'scalar'
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
from dataclasses import dataclass

import numpy as np

from lowering import ir
from lowering.cuda import emit_cuda
from lowering.ir.errors import KernelRuntimeError
from lowering.irutil import written_tensors

from ..cpu import dtypes
from ..cpu.args import _strides_of, bind_tensor
from .cache import compile_cached
from .driver import (
    _call,
    _driver,
    _ensure_context,
    device_ordinal,
    finish,
    free,
    load_kernel,
    target_arch,
    to_device,
)

_CTYPES = {"f32": ctypes.c_float, "f64": ctypes.c_double, "i32": ctypes.c_int32, "i64": ctypes.c_int64,
           "i8": ctypes.c_int8, "bool": ctypes.c_bool, "f16": ctypes.c_uint16, "bf16": ctypes.c_uint16}
_TYPESTR = {"f16": ("<f2", "|f2"), "bf16": ("<V2", "<u2", "<i2"), "f32": ("<f4",), "f64": ("<f8",),
            "i8": ("|i1",), "i32": ("<i4",), "i64": ("<i8",), "bool": ("|b1",)}
_SMEM_DEFAULT_LIMIT = 48 * 1024
_ITEMSIZE = {t: np.dtype(dtypes.storage(t)).itemsize for t in ir.DTYPES}


def _expected_strides(p: ir.Buffer, shape: tuple):
    """Element strides a device tensor must have: row-major, or those of the parameter's memory layout."""
    if p.layout is None or not set(p.layout.axes) <= {"m"}:
        return _cstrides(shape)
    st = _strides_of(p.layout, shape)
    if st is None or p.layout.offset.get("m", 0):
        raise KernelRuntimeError(f"tensor {p.name!r} is laid out as {p.layout}, which no strided device array has: "
                                 f"pass it as a numpy array of its raw storage")
    return st


def _device_pointer(p: ir.Buffer, a, shape: tuple, stream: int = 0):
    """(pointer, keep-alive, CAI stream) for an argument already on the GPU, else None; its shape, dtype and
    strides (row-major, or the parameter's memory layout) are checked."""
    want = None
    try:
        iface = getattr(a, "__cuda_array_interface__", None)
    except TypeError:      # e.g. torch has no typestr for bfloat16: DLPack describes it
        iface = None
    if iface is None and hasattr(a, "__dlpack_device__"):
        dev_type, dev_id = a.__dlpack_device__()
        if int(dev_type) in (2, 13):  # kDLCUDA, kDLCUDAManaged
            if int(dev_id) != device_ordinal():
                raise KernelRuntimeError(f"tensor {p.name!r} is on GPU {int(dev_id)}; this process runs kernels on "
                                         f"GPU {device_ordinal()}")
            # the producer orders its work before our stream (DLPack: 1 names the legacy default stream)
            view = _dlpack_view(a, stream or 1)
            want = _expected_strides(p, shape)
            got = tuple(view.strides) if view.strides is not None else _cstrides(tuple(view.shape))
            if tuple(view.shape) != shape or got != want:
                raise KernelRuntimeError(f"tensor {p.name!r} must be a {shape} array with element strides {want} on "
                                         f"the GPU, got shape {tuple(view.shape)} strides {got}")
            if not _dlpack_dtype_ok(view, p.dtype):
                raise KernelRuntimeError(f"tensor {p.name!r} must be {p.dtype}, got a GPU tensor of "
                                         f"{_dtype_name(view)}")
            return view.ptr, view, None
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
    return int(iface["data"][0]), a, iface.get("stream")


_DLPACK_OK = {"f16": ("float16",), "bf16": ("bfloat16", "uint16", "int16"), "f32": ("float32",),
              "f64": ("float64",), "i8": ("int8",), "i32": ("int32",), "i64": ("int64",), "bool": ("bool",)}


def _dtype_name(view) -> str:
    try:
        return str(np.dtype(view.dtype)) if view.dtype is not None else "unknown dtype"
    except Exception:   # bfloat16 without ml_dtypes: cuda.core cannot name it in numpy
        return "a dtype numpy has no name for"


def _dlpack_view(a, stream: int):
    """``cuda.core``'s view of a DLPack tensor, ordered before ``stream`` (``from_dlpack`` where this
    cuda.core has it; the constructor, which newer ones deprecate, elsewhere)."""
    from cuda.core.utils import StridedMemoryView  # optional dependency: cuda-python (the [cuda] extra)

    make = getattr(StridedMemoryView, "from_dlpack", None)
    return make(a, stream_ptr=stream) if make is not None else StridedMemoryView(a, stream_ptr=stream)


def _dlpack_dtype_ok(view, dtype: str) -> bool:
    """Whether a DLPack view's element type is ``dtype`` (bf16 may also come as its raw 16-bit integers)."""
    try:
        got = np.dtype(view.dtype) if view.dtype is not None else None
    except NotImplementedError:   # a type numpy cannot name without ml_dtypes: of ours only bfloat16
        item = getattr(getattr(view, "_layout", None), "itemsize", None)   # None: this cuda.core cannot tell
        return dtype == "bf16" and item in (2, None)
    return got is not None and got.name in _DLPACK_OK[dtype]


def _cstrides(shape):
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


_MAX_ELEMENTS = 2**31 - 1   # the generated index arithmetic is 32-bit


def device_args_plan(kernel: ir.Kernel, args, alignment: dict | None = None, stream: int = 0) -> list:
    """Per parameter: ``("scalar", ctypes value)``, ``("device", pointer, keep-alive, CAI stream or None,
    bytes)`` or ``("host", flat numpy storage)`` — after checking shapes, dtypes, sizes and, against ``alignment``
    (parameter -> bytes, ``CudaSource.alignment``), device pointers. ``stream`` is the launch stream.

    >>> from lowering import ir
    >>> class Dev:   # a device array seen through __cuda_array_interface__ (no GPU needed)
    ...     __cuda_array_interface__ = {"shape": (4,), "typestr": "<f4", "data": (4100, False), "version": 3}
    >>> k = ir.Kernel("k", (ir.Buffer("x", "f32", 4, "global", (ir.Const(4, "i32"),)),), (1,), 32, ())
    >>> try:
    ...     device_args_plan(k, [Dev()], {"x": 16})
    ... except KernelRuntimeError as e:
    ...     print(str(e)[:62])
    kernel 'k': tensor 'x' must start at a 16-byte aligned address
    """
    alignment = alignment or {}
    if len(args) != len(kernel.params):
        raise KernelRuntimeError(f"kernel {kernel.name!r} takes {len(kernel.params)} arguments, got {len(args)}")
    scalars = {}
    plan = []
    for p, a in zip(kernel.params, args):
        if isinstance(p, ir.Var):
            v = dtypes.convert(np.asarray(a), p.dtype)
            scalars[p.name] = v.item()
            if p.dtype == "f16":
                bits = int(np.asarray(v, np.float16).view(np.uint16))
            elif p.dtype == "bf16":
                bits = int(dtypes.to_storage(v, "bf16"))
            else:
                bits = v.item()
            plan.append(("scalar", _CTYPES[p.dtype](bits)))
    for i, (p, a) in enumerate(zip(kernel.params, args)):
        if isinstance(p, ir.Buffer):
            shape = tuple(int(d.value if isinstance(d, ir.Const) else scalars[d.name]) for d in p.shape)
            size = p.size if isinstance(p.size, int) else math.prod(shape)
            if size > _MAX_ELEMENTS:
                raise KernelRuntimeError(f"kernel {kernel.name!r}: tensor {p.name!r} has {size} elements; the CUDA "
                                         f"backend indexes in 32 bits (at most {_MAX_ELEMENTS})")
            dev = _device_pointer(p, a, shape, stream) if p.layout is None or set(p.layout.axes) <= {"m"} else None
            if dev is not None:
                need = alignment.get(p.name, 1)
                if dev[0] % need:
                    raise KernelRuntimeError(f"kernel {kernel.name!r}: tensor {p.name!r} must start at a {need}-byte "
                                             f"aligned address (the kernel reads or writes it {need} bytes at a "
                                             f"time), got {hex(dev[0])}")
                plan.insert(i, ("device", dev[0], dev[1], dev[2], size * _ITEMSIZE[p.dtype]))
            else:
                plan.insert(i, ("host", bind_tensor(kernel.name, p, a, shape, size)))
    return plan


@functools.lru_cache(maxsize=64)
def _loaded(code: str, name: str, arch: str, options: tuple = (), ordinal: int = 0):
    """The kernel loaded into GPU ``ordinal``'s context (a module belongs to the context it was loaded in)."""
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


_SOURCES: dict = {}      # (id(kernel), noalias) -> (kernel, CudaSource)


def _source(kernel: ir.Kernel, noalias: bool = True):
    """The CUDA source of ``kernel``, emitted once per kernel object. Looked up by identity: the
    specialisation cache hands out the same object for a specialisation, and hashing a whole kernel's IR
    (milliseconds for a big GEMM) on every launch would cost more than a small kernel runs."""
    hit = _SOURCES.get((id(kernel), noalias))
    if hit is not None and hit[0] is kernel:
        return hit[1]

    if len(_SOURCES) >= 256:
        _SOURCES.pop(next(iter(_SOURCES)))
    src = _SOURCES[(id(kernel), noalias)] = (kernel, emit_cuda(kernel, noalias=noalias))
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


def _extent(entry) -> tuple:
    """[start, end) of the memory a tensor argument occupies (the host range for a numpy array)."""
    if entry[0] == "host":
        return entry[1].ctypes.data, entry[1].ctypes.data + entry[1].nbytes
    return entry[1], entry[1] + entry[4]


def staging(kernel: ir.Kernel, plan: list, written=None) -> tuple:
    """``(stage, aliased)``: per parameter, the index of the distinct numpy array it is staged from (one
    device copy per array, so arguments passed twice stay one tensor as on the CPU backend) or None; and
    whether two tensor arguments share memory and one of them is ``written`` (default: any; the kernel is
    then built without ``__restrict__``, which only promises that written memory is not reached another
    way). Numpy arguments that overlap only in part cannot be staged apart and raise ``KernelRuntimeError``.

    >>> import numpy as np
    >>> from lowering import ir
    >>> x, y = (ir.Buffer(n, "f32", 4, "global", (ir.Const(4, "i32"),)) for n in "xy")
    >>> a = np.zeros(4, np.float32)
    >>> staging(ir.Kernel("k", (x, y), (1,), 32, ()), [("host", a), ("host", a)])
    ([0, 0], True)
    """
    stage, arrays, spans = [], [], []
    for p, entry in zip(kernel.params, plan):
        if entry[0] == "scalar":
            stage.append(None)
            continue
        lo, hi = _extent(entry)
        spans.append((lo, hi, p.name, entry[0]))
        if entry[0] != "host":
            stage.append(None)
            continue
        same = next((j for j, (q, _) in enumerate(arrays) if q.ctypes.data == lo and q.nbytes == entry[1].nbytes), None)
        if same is None:
            arrays.append((entry[1], p.name))
            same = len(arrays) - 1
        stage.append(same)
    aliased = False
    for i, (lo, hi, name, kind) in enumerate(spans):
        for lo2, hi2, name2, kind2 in spans[i + 1:]:
            if lo < hi2 and lo2 < hi:
                aliased = aliased or written is None or name in written or name2 in written
                if kind == kind2 == "host" and (lo, hi) != (lo2, hi2):
                    raise KernelRuntimeError(f"kernel {kernel.name!r}: numpy arguments {name!r} and {name2!r} "
                                             f"share part of their memory: pass the same array, or separate ones")
    return stage, aliased


@dataclass(frozen=True)
class PreparedLaunch:
    """What ``prepare`` decided on the host for one launch: the source to run (``__restrict__`` or not),
    the argument plan (``device_args_plan``), which numpy array each parameter is staged from and whether
    it is copied back, the stream handle (None: wait for the kernel) and the arch to load for."""

    kernel: ir.Kernel
    src: object
    plan: list
    stage: list
    back: dict
    handle: int | None
    arch: str | None


def prepare(kernel: ir.Kernel, args, *, arch: str | None = None, stream=None) -> PreparedLaunch:
    """Every check and decision of a launch that needs no driver call: argument shapes, dtypes, sizes and
    alignment, staging of numpy arrays, aliasing, read-only arrays the kernel writes. The per-kernel parts
    (source, written tensors) are remembered per kernel object, so a repeated launch repeats only the
    per-argument work.

    >>> import numpy as np
    >>> from lowering import ir
    >>> x = ir.Buffer("x", "f32", 4, "global", (ir.Const(4, "i32"),))
    >>> k = ir.Kernel("k", (x,), (1,), 32, (ir.Store(x, ir.Const(0, "i32"), ir.Const(1.0, "f32")),))
    >>> a = np.zeros(4, np.float32); a.flags.writeable = False
    >>> prepare(k, [a])
    Traceback (most recent call last):
    ...
    dsl.KernelRuntimeError: kernel 'k' writes tensor 'x', but its numpy array is read-only
    """
    handle = None if stream is None else stream_handle(stream)
    src = _source(kernel)
    plan = device_args_plan(kernel, args, src.alignment_map, handle or 0)
    written = written_tensors(kernel)
    stage, aliased = staging(kernel, plan, written)
    if aliased:
        src = _source(kernel, noalias=False)
    back = {}   # staged array index -> copied back (some parameter on it is written)
    for p, entry, j in zip(kernel.params, plan, stage):
        if j is not None:
            back[j] = back.get(j, False) or p.name in written
            if p.name in written and not entry[1].flags.writeable:
                raise KernelRuntimeError(f"kernel {kernel.name!r} writes tensor {p.name!r}, but its numpy array "
                                         f"is read-only")
    return PreparedLaunch(kernel, src, plan, stage, back, handle, arch)


def run(kernel: ir.Kernel, args, *, arch: str | None = None, stream=None) -> None:
    """Launch ``kernel`` once on this process's GPU (``driver.device_ordinal``). Without ``stream`` it
    waits for the kernel; with ``stream=`` it launches on that stream and returns at once when every tensor
    is a device tensor (numpy arrays are always copied in on the stream, and back after the kernel
    finished)."""
    launch_prepared(prepare(kernel, args, arch=arch, stream=stream))


def launch_prepared(req: PreparedLaunch) -> None:
    """The driver's part of a launch ``prepare`` planned: load (cached), check device tensors, stage numpy
    arrays, encode tensor maps, launch, copy back."""
    kernel, src, plan, stage, handle = req.kernel, req.src, req.plan, req.stage, req.handle
    on = handle or 0
    k = _loaded(src.code, src.name, req.arch or target_arch(), compile_options(), device_ordinal())
    drv = _driver()
    _ensure_context()
    _check_device_tensors(drv, kernel, plan, on)
    holders, copies, pointers, staged = [], [], {}, {}
    try:
        for p, entry, j in zip(kernel.params, plan, stage):
            if entry[0] == "scalar":
                holders.append(entry[1])
                continue
            if entry[0] == "device":
                pointers[p.name] = int(entry[1])
            else:
                if j not in staged:
                    staged[j] = to_device(entry[1], copies, on if handle is not None else None, req.back[j])
                pointers[p.name] = staged[j]
            holders.append(ctypes.c_uint64(pointers[p.name]))
        holders += [_tensor_map(drv, kernel, plan, pointers, tm) for tm in src.tensor_maps]
        params = (ctypes.c_void_p * max(len(holders), 1))(*[ctypes.addressof(h) for h in holders])
        _launch(drv, k, src, params, on)
        if handle is None or copies:
            finish(copies, handle)
    finally:
        free(copies)


def _check_device_tensors(drv, kernel, plan, stream: int) -> None:
    """Device tensors live on this process's GPU; the launch stream waits (an event) for the streams
    ``__cuda_array_interface__`` producers named (v3 ``stream``: 1 is the legacy default stream, 2 the
    per-thread one) unless it is the launch stream itself."""
    ours = stream or 1
    ordinal = drv.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL
    for p, entry in zip(kernel.params, plan):
        if entry[0] != "device":
            continue
        mine = device_ordinal()
        dev = _call("cuPointerGetAttribute", drv.cuPointerGetAttribute(ordinal, entry[1])) if entry[4] else mine
        if int(dev) != mine:
            raise KernelRuntimeError(f"kernel {kernel.name!r}: tensor {p.name!r} is on GPU {int(dev)}, this process "
                                     f"runs kernels on GPU {mine}")
        if isinstance(entry[3], int) and entry[3] not in (0, ours):   # the launch waits, the host does not
            ev = _call("cuEventCreate", drv.cuEventCreate(drv.CUevent_flags.CU_EVENT_DISABLE_TIMING))
            try:
                _call("cuEventRecord", drv.cuEventRecord(ev, drv.CUstream(entry[3])))
                _call("cuStreamWaitEvent", drv.cuStreamWaitEvent(drv.CUstream(stream), ev, 0))
            finally:
                drv.cuEventDestroy(ev)


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
            getattr(drv.CUtensorMapSwizzle, sw[swizzle]),
            drv.CUtensorMapL2promotion.CU_TENSOR_MAP_L2_PROMOTION_L2_256B,   # what GEMM libraries use for operands
            drv.CUtensorMapFloatOOBfill.CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)


_ATTRIBUTES_SET: dict = {}   # id(loaded kernel) -> (kernel, shared bytes): function attributes persist


def _launch(drv, k, src, params, stream: int = 0):
    grid = tuple(src.grid) + (1,) * (3 - len(src.grid))
    if src.shared_bytes > _SMEM_DEFAULT_LIMIT:
        done = _ATTRIBUTES_SET.get(id(k))
        if done is None or done[0] is not k or done[1] < src.shared_bytes:
            attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
            _call("cuFuncSetAttribute", drv.cuFuncSetAttribute(k.function, attr, src.shared_bytes))
            _ATTRIBUTES_SET[id(k)] = (k, src.shared_bytes)
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
