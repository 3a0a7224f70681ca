"""The CUDA target: thread-level IR -> CUDA C++ (``emit_cuda``), compiled by ``backends.cuda``."""

from .emit import CudaSource, emit_cuda, sanitize

__all__ = ["CudaSource", "emit_cuda", "sanitize"]
