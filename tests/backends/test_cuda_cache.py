"""Compile-cache integrity: checksummed entries, repair of corrupted ones, stale temporaries, and
two processes compiling the same key at once."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time

import pytest

pytestmark = pytest.mark.nvrtc

from backends.cuda import cache  # noqa: E402
from backends.cuda import nvrtc as nv  # noqa: E402

SAXPY = r"""
extern "C" __global__ void saxpy(float a, const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A fresh cache directory and a list that records every NVRTC compile."""
    monkeypatch.setenv("AXE_CACHE_DIR", str(tmp_path))
    calls = []
    real = nv.compile_cuda

    def counting(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(nv, "compile_cuda", counting)
    return tmp_path, calls


def entry(root, source=SAXPY, arch="sm_80"):
    key = cache.cache_key(source, arch)
    return root / key[:2] / key


def test_json_records_checksums_of_what_was_written(cached):
    root, _ = cached
    r = cache.compile_cached(SAXPY, "sm_80")
    e = entry(root)
    meta = json.loads(e.with_suffix(".json").read_text())
    assert meta["format"] == cache.FORMAT and meta["key"] == e.name
    assert meta["ptx_sha256"] == hashlib.sha256(r.ptx.encode()).hexdigest() == \
        hashlib.sha256(e.with_suffix(".ptx").read_bytes()).hexdigest()
    assert meta["cubin_sha256"] == hashlib.sha256(r.cubin).hexdigest()
    assert meta["cubin_size"] == len(r.cubin) and meta["ptx_size"] == len(r.ptx.encode())


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix,damage", [
    (".cubin", _truncate), (".cubin", _flip_byte), (".cubin", lambda p: p.write_bytes(b"")),
    (".ptx", _truncate), (".ptx", _flip_byte), (".ptx", lambda p: p.write_bytes(b"\xff\xfe garbage")),
    (".json", lambda p: p.write_text("{not json")), (".json", lambda p: p.write_bytes(b"\x00\xff" * 7)),
    (".json", lambda p: p.write_text("[1, 2, 3]")), (".json", lambda p: p.write_text("{}")),
    (".json", _truncate),
], ids=["cubin-truncated", "cubin-bitflip", "cubin-empty", "ptx-truncated", "ptx-bitflip", "ptx-binary",
        "json-garbage", "json-binary", "json-list", "json-empty-object", "json-truncated"])
def test_damaged_entry_is_recompiled_and_repaired(cached, suffix, damage):
    root, calls = cached
    good = cache.compile_cached(SAXPY, "sm_80")
    assert len(calls) == 1
    e = entry(root)
    intact = {s: e.with_suffix(s).read_bytes() for s in (".ptx", ".cubin", ".json")}
    damage(e.with_suffix(suffix))
    assert e.with_suffix(suffix).read_bytes() != intact[suffix]
    assert cache.compile_cached(SAXPY, "sm_80") == good  # never the damaged bytes
    assert len(calls) == 2  # NVRTC ran again
    assert {s: e.with_suffix(s).read_bytes() for s in intact} == intact  # the entry is repaired
    assert cache.compile_cached(SAXPY, "sm_80") == good
    assert len(calls) == 2  # and serves hits again
    assert not list(root.rglob("*.tmp"))


def test_old_format_entry_without_checksums_is_rewritten(cached):
    root, calls = cached
    good = cache.compile_cached(SAXPY, "sm_80")
    e = entry(root)
    e.with_suffix(".json").write_text(json.dumps({"has_cubin": True, "log": ""}))  # the format-1 marker
    assert cache.compile_cached(SAXPY, "sm_80") == good and len(calls) == 2
    assert json.loads(e.with_suffix(".json").read_text())["format"] == cache.FORMAT


def test_marker_of_another_key_is_not_trusted(cached):
    root, calls = cached
    cache.compile_cached(SAXPY, "sm_80")
    e = entry(root)
    meta = json.loads(e.with_suffix(".json").read_text())
    meta["key"] = "0" * 64
    e.with_suffix(".json").write_text(json.dumps(meta))
    cache.compile_cached(SAXPY, "sm_80")
    assert len(calls) == 2


def test_ptx_only_entry_is_verified_too(cached):
    root, calls = cached
    good = cache.compile_cached(SAXPY, "compute_80")
    e = entry(root, arch="compute_80")
    assert good.cubin is None and not e.with_suffix(".cubin").exists()
    _truncate(e.with_suffix(".ptx"))
    assert cache.compile_cached(SAXPY, "compute_80") == good and len(calls) == 2
    assert cache.compile_cached(SAXPY, "compute_80") == good and len(calls) == 2


def _tmp_name(key, suffix, rand):
    return f"{key}{suffix}.{rand}.tmp"


def test_stale_temporaries_are_removed_and_fresh_ones_kept(cached):
    root, _ = cached
    key = cache.cache_key(SAXPY, "sm_80")
    other = "f" * 64 if key[:2] != "ff" else "e" * 64  # a temporary in another shard directory
    for k in (key, other):
        (root / k[:2]).mkdir(parents=True, exist_ok=True)
    old = time.time() - cache.STALE_TMP_SECONDS - 60
    stale = [root / key[:2] / _tmp_name(key, ".cubin", "abc_12"), root / other[:2] / _tmp_name(other, ".ptx", "zz9")]
    fresh = root / other[:2] / _tmp_name(other, ".json", "q1w2e3")  # another process is writing it now
    unrelated = [root / other[:2] / "notes.tmp", root / "x.ptx.abc.tmp", root / other[:2] / f"{other}.ptx"]
    for p in [*stale, fresh, *unrelated]:
        p.write_bytes(b"partial")
    for p in [*stale, *unrelated]:
        os.utime(p, (old, old))
    cache.compile_cached(SAXPY, "sm_80")
    assert [p.exists() for p in stale] == [False, False]
    assert fresh.exists()
    assert all(p.exists() for p in unrelated)  # only names the cache itself writes are ever removed


def test_clean_stale_tmp_reports_and_respects_max_age(tmp_path):
    shard = tmp_path / "ab"
    shard.mkdir()
    p = shard / _tmp_name("ab" * 32, ".ptx", "r4nd")
    p.write_bytes(b"x")
    assert cache.clean_stale_tmp(root=tmp_path) == 0 and p.exists()  # fresh
    assert cache.clean_stale_tmp(max_age=-1, root=tmp_path) == 1 and not p.exists()
    assert cache.clean_stale_tmp(root=tmp_path / "missing") == 0


def test_unwritable_cache_still_never_serves_a_corrupt_entry(cached, monkeypatch):
    root, calls = cached
    good = cache.compile_cached(SAXPY, "sm_80")
    _truncate(entry(root).with_suffix(".cubin"))

    def boom(src, dst):
        raise OSError("read-only file system")

    monkeypatch.setattr(cache.os, "replace", boom)
    for n in (2, 3):  # every call recompiles, since the repair cannot be written
        assert cache.compile_cached(SAXPY, "sm_80") == good and len(calls) == n
    assert not list(root.rglob("*.tmp"))


# --- two processes, one key ----------------------------------------------------------------------

def _compile_in_child(cache_root, source, barrier, results):
    os.environ["AXE_CACHE_DIR"] = cache_root
    barrier.wait(timeout=60)
    r = cache.compile_cached(source, "sm_80")
    results.put((hashlib.sha256(r.ptx.encode()).hexdigest(), hashlib.sha256(r.cubin).hexdigest()))


def _race(root, source, nproc=4):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(nproc), ctx.Queue()
    procs = [ctx.Process(target=_compile_in_child, args=(str(root), source, barrier, results))
             for _ in range(nproc)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return got


def _digests(r):
    return hashlib.sha256(r.ptx.encode()).hexdigest(), hashlib.sha256(r.cubin).hexdigest()


@pytest.mark.parametrize("corrupt_first", [False, True], ids=["empty-cache", "corrupted-entry"])
def test_processes_compiling_the_same_key_at_once(cached, corrupt_first):
    root, calls = cached
    source = SAXPY + f"// race {corrupt_first}\n"
    want = _digests(cache.compile_cached(source, "sm_80"))  # NVRTC is deterministic: every compile gives these
    calls.clear()
    e = entry(root, source)
    if corrupt_first:
        _truncate(e.with_suffix(".cubin"))
        e.with_suffix(".json").write_text("{garbage")
    else:
        for s in (".ptx", ".cubin", ".json"):
            e.with_suffix(s).unlink()
    assert _race(root, source) == [want] * 4  # every process got the right bytes
    assert not list(root.rglob("*.tmp"))
    hit = cache.compile_cached(source, "sm_80")  # and left one complete, valid entry
    assert _digests(hit) == want and calls == []
