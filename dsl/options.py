"""Command-line options shared by the examples: ``--backend cpu|cuda|auto``.

>>> backend_option(["--backend", "cpu"])
'cpu'
"""

from __future__ import annotations

import argparse
import sys

from lowering.ir.errors import DslError


def backend_option(argv=None, description: str | None = None) -> str:
    """The backend named by ``--backend`` in ``argv`` (default: ``sys.argv``): ``cpu``, ``cuda``, or ``auto``
    (the default: cuda when a GPU is present, else cpu). Other arguments are left alone."""
    p = argparse.ArgumentParser(description=description, add_help=False)
    p.add_argument("--backend", default="auto", choices=("cpu", "cuda", "auto"))
    ns, _ = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    if ns.backend == "cpu":
        return "cpu"
    try:
        from backends.cuda.driver import available  # late import: backends sit above dsl
    except ImportError as e:
        raise DslError(f"cannot check for a GPU: {e}") from None
    if ns.backend == "cuda" and not available():
        raise SystemExit("error: --backend cuda needs a CUDA GPU and driver, and none was found "
                         "(use --backend cpu, or python -m dsl compile to generate CUDA without a GPU)")
    return "cuda" if available() else "cpu"


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
