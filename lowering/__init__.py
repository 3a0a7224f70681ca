"""Passes from the DSL's IR down to thread-level code (filled in by the DSL/CUDA issues)."""
