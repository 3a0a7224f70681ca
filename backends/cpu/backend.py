"""The CPU backend's registry record: runs thread-level IR in the numpy SIMT interpreter.

``AXE_CPU_LOWERING=cuda`` makes it run the CUDA lowering (CUDA schedules and intrinsics, for
``AXE_CPU_LOWERING_ARCH``, default sm_90a): how the CUDA code paths are checked against numpy on
machines without a GPU.

>>> import backends
>>> backends.get("cpu").lowering_and_arch()
('cpu', None)
"""

from __future__ import annotations

import os
import pathlib

from lowering.ir.errors import DslError
from lowering.printer import to_text

from ..registry import Backend, register
from .interp import run as interpret


def _run(kernel, args, *, arch=None, stream=None) -> None:
    if stream is not None:
        raise DslError(f"kernel {kernel.name!r}: stream= is for backend='cuda'")
    interpret(kernel, args)


def _select() -> tuple:
    lowering = os.environ.get("AXE_CPU_LOWERING", "cpu")
    if lowering not in ("cpu", "cuda"):
        raise DslError(f"AXE_CPU_LOWERING must be 'cpu' or 'cuda', got {lowering!r}")
    return lowering, (os.environ.get("AXE_CPU_LOWERING_ARCH", "sm_90a") if lowering == "cuda" else None)


def _write_ir(name: str, final, out_dir, arch, echo) -> list:
    """The thread-level IR as text (``lowering.printer`` reads it back)."""
    f = pathlib.Path(out_dir) / f"{name}.ir"
    f.write_text(to_text(final) + "\n")
    echo(f"{name}: thread-level IR -> {f}")
    return [f]


CPU = register(Backend("cpu", "cpu", _run, select=_select, write_artifacts=_write_ir, auto_priority=0))
