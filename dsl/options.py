"""Command-line options shared by the examples: ``--backend cpu|cuda|auto`` (the registered backends).

>>> backend_option(["--backend", "cpu"])
'cpu'
"""

from __future__ import annotations

import argparse
import sys

import backends


def backend_option(argv=None, description: str | None = None) -> str:
    """The backend named by ``--backend`` in ``argv`` (default: ``sys.argv``): a registered backend
    (``cpu``, ``cuda``, ...) or ``auto`` (the default: the best available, cuda when a GPU is present).
    Other arguments are left alone."""
    p = argparse.ArgumentParser(description=description, add_help=False)
    p.add_argument("--backend", default="auto", choices=backends.names())
    ns, _ = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    if ns.backend == "auto":
        return backends.resolve("auto").name
    if not backends.get(ns.backend).available():
        raise SystemExit(f"error: --backend {ns.backend} is not available on this machine (the cuda backend "
                         f"needs a CUDA GPU and driver; use --backend cpu, or python -m dsl compile to "
                         f"generate CUDA without a GPU)")
    return ns.backend


def positional(argv=None) -> list:
    """The arguments that are not ``--backend`` options (e.g. sizes)."""
    args = list(sys.argv[1:] if argv is None else argv)
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "--backend":
            skip = True
        elif not a.startswith("--backend="):
            out.append(a)
    return out
