"""Kernels written by tests as source text: the frontend parses a kernel's source, so it must live in a file."""

from __future__ import annotations

import textwrap

from dsl.cli import load_module

HEADER = "import axe\nimport dsl\n"


def kernel_from_source(folder, src: str, name: str = "k", header: str = HEADER, stem: str | None = None):
    """``(kernel, path)``: ``src`` (dedented, after ``header``) written to a file in ``folder`` and imported."""
    path = folder / f"{stem or name + '_' + str(abs(hash(src)) % 10**8)}.py"
    path.write_text(header + textwrap.dedent(src))
    return getattr(load_module(path), name), path
