"""The architecture holds: one-way layers (import-linter's contract in pyproject.toml), no function-local
imports of our own packages, axe's modules import one another without cycles, and only the backend
registry knows backend names."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("axe", "lowering", "backends", "collectives", "dsl")


def _sources(*packages):
    for pkg in packages:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            yield f, f.read_text()


def _function_local_imports(tree):
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for n in ast.walk(fn):
                if isinstance(n, (ast.Import, ast.ImportFrom)):
                    yield n


def _top(n) -> str:
    return (n.module or "") if isinstance(n, ast.ImportFrom) else n.names[0].name


def test_function_local_imports_only_guard_optional_dependencies():
    bad = []
    for f, text in _sources(*PACKAGES):
        lines = text.splitlines()
        for n in _function_local_imports(ast.parse(text)):
            ours = getattr(n, "level", 0) > 0 or _top(n).split(".")[0] in PACKAGES
            said = any("optional dependency" in lines[i] for i in (n.lineno - 2, n.lineno - 1) if i >= 0)
            if ours or not said:
                bad.append(f"{f.relative_to(ROOT)}:{n.lineno}: {lines[n.lineno - 1].strip()}")
    assert not bad, "function-local imports of our packages, or without an 'optional dependency' comment:\n" + \
        "\n".join(bad)


def _axe_graph() -> dict:
    graph = {}
    for f, text in _sources("axe"):
        rel = f.relative_to(ROOT / "axe").with_suffix("")
        mod = ".".join(("axe",) + rel.parts).removesuffix(".__init__")
        pkg = mod if f.name == "__init__.py" else mod.rsplit(".", 1)[0]
        deps = set()
        for n in ast.parse(text).body:
            if isinstance(n, ast.ImportFrom) and n.level:
                base = pkg.rsplit(".", n.level - 1)[0] if n.level > 1 else pkg
                target = f"{base}.{n.module}" if n.module else base
                deps |= {target} if n.module else {f"{base}.{a.name}" for a in n.names}
            elif isinstance(n, ast.ImportFrom) and (n.module or "").startswith("axe"):
                deps.add(n.module)
        graph[mod] = {d for d in deps if d != mod}
    return graph


def test_axe_modules_import_each_other_without_cycles():
    graph = _axe_graph()
    known = set(graph)
    state: dict = {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", "import cycle in axe: " + " -> ".join(path + [m])
        state[m] = "open"
        for d in sorted(graph.get(m, ())):
            if d in known and not (m == "axe" or d == "axe"):   # the package facade re-exports everything
                visit(d, path + [m])
        state[m] = "done"

    for m in sorted(graph):
        visit(m, [])


def test_only_the_registry_compares_backend_names():
    """``dsl`` and ``collectives`` ask ``backends`` (the registry) instead of testing names."""
    bad = []
    for f, text in _sources("dsl", "collectives"):
        for n in ast.walk(ast.parse(text)):
            if isinstance(n, ast.Compare):
                consts = [c.value for c in [n.left, *n.comparators] if isinstance(c, ast.Constant)]
                if any(v in ("cpu", "cuda") for v in consts):
                    bad.append(f"{f.relative_to(ROOT)}:{n.lineno}")
    assert not bad, bad


def test_the_layers_contract_holds():
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is not installed (the [dev] extra)")
    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_no_script_folder_shadows_a_package():
    """A script runs with its own folder first on sys.path: ``benchmarks/collectives.py`` once hid the
    ``collectives`` package from every benchmark once ``dsl`` imported it at module top."""
    clashes = [f"{d}/{p}.py" for d in ("benchmarks", "examples") for p in PACKAGES if (ROOT / d / f"{p}.py").exists()]
    assert not clashes, clashes
