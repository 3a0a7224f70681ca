"""The CUDA backend's registry record: emit CUDA C++, compile with NVRTC, launch through the driver API
on the device's arch (``backends.cuda.run``); ahead of time, ``.cu``/``.ptx``/``.cubin`` for a named arch.

>>> import backends
>>> b = backends.get("cuda")
>>> b.lowering, b.default_arch, b.streams
('cuda', 'sm_90a', True)
"""

from __future__ import annotations

from ..registry import Backend, register
from .artifacts import write_artifacts
from .driver import available, bind_local_rank, target_arch
from .run import run


def _select() -> tuple:
    return "cuda", target_arch()


CUDA = register(Backend("cuda", "cuda", run, available=available, default_arch="sm_90a", select=_select,
                        write_artifacts=write_artifacts, streams=True, auto_priority=10,
                        bind_local_rank=bind_local_rank))
