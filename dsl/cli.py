"""``python -m dsl``: ahead-of-time compilation of the kernels in a file, no GPU needed.

``python -m dsl compile FILE [--kernel NAME] [--target cuda] [--arch sm_90a] [-o DIR] [--dump-ir] [--explain]``
imports FILE, compiles every ``@dsl.kernel`` at its example specialisation (``example={...}``), writes
``NAME.cu``, ``NAME.ptx`` and ``NAME.cubin`` to DIR and prints registers, shared memory and spills.
``--target cpu`` stops at the thread-level IR (written as ``NAME.ir``); ``--explain`` prints, for each
operator, the schedules dispatch tries in priority order and why each declines. Errors exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys

import axe
import backends
from lowering.pretty import pretty

from .kernel import KernelFunction


def load_module(path, name: str | None = None):
    """Import the Python file ``path`` as module ``name`` (default: its stem), its folder importable while it
    runs; kernels need their source in a file, so tools and tests load example files this way.

    >>> load_module("no/such/file.py")
    Traceback (most recent call last):
    ...
    axe.errors.AxeError: no such file: no/such/file.py
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise axe.AxeError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(path.parent))
    return mod


def _kernels(mod, only):
    ks = [(n, k) for n, k in vars(mod).items() if isinstance(k, KernelFunction) and k.fn.__module__ == mod.__name__]
    if only:
        missing = set(only) - {n for n, _ in ks}
        if missing:
            raise axe.AxeError(f"no kernel named {sorted(missing)} in {mod.__file__} (have {[n for n, _ in ks]})")
        ks = [(n, k) for n, k in ks if n in only]
    if not ks:
        raise axe.AxeError(f"no @dsl.kernel in {mod.__file__}")
    return ks


def compile_file(path, kernels=(), target="cuda", arch="sm_90a", out_dir=".", dump_ir=False, echo=print,
                 explain=False) -> list:
    """Compile the kernels of ``path`` for backend ``target`` (its ahead-of-time artifacts, e.g. .cu/.ptx/
    .cubin for cuda, thread-level IR text for cpu); returns the written files. With ``explain``, print for
    each operator the schedules dispatch tries (highest priority first) and their verdicts, and write
    nothing."""
    be = backends.get(target)
    arch = arch if be.default_arch is not None else None   # a backend without an arch lowers for none
    mod = load_module(path)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, k in _kernels(mod, kernels):
        values = dict(k.example)
        k.check_multiples(values)      # the example specialisation must meet the kernel's stated multiples
        try:
            consts = {c: values[c] for c in k.const_names()}
            grid = k.resolve_grid(values)
        except KeyError as e:
            raise axe.AxeError(f"kernel {name!r} needs example={{...}} values for {e} to be compiled ahead of "
                               f"time") from None
        if explain:
            echo(f"// ---- {name}: dispatch for {target}" + (f" ({arch})" if arch else ""))
            echo(k.explain(target, arch, **values))
            continue
        passes = k.passes(grid, target, k.divisible(values), arch, **consts)
        if dump_ir:
            for pname, node in passes:
                echo(f"// ---- {name}: after {pname}\n{pretty(node)}")
        written += be.write_artifacts(name, passes[-1][1], out, arch, echo)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dsl", description="Compile @dsl.kernel functions ahead of time.")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile", help="compile every kernel of a file at its example specialisation")
    c.add_argument("file")
    c.add_argument("--kernel", action="append", default=[], help="only this kernel (repeatable)")
    c.add_argument("--target", choices=[n for n in backends.names() if n != "auto"], default="cuda",
                   help="the backend whose artifacts to write (cuda: .cu/.ptx/.cubin; cpu: thread-level IR)")
    c.add_argument("--arch", default="sm_90a")
    c.add_argument("-o", "--output", default=".")
    c.add_argument("--dump-ir", action="store_true", help="print the IR after every pass")
    c.add_argument("--explain", action="store_true",
                   help="print, for each operator, the schedules tried in priority order and why each declines "
                        "(writes nothing)")
    ns = p.parse_args(argv)
    try:
        compile_file(ns.file, ns.kernel, ns.target, ns.arch, ns.output, ns.dump_ir, explain=ns.explain)
    except axe.AxeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
