"""Execution backends, each a ``Backend`` record in one registry: ``cpu`` (numpy SIMT interpreter) and
``cuda`` (NVRTC + driver). Importing this package registers both.

>>> import backends
>>> backends.names()
('cpu', 'cuda', 'auto')
"""

from .cpu import backend as _cpu  # noqa: F401  (registers "cpu")
from .cuda import backend as _cuda  # noqa: F401  (registers "cuda")
from .registry import Backend, all_backends, bind_local_rank, get, names, register, resolve, unregister

__all__ = ["Backend", "all_backends", "bind_local_rank", "get", "names", "register", "resolve", "unregister"]
