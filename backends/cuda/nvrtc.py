"""Compile CUDA C++ source to PTX (and a cubin for real ``sm_*`` targets) with NVRTC.

NVRTC needs no GPU and no driver, so this module works on CPU-only machines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from axe.errors import AxeError

_ARCH = re.compile(r"^(sm|compute)_[0-9]+[af]?$")


class CudaCompileError(AxeError):
    """NVRTC rejected the source or the options; ``log`` holds NVRTC's program log."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message if not log else f"{message}\n{log}")
        self.log = log


@dataclass(frozen=True)
class CompileResult:
    """What one NVRTC compile produced: PTX text, cubin bytes (None for ``compute_*``), the log."""

    ptx: str
    cubin: bytes | None
    log: str
    arch: str


def _nvrtc():
    try:
        from cuda.bindings import nvrtc  # optional dependency: cuda-python (the [cuda] extra)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CudaCompileError(f"cuda-python (cuda.bindings.nvrtc) is not installed: {exc}") from exc
    return nvrtc


def nvrtc_version() -> tuple[int, int]:
    """The NVRTC (major, minor) version.

    >>> nvrtc_version() >= (12, 0)  # doctest: +NVRTC
    True
    """
    nv = _nvrtc()
    err, major, minor = nv.nvrtcVersion()
    _check(nv, err, "nvrtcVersion")
    return (major, minor)


def _check(nv, err, what: str, log: str = "") -> None:
    if err != nv.nvrtcResult.NVRTC_SUCCESS:
        _, name = nv.nvrtcGetErrorString(err)
        raise CudaCompileError(f"{what} failed: {name.decode(errors='replace')}", log)


def check_arch(arch: str) -> str:
    """Validate an architecture name such as ``"sm_80"``, ``"sm_90a"`` or ``"compute_80"``.

    >>> check_arch("sm_90a")
    'sm_90a'
    """
    if not isinstance(arch, str) or not _ARCH.match(arch):
        raise CudaCompileError(f"bad CUDA architecture {arch!r}: expected e.g. 'sm_80', 'sm_90a' or 'compute_80'")
    return arch


def compile_cuda(
    source: str, arch: str = "sm_80", options: tuple[str, ...] = (), name: str = "kernel.cu"
) -> CompileResult:
    """Compile ``source`` with NVRTC for ``arch``; ``options`` are extra NVRTC flags.

    Raises ``CudaCompileError`` (carrying NVRTC's log) when compilation fails.

    >>> r = compile_cuda('extern "C" __global__ void k(float* x) { x[0] = 1.0f; }', "sm_80")  # doctest: +NVRTC
    >>> ".entry k" in r.ptx and r.cubin[:4] == b"\\x7fELF"  # doctest: +NVRTC
    True
    """
    check_arch(arch)
    if not isinstance(source, str):
        raise CudaCompileError(f"CUDA source must be a str, got {type(source).__name__}")
    opts = tuple(options)
    for o in opts:
        if not isinstance(o, str):
            raise CudaCompileError(f"NVRTC option {o!r} is not a str")
    nv = _nvrtc()
    err, prog = nv.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], [])
    _check(nv, err, "nvrtcCreateProgram")
    try:
        flags = [f"--gpu-architecture={arch}".encode()] + [o.encode() for o in opts]
        (cerr,) = nv.nvrtcCompileProgram(prog, len(flags), flags)
        log = _log(nv, prog)
        _check(nv, cerr, f"NVRTC compile of {name} for {arch}", log)
        err, size = nv.nvrtcGetPTXSize(prog)
        _check(nv, err, "nvrtcGetPTXSize", log)
        buf = b" " * size
        (err,) = nv.nvrtcGetPTX(prog, buf)
        _check(nv, err, "nvrtcGetPTX", log)
        ptx = buf.rstrip(b"\0").decode()
        cubin = None
        if arch.startswith("sm_"):
            err, size = nv.nvrtcGetCUBINSize(prog)
            _check(nv, err, "nvrtcGetCUBINSize", log)
            if size:
                cbuf = b" " * size
                (err,) = nv.nvrtcGetCUBIN(prog, cbuf)
                _check(nv, err, "nvrtcGetCUBIN", log)
                cubin = bytes(cbuf)
        return CompileResult(ptx=ptx, cubin=cubin, log=log, arch=arch)
    finally:
        nv.nvrtcDestroyProgram(prog)


def _log(nv, prog) -> str:
    err, size = nv.nvrtcGetProgramLogSize(prog)
    if err != nv.nvrtcResult.NVRTC_SUCCESS or size <= 1:
        return ""
    buf = b" " * size
    nv.nvrtcGetProgramLog(prog, buf)
    return buf.rstrip(b"\0").decode(errors="replace")
