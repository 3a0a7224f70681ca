"""On-disk cache of NVRTC results, keyed by sha256 of (source, options, arch, NVRTC version).

The directory is ``$AXE_CACHE_DIR`` or ``~/.cache/axe-dsl``. An entry is ``<key>.ptx``,
``<key>.cubin`` (real ``sm_*`` targets only) and ``<key>.json``, in the subdirectory ``key[:2]``.
Every file is written to a temporary name (``<file>.<random>.tmp``) in the same directory and moved
into place with ``os.replace``, and the ``.json`` goes last: it marks the entry complete and records
the sha256 and size of the PTX and cubin bytes. A load checks both against it, so a truncated or
corrupted file, or a ``.json`` that does not parse, is never served: the source is recompiled and
the entry rewritten. Temporaries older than ``STALE_TMP_SECONDS`` (left by a process killed
mid-write) are removed when the cache is used; younger ones may belong to a writer at work and are
left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

from backends.cuda import nvrtc as _nv
from backends.cuda.nvrtc import CompileResult

#: Format of the ``.json`` marker; an entry in another format is recompiled and rewritten.
FORMAT = 2
#: A temporary file older than this (seconds) is taken to be abandoned and removed.
STALE_TMP_SECONDS = 600.0

# <key>.<ptx|cubin|json>.<mkstemp's random part>.tmp inside a two-hex-digit shard directory: nothing
# else is ever removed, whatever $AXE_CACHE_DIR points at.
_TMP_NAME = re.compile(r"^[0-9a-f]{64}\.(ptx|cubin|json)\.[A-Za-z0-9_]+\.tmp$")
_SHARD_NAME = re.compile(r"^[0-9a-f]{2}$")
_swept: set[str] = set()  # cache directories this process has already swept for stale temporaries


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clean_dir(shard: Path, older_than: float) -> int:
    removed = 0
    try:
        names = os.listdir(shard)
    except OSError:
        return 0
    for name in names:
        if not _TMP_NAME.match(name):
            continue
        path = shard / name
        try:
            if os.stat(path).st_mtime < older_than:
                os.unlink(path)
                removed += 1
        except OSError:
            pass  # gone already (another process cleaned it or its writer finished) or not ours to remove
    return removed


def clean_stale_tmp(max_age: float = STALE_TMP_SECONDS, root: Path | None = None) -> int:
    """Remove the cache's temporary files older than ``max_age`` seconds; returns how many went.

    Only names this module writes (``<key>.<ptx|cubin|json>.<random>.tmp`` in a ``key[:2]`` shard
    directory) are considered; a younger temporary may be another process writing now and stays.

    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "ab").mkdir()
    >>> stale = d / "ab" / ("ab" * 32 + ".ptx.x1y2.tmp")
    >>> _ = stale.write_bytes(b"half a PTX file")
    >>> os.utime(stale, (0, 0))  # written in 1970: abandoned
    >>> clean_stale_tmp(root=d), stale.exists()
    (1, False)
    >>> import shutil; shutil.rmtree(d)
    """
    root = cache_dir() if root is None else Path(root)
    older_than = time.time() - max_age
    try:
        shards = [e.path for e in os.scandir(root) if _SHARD_NAME.match(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    return sum(_clean_dir(Path(s), older_than) for s in shards)


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


def _load(entry: Path, key: str, arch: str) -> CompileResult | None:
    """The entry's result if it is complete and every file matches the checksums in its ``.json``."""
    try:
        meta = json.loads(entry.with_suffix(".json").read_bytes())
        if not (isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("key") == key
                and isinstance(meta.get("log"), str) and isinstance(meta.get("has_cubin"), bool)):
            return None
        ptx = entry.with_suffix(".ptx").read_bytes()
        if len(ptx) != meta.get("ptx_size") or _sha256(ptx) != meta.get("ptx_sha256"):
            return None
        cubin = None
        if meta["has_cubin"]:
            cubin = entry.with_suffix(".cubin").read_bytes()
            if len(cubin) != meta.get("cubin_size") or _sha256(cubin) != meta.get("cubin_sha256"):
                return None
        return CompileResult(ptx=ptx.decode("utf-8"), cubin=cubin, log=meta["log"], arch=arch)
    except (OSError, ValueError):  # missing file, unreadable, JSON or UTF-8 that does not decode
        return None


def _store(entry: Path, key: str, result: CompileResult) -> None:
    ptx = result.ptx.encode("utf-8")
    meta = {"format": FORMAT, "key": key, "has_cubin": result.cubin is not None, "log": result.log,
            "ptx_size": len(ptx), "ptx_sha256": _sha256(ptx)}
    _write_atomic(entry.with_suffix(".ptx"), ptx)
    if result.cubin is not None:
        meta.update(cubin_size=len(result.cubin), cubin_sha256=_sha256(result.cubin))
        _write_atomic(entry.with_suffix(".cubin"), result.cubin)
    # The metadata file is written last: its presence marks a complete entry, and its checksums let a
    # reader reject a file another writer or a crash left half-written.
    _write_atomic(entry.with_suffix(".json"), json.dumps(meta).encode())


def compile_cached(source: str, arch: str = "sm_80", options: tuple[str, ...] = ()) -> CompileResult:
    """``compile_cuda`` through the on-disk cache: a verified hit returns without calling NVRTC.

    A missing, partial or corrupted entry (a file whose sha256 or size differs from the ``.json``,
    or a ``.json`` that does not parse) is recompiled and rewritten. Compile errors are not cached;
    a cache directory that cannot be written is ignored.

    >>> r = compile_cached('extern "C" __global__ void k(int* x) { x[0] = 2; }', "sm_80")  # doctest: +NVRTC
    >>> r.cubin is not None  # doctest: +NVRTC
    True
    """
    _nv.check_arch(arch)
    options = tuple(options)
    key = cache_key(source, arch, options)
    root = cache_dir()
    entry = root / key[:2] / key
    if str(root) not in _swept:  # once per process and directory: temporaries left by killed writers
        _swept.add(str(root))
        clean_stale_tmp(root=root)
    hit = _load(entry, key, arch)
    if hit is not None:
        return hit
    result = _nv.compile_cuda(source, arch, options)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        _clean_dir(entry.parent, time.time() - STALE_TMP_SECONDS)
        _store(entry, key, result)
    except OSError:
        pass  # the cache is best-effort: an unwritable directory only costs a recompile next time
    return result
