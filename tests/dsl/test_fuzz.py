"""Mutated kernels fail only with the project's own errors, and quickly.

A few small kernels (vector_add, a softmax over a register tile, a CTA-level gemm) are mutated at the AST
level: constants (0, -1, 2**31, 2**40, floats, strings), names swapped, ``dsl.<name>`` swapped, arguments
dropped or repeated, operators changed, statements dropped, repeated or reordered, layout text edited
character by character, annotations and decorator arguments changed. Each mutant is imported (which runs
``@dsl.kernel``), specialised on the CPU lowering with its seed's values and run on small inputs. Whatever
goes wrong must be an ``axe.AxeError`` (``DslError``, ``KernelRuntimeError``...) or an error Python raises in
the mutant's own code (a name it lacks at module level); a raw ``ValueError``/``TypeError``/``KeyError``/
``IndexError``/``RecursionError``... raised inside the project is a finding. Every compile and run must also
finish within ``LIMIT_S``.

``AXE_FUZZ_MUTANTS`` (default 60) and ``AXE_FUZZ_SEED`` scale and vary it:
``AXE_FUZZ_MUTANTS=5000 python -m pytest -q -s tests/dsl/test_fuzz.py`` prints the counts of each outcome.
"""

from __future__ import annotations

import ast
import copy
import os
import pathlib
import random
import signal
import threading
import time
import traceback
import warnings
from collections import Counter

import numpy as np
import pytest

import axe
import dsl
from dsl.cli import load_module

ROOT = pathlib.Path(__file__).resolve().parents[2]
OURS = tuple(str(ROOT / p) + "/" for p in ("axe", "lowering", "backends", "collectives", "dsl"))
LIMIT_S = 20.0           # per compile and per run of one mutant (they take milliseconds)
HEADER = "import axe\nimport dsl\n"

SEEDS = {
    "vector_add": ('''
N = dsl.dim("n")


@dsl.kernel(grid=lambda n: ((n + 127) // 128,), threads=128, example={"n": 300})
def k(a: dsl.Tensor[(N,), dsl.f32], b: dsl.Tensor[(N,), dsl.f32], c: dsl.Tensor[(N,), dsl.f32], n: dsl.i32):
    i = dsl.cta_id() * 128 + dsl.thread_id()
    if i < n:
        c[i] = a[i] + b[i]
''', {"n": 300}, lambda: (np.ones(300, np.float32), np.ones(300, np.float32), np.zeros(300, np.float32), 300)),
    "softmax": ('''
R, C = dsl.dim("rows"), dsl.dim("COLS")
TILE = axe.Layout.parse("S[(4,8,32,4):(1@warp,4@reg,1@lane,1@reg)]")
STAT = dsl.reduce_layout(TILE, (4, 1024), (1,), keepdims=True)


@dsl.kernel(grid=lambda rows: (rows // 4,), threads=128, example={"rows": 8, "COLS": 1024})
def k(x: dsl.Tensor[(R, C), dsl.f32], y: dsl.Tensor[(R, C), dsl.f32], rows: dsl.i32, COLS: dsl.const):
    t = dsl.alloc_local((4, COLS), dsl.f32, layout=TILE)
    m = dsl.alloc_local((4, 1), dsl.f32, layout=STAT)
    row0 = dsl.cta_id() * 4
    dsl.copy(t, x[row0:row0 + 4, 0:COLS])
    dsl.max(m, t, dims=(1,))
    dsl.pointwise(t, lambda v, mx: dsl.exp(v - mx), t, m)
    dsl.sum(m, t, dims=(1,))
    dsl.div(t, t, m)
    dsl.copy(y[row0:row0 + 4, 0:COLS], t)
''', {"rows": 8, "COLS": 1024},
        lambda: (np.ones((8, 1024), np.float32), np.zeros((8, 1024), np.float32), 8, 1024)),
    "gemm": ('''
C = axe.tile(axe.Layout.parse("S[(2,2,2,2):(2@warp,2@reg,1@warp,1@reg)]"),
             axe.presets.nvidia.mma_m16n8k16("C"), (4, 4), (16, 8))


@dsl.kernel(threads=128)
def k(a: dsl.Tensor[(64, 32), dsl.f16], bt: dsl.Tensor[(32, 32), dsl.f16], c: dsl.Tensor[(64, 32), dsl.f32]):
    As = dsl.alloc_shared((64, 32), dsl.f16)
    Bs = dsl.alloc_shared((32, 32), dsl.f16, layout="S[(32,32):(1,32)]")
    acc = dsl.alloc_local((64, 32), dsl.f32, layout=C)
    dsl.copy(As, a)
    dsl.copy(Bs, bt)
    dsl.barrier()
    dsl.gemm(acc, As, Bs, transpose_b=True, accumulate=False)
    dsl.copy(c, acc)
''', {}, lambda: (np.ones((64, 32), np.float16), np.ones((32, 32), np.float16), np.zeros((64, 32), np.float32))),
}

