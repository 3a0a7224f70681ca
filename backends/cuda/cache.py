"""On-disk cache of NVRTC results, keyed by sha256 of (source, options, arch, NVRTC version).

The directory is ``$AXE_CACHE_DIR`` or ``~/.cache/axe-dsl``; every file is written to a temporary
name in the same directory and moved into place with ``os.replace``, so a reader never sees a
partial entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from backends.cuda import nvrtc as _nv
from backends.cuda.nvrtc import CompileResult


def cache_dir() -> Path:
    """The cache directory (``$AXE_CACHE_DIR`` or ``~/.cache/axe-dsl``).

    >>> cache_dir().name != ""
    True
    """
    env = os.environ.get("AXE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "axe-dsl"


def cache_key(source: str, arch: str, options: tuple[str, ...] = ()) -> str:
    """The sha256 hex key of one compile.

    >>> len(cache_key("x", "sm_80"))  # doctest: +NVRTC
    64
    """
    blob = json.dumps([source, list(options), arch, list(_nv.nvrtc_version())]).encode()
    return hashlib.sha256(blob).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def compile_cached(source: str, arch: str = "sm_80", options: tuple[str, ...] = ()) -> CompileResult:
    """``compile_cuda`` through the on-disk cache: a hit returns without calling NVRTC.

    Compile errors are not cached; a cache directory that cannot be written is ignored.

    >>> r = compile_cached('extern "C" __global__ void k(int* x) { x[0] = 2; }', "sm_80")  # doctest: +NVRTC
    >>> r.cubin is not None  # doctest: +NVRTC
    True
    """
    _nv.check_arch(arch)
    options = tuple(options)
    key = cache_key(source, arch, options)
    entry = cache_dir() / key[:2] / key
    meta_path = entry.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text())
        ptx = (entry.with_suffix(".ptx")).read_text()
        cubin = entry.with_suffix(".cubin").read_bytes() if meta["has_cubin"] else None
        return CompileResult(ptx=ptx, cubin=cubin, log=meta["log"], arch=arch)
    except (OSError, ValueError, KeyError):
        pass
    result = _nv.compile_cuda(source, arch, options)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(entry.with_suffix(".ptx"), result.ptx.encode())
        if result.cubin is not None:
            _write_atomic(entry.with_suffix(".cubin"), result.cubin)
        # The metadata file is written last: its presence marks a complete entry.
        _write_atomic(meta_path, json.dumps({"has_cubin": result.cubin is not None, "log": result.log}).encode())
    except OSError:
        pass  # the cache is best-effort: an unwritable directory only costs a recompile next time
    return result
