"""Ahead-of-time output of the CUDA backend (``python -m dsl compile``): ``.cu``, ``.ptx`` and ``.cubin``
per kernel segment, with the registers, stack and spills ptxas reports. No GPU needed.

>>> _usage("ptxas info: Used 40 registers, 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads")
'40 registers, 0 B stack, spills 0/0 B'
"""

from __future__ import annotations

import pathlib
import re

from lowering import ir
from lowering.cuda import emit_cuda

from .nvrtc import compile_cuda


def _usage(log: str) -> str:
    regs = re.search(r"Used (\d+) registers", log)
    spill = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log)
    stack = re.search(r"(\d+) bytes stack frame", log)
    return (f"{regs.group(1) if regs else '?'} registers, "
            f"{stack.group(1) if stack else '?'} B stack, "
            f"spills {spill.group(1) + '/' + spill.group(2) + ' B' if spill else '?'}")


def write_artifacts(name: str, final, out_dir, arch: str, echo) -> list:
    """Emit, compile and write every kernel segment of ``final`` (an ``ir.Kernel``, or an ``ir.Program`` split
    around device collectives: one kernel per local segment); returns the files written."""
    out = pathlib.Path(out_dir)
    if isinstance(final, ir.Program):
        segs = [s.kernel for s in final.steps if isinstance(s, ir.Launch)]
        calls = [s.name for s in final.steps if isinstance(s, ir.HostCall)]
        echo(f"{name}: {len(segs)} kernel segment(s) around host collective(s) {calls}")
    else:
        segs = [final]
    written = []
    for seg in segs:
        src = emit_cuda(seg)
        res = compile_cuda(src.code, arch, options=("--ptxas-options=-v",), name=f"{seg.name}.cu")
        files = [(out / f"{seg.name}.cu", src.code.encode()), (out / f"{seg.name}.ptx", res.ptx.encode())]
        if res.cubin is not None:
            files.append((out / f"{seg.name}.cubin", res.cubin))
        for f, data in files:
            f.write_bytes(data)
            written.append(f)
        echo(f"{seg.name} [{arch}] grid {tuple(seg.grid)} x {seg.threads} threads: {_usage(res.log)}, "
             f"{src.shared_bytes} B shared -> {', '.join(str(f) for f, _ in files)}")
    return written