INTS = [0, 1, -1, 2, 3, 4, 7, 16, 31, 32, 33, 64, 127, 128, 1024, 2**31 - 1, 2**31, 2**40, -2**40]
OTHER_CONSTANTS = [0.0, 1.5, -2.0, 1e300, float("nan"), True, False, None, "f32", "S[4:1@m]", ""]
DSL_NAMES = sorted(set(dsl.BUILTINS) | {"f16", "bf16", "f32", "f64", "i8", "i32", "i64", "bool_", "Tensor", "dim",
                                        "const", "kernel", "reduce_layout", "nothing"})
EXTRA_NAMES = ["range", "dsl", "axe", "float", "int", "min", "max", "abs", "undefined_name", "print", "len"]
LAYOUT_CHARS = "[](),:@+-* 0123456789SRmreglanewarptx"
OPS = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.LShift, ast.RShift, ast.BitAnd, ast.Pow,
       ast.MatMult]
CMPS = [ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.Is, ast.In]


class _Slow(BaseException):
    """Raised by the timer (a BaseException: no ``except Exception`` in the project may swallow it)."""


def _mutate(tree: ast.Module, rng: random.Random, names: list) -> str:
    """Apply one random mutation to ``tree`` in place; returns its kind."""
    nodes = list(ast.walk(tree))

    def pick(kind):
        found = [n for n in nodes if isinstance(n, kind)]
        return rng.choice(found) if found else None

    kind = rng.choice(["int", "constant", "name", "dsl_name", "drop_argument", "repeat_argument", "operator",
                       "compare", "drop_statement", "repeat_statement", "swap_statements", "layout_text",
                       "tuple", "subscript", "negate", "keyword"])
    if kind == "int":
        n = pick(ast.Constant)
        if n is not None:
            n.value = rng.choice(INTS)
    elif kind == "constant":
        n = pick(ast.Constant)
        if n is not None:
            n.value = rng.choice(OTHER_CONSTANTS + INTS)
    elif kind == "name":
        n = pick(ast.Name)
        if n is not None:
            n.id = rng.choice(names)
    elif kind == "dsl_name":
        found = [n for n in nodes if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                 and n.value.id == "dsl"]
        if found:
            rng.choice(found).attr = rng.choice(DSL_NAMES)
    elif kind == "drop_argument":
        n = pick(ast.Call)
        if n is not None and (n.args or n.keywords):
            if n.args and (not n.keywords or rng.random() < 0.6):
                n.args.pop(rng.randrange(len(n.args)))
            else:
                n.keywords.pop(rng.randrange(len(n.keywords)))
    elif kind == "repeat_argument":
        n = pick(ast.Call)
        if n is not None and n.args:
            n.args.insert(rng.randrange(len(n.args) + 1), copy.deepcopy(rng.choice(n.args)))
    elif kind == "operator":
        n = pick(ast.BinOp)
        if n is not None:
            n.op = rng.choice(OPS)()
    elif kind == "compare":
        n = pick(ast.Compare)
        if n is not None:
            n.ops = [rng.choice(CMPS)() for _ in n.ops]
    elif kind in ("drop_statement", "repeat_statement", "swap_statements"):
        bodies = [n.body for n in nodes if isinstance(n, (ast.FunctionDef, ast.If, ast.For, ast.With))
                  and len(n.body) > 1]
        if bodies:
            body = rng.choice(bodies)
            i, j = rng.randrange(len(body)), rng.randrange(len(body))
            if kind == "drop_statement":
                body.pop(i)
            elif kind == "repeat_statement":
                body.insert(j, copy.deepcopy(body[i]))
            else:
                body[i], body[j] = body[j], body[i]
    elif kind == "layout_text":
        found = [n for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str) and "[" in n.value]
        if found:
            n = rng.choice(found)
            s, i = n.value, rng.randrange(len(n.value))
            op = rng.randrange(3)
            c = rng.choice(LAYOUT_CHARS)
            n.value = s[:i] + c + s[i + 1:] if op == 0 else s[:i] + s[i + 1:] if op == 1 else s[:i] + c + s[i:]
    elif kind == "tuple":
        n = pick(ast.Tuple)
        if n is not None and n.elts:
            if rng.random() < 0.5:
                n.elts.pop(rng.randrange(len(n.elts)))
            else:
                n.elts.insert(rng.randrange(len(n.elts) + 1), copy.deepcopy(rng.choice(n.elts)))
    elif kind == "subscript":
        n = pick(ast.Subscript)
        if n is not None:
            n.slice = rng.choice([ast.Constant(rng.choice(INTS)), ast.Slice(ast.Constant(0), ast.Constant(4)),
                                  ast.Name(rng.choice(names), ast.Load()), ast.Tuple([], ast.Load())])
    elif kind == "negate":
        n = pick(ast.BinOp)
        if n is not None:
            n.left = ast.UnaryOp(rng.choice([ast.USub(), ast.Not(), ast.Invert()]), n.left)
    elif kind == "keyword":
        n = pick(ast.keyword)
        if n is not None:
            if rng.random() < 0.5:
                n.arg = rng.choice(["threads", "grid", "example", "cluster", "multiple_of", "layout", "dims",
                                    "kind", "dispatch", "transpose_a", "accumulate", "where"])
            else:
                n.value = rng.choice([ast.Constant(rng.choice(INTS + OTHER_CONSTANTS)),
                                      ast.Tuple([ast.Constant(rng.choice(INTS))], ast.Load()),
                                      ast.Dict([ast.Constant("n")], [ast.Constant(rng.choice(INTS))])])
    ast.fix_missing_locations(tree)
    return kind


def _where(e: BaseException) -> str:
    """``file:line`` of the innermost frame of ``e``'s traceback."""
    tb = traceback.extract_tb(e.__traceback__)
    return f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"


def _inside_project(e: BaseException) -> bool:
    tb = traceback.extract_tb(e.__traceback__)
    return bool(tb) and tb[-1].filename.startswith(OURS)


def _timed(fn, limit: float):
    """``fn()`` with a wall-clock limit (SIGALRM, on the main thread where available)."""
    use = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if use:
        def on_alarm(signum, frame):
            raise _Slow()
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return fn()
    finally:
        if use:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _attempt(step: str, fn, outcome: Counter, findings: list, label: str, limit: float = LIMIT_S) -> bool:
    """Run one step of a mutant; True when it went through. Counts what happened."""
    t0 = time.perf_counter()
    try:
        _timed(fn, limit)
        return True
    except _Slow:
        findings.append(f"{label}: {step} took more than {limit} s")
        outcome[f"{step}: too slow"] += 1
    except axe.AxeError as e:
        outcome[f"{step}: {type(e).__name__}"] += 1
        text = str(e)
        if type(e).__name__ == "DslError" and step != "import" and ".py:" not in text.split("\n")[0]:
            outcome[f"{step}: DslError without a line"] += 1
    except RecursionError as e:
        findings.append(f"{label}: {step}: RecursionError at {_where(e)}")
        outcome[f"{step}: raw RecursionError"] += 1
    except Exception as e:
        if _inside_project(e):
            findings.append(f"{label}: {step}: raw {type(e).__name__}: {str(e)[:150]} at {_where(e)}")
            outcome[f"{step}: raw {type(e).__name__} in the project"] += 1
        else:
            outcome[f"{step}: Python error in the mutant's own code"] += 1
    finally:
        dt = time.perf_counter() - t0
        outcome["_max_seconds"] = max(outcome["_max_seconds"], dt)
    return False


def fuzz(folder: pathlib.Path, mutants: int, seed: int) -> tuple[Counter, list]:
    rng = random.Random(seed)
    outcome: Counter = Counter()
    findings: list = []
    for i in range(mutants):
        seed_name = rng.choice(sorted(SEEDS))
        tree = ast.parse(SEEDS[seed_name][0])
        names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | set(EXTRA_NAMES))
        kinds = [_mutate(tree, rng, names) for _ in range(rng.choice([1, 1, 2, 3]))]
        _try_mutant(folder / f"m{seed}_{i}.py", tree, seed_name, f"mutant {i} of {seed_name} ({', '.join(kinds)})",
                    outcome, findings)
    return outcome, findings


def _try_mutant(path: pathlib.Path, tree, seed_name: str, label: str, outcome: Counter, findings: list) -> None:
    """Import, specialise and run one mutant, counting what happens."""
    _, values, args = SEEDS[seed_name]
    try:
        text = ast.unparse(tree)
        compile(text, "<mutant>", "exec")
    except (SyntaxError, ValueError, TypeError, RecursionError):
        outcome["not Python"] += 1
        return
    path.write_text(HEADER + text + "\n")
    label = f"{label} [{path}]"
    mod = {}

    def load():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod["m"] = load_module(path, f"fuzz_{path.stem}")
    if not _attempt("import", load, outcome, findings, label):
        return
    k = getattr(mod["m"], "k", None)
    if not isinstance(k, dsl.KernelFunction):
        outcome["no kernel"] += 1
        return
    if not _attempt("compile", lambda: k.specialise(**values), outcome, findings, label):
        return
    if not _attempt("run", lambda: k(*args()), outcome, findings, label):
        return
    outcome["compiled and ran"] += 1


def test_mutated_kernels_fail_only_with_our_errors(tmp_path):
    mutants = int(os.environ.get("AXE_FUZZ_MUTANTS", "60"))
    seed = int(os.environ.get("AXE_FUZZ_SEED", "0"))
    outcome, findings = fuzz(tmp_path, mutants, seed)
    summary = ", ".join(f"{k}: {v:.2f}" if k == "_max_seconds" else f"{k}: {v}" for k, v in sorted(outcome.items()))
    print(f"\n{mutants} mutants (seed {seed}): {summary}")
    assert not findings, "\n".join(findings[:20])
    assert outcome["compiled and ran"] > 0            # the mutations leave some kernels working


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_the_seeds_compile_and_run(tmp_path, name):
    src, values, args = SEEDS[name]
    path = tmp_path / f"seed_{name}.py"
    path.write_text(HEADER + src)
    k = load_module(path, f"fuzz_seed_{name}").k
    k.specialise(**values)
    k(*args())
