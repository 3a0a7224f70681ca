"""The DSL's vocabulary (``dsl/language.py``): every name a kernel calls is a documented Python function whose
example compiles, that raises outside a kernel, is exported from ``dsl``, and that the frontend dispatches
through its handler table (never by comparing names); unknown names suggest the closest known one."""

import ast
import inspect
import pydoc
import re
import textwrap

import numpy as np
import pytest

import dsl
from dsl import frontend, language, memory, operators, scopes
from dsl.frontend import Frontend
from dsl.types import DType, TensorType
from tests.kernel_source import kernel_from_source

NAMES = sorted(language.BUILTINS)
ALL_NAMES = {n for b in language.BUILTINS.values() for n in (b.name, *b.aliases)}


def example_of(b) -> str:
    """The code block under ``Example::`` in a builtin's docstring."""
    doc = inspect.cleandoc(b.fn.__doc__ or "")
    assert "Example::" in doc, f"{b.spelling} has no 'Example::' in its docstring"
    lines = doc.split("Example::", 1)[1].splitlines()
    block = []
    for line in lines[1:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip("\n") + "\n"


def _inputs(k):
    """Arrays of ones for a kernel's tensor parameters (all the examples take tensors only)."""
    ann = inspect.get_annotations(k.fn, eval_str=True)
    out = []
    for name in k.sig.parameters:
        t = ann[name]
        assert isinstance(t, TensorType), f"example kernels take tensors only: {name}"
        dt = {"bf16": np.uint16, "bool": np.bool_}.get(t.dtype.name) or np.dtype(
            {"f16": "float16", "f32": "float32", "f64": "float64", "i8": "int8", "i32": "int32",
             "i64": "int64"}[t.dtype.name])
        out.append(np.ones(t.shape, dt))
    return out


def test_the_vocabulary_is_complete():
    """Every name the frontend understood as a string before the registry is a builtin now."""
    want = {"copy", "copy_async", "wait", "alloc_barriers", "fill", "gemm", "gemm_async", "gemm_wait", "pointwise",
            "cast", "add", "sub", "mul", "div", "maximum", "minimum", "exp", "log", "sqrt", "abs", "sin", "cos",
            "tanh", "rsqrt", "neg", "reduce", "sum", "max", "min", "thread_id", "lane_id", "warp_id",
            "warpgroup_id", "cta_id", "cluster_id", "cluster_cta_id", "f16", "bf16", "f32", "f64", "i8", "i32",
            "i64", "float", "int", "mma_m16n8k16", "shfl_xor", "alloc_shared", "alloc_local", "barrier",
            "syncthreads", "arrive", "setmaxnreg", "kernel_scope", "cluster", "cta", "warpgroup", "warp",
            "thread", "elect_one", "view"}
    assert ALL_NAMES == want


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_has_a_signature_and_a_documented_example(name):
    b = language.BUILTINS[name]
    sig = inspect.signature(b.fn)
    assert b.fn.__name__ == name and b.form in language.FORMS
    doc = inspect.cleandoc(b.fn.__doc__ or "")
    assert len(doc.split("Example::")[0].strip()) > 40, f"{b.spelling}: explain what it does"
    src = example_of(b)
    assert "@dsl.kernel" in src
    called = f".{name}(" if b.form == language.METHOD else f"dsl.{name}("
    assert called in src, f"the example of {b.spelling} does not call it"
    assert b.keywords == tuple(p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY)


@pytest.mark.parametrize("name", NAMES)
def test_every_docstring_example_compiles_and_runs(name, tmp_path):
    b = language.BUILTINS[name]
    k, _ = kernel_from_source(tmp_path, example_of(b), stem=f"example_{name}")
    compiled = k.compile()
    if isinstance(compiled, dsl.ir.Program):   # kernel-scope collectives run on a mesh: compiling is the check
        return
    k(*_inputs(k))


@pytest.mark.parametrize("name", NAMES)
def test_calling_a_builtin_outside_a_kernel_raises(name):
    b = language.BUILTINS[name]
    with pytest.raises(dsl.DslError) as e:
        b.fn()
    assert f"{b.spelling} only works inside a @dsl.kernel function" in str(e.value)
    with pytest.raises(dsl.DslError, match="@dsl.kernel"):
        b.fn(1, 2, 3, dispatch="x")


def test_help_shows_signature_and_docstring():
    text = pydoc.render_doc(dsl.copy, renderer=pydoc.plaintext)
    assert "copy(dst, src, /, *, dispatch=None)" in text and "Example::" in text
    assert dsl.copy.__doc__ and "collectively over the current scope" in dsl.copy.__doc__
    assert "gemm(c, a, b, /, *, transpose_a=False, transpose_b=False, accumulate=True, dispatch=None)" in \
        pydoc.render_doc(dsl.gemm, renderer=pydoc.plaintext)
    assert str(inspect.signature(language.CASTS["f16"])) == "(x, /)"


def test_dsl_exports_every_builtin():
    for b in language.BUILTINS.values():
        assert b.name in dsl.__all__, b.name
        if b.exported:
            assert getattr(dsl, b.name) is b.fn
        else:   # a dtype: the annotation object, a cast only when called inside a kernel
            assert isinstance(getattr(dsl, b.name), DType) and language.CASTS[b.name] is b.fn
    assert all(hasattr(dsl, n) for n in dsl.__all__)
    assert len(dsl.__all__) == len(set(dsl.__all__))
    assert dsl.schedule.__module__.startswith("lowering") and dsl.f16 == DType("f16")


def test_handler_table_covers_exactly_the_registry():
    table = Frontend.HANDLERS
    assert set(table) == ALL_NAMES
    for name, (b, handler) in table.items():
        assert name in (b.name, *b.aliases) and handler is getattr(Frontend, b.handler)
    by_handler = {}
    for b in language.BUILTINS.values():
        by_handler.setdefault(b.handler, set()).add(b.name)
    assert by_handler["op_binary"] == set(operators.BINARY)
    assert by_handler["thread_index"] == set(frontend._IDS)
    assert by_handler["scope_level"] == set(scopes._SCOPES)
    assert {"max", "min", "sum"} == set(operators.REDUCE_KINDS)


def _functions(cls, names):
    for name in names:
        yield name, ast.parse(textwrap.dedent(inspect.getsource(getattr(cls, name))))


def _string_constants(node):
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_dispatch_never_compares_builtin_names():
    """``Frontend.call`` and the other places that resolve a name use the handler table only: no builtin
    name appears in them as a string; handlers do not re-dispatch on their ``name``; nothing compares the
    result of ``dsl_name`` with a string."""
    for name, tree in _functions(Frontend, ("call", "builtin", "call_stmt", "with_scope", "scope_guard",
                                            "unknown_function")):
        assert not _string_constants(tree) & ALL_NAMES, name
        assert "dsl_name" not in ast.unparse(tree) or name != "call", name
    for name, tree in _functions(Frontend, sorted({b.handler for b in language.BUILTINS.values()})):
        for cmp in (n for n in ast.walk(tree) if isinstance(n, ast.Compare)):
            sides = [cmp.left, *cmp.comparators]
            assert not (any(isinstance(s, ast.Name) and s.id == "name" for s in sides)
                        and any(_string_constants(s) for s in sides)), f"{name}: {ast.unparse(cmp)}"
    for mod in (frontend, operators, memory, scopes):
        for cmp in (n for n in ast.walk(ast.parse(inspect.getsource(mod))) if isinstance(n, ast.Compare)):
            text = ast.unparse(cmp)
            assert not ("dsl_name(" in text and _string_constants(cmp) & ALL_NAMES), f"{mod.__name__}: {text}"


KERNEL = """
@dsl.kernel(threads=32)
def k(x: dsl.Tensor[(4, 32), dsl.f32], y: dsl.Tensor[(4,), dsl.f32]):
    t = dsl.alloc_shared((4, 32), dsl.f32)
    {line}
"""


@pytest.mark.parametrize("line, message", [
    ("dsl.summ(y, x, dims=(1,))", "unknown DSL function dsl.summ; did you mean dsl.sum?"),
    ("dsl.cpy(t, x)", "unknown DSL function dsl.cpy; did you mean dsl.copy?"),
    ("dsl.frobnicate(t)", "unknown DSL function dsl.frobnicate (the names are in dsl.BUILTINS)"),
    ("fil(t, 0.0)", "unknown function 'fil'; did you mean dsl.fill?"),
    ("y[0] = math.exp(1.0)", "unknown function 'math.exp'; did you mean dsl.exp?"),
    ("dsl.copy(t.veiw((128,)), x.view((128,)))", "unknown tensor method t.veiw; did you mean t.view?"),
    ("with dsl.wrap():\n        pass",
     "'with' needs an execution scope (dsl.kernel_scope(), dsl.cluster(), dsl.cta(), dsl.warpgroup(), dsl.warp(), "
     "dsl.thread()); did you mean dsl.warp()?"),
    ("with dsl.thread()[dsl.elect_on()]:\n        pass",
     "unknown DSL function dsl.elect_on; did you mean dsl.elect_one?"),
])
def test_unknown_names_suggest_the_closest_known_one(tmp_path, line, message):
    k, path = kernel_from_source(tmp_path, KERNEL.format(line=line))
    with pytest.raises(dsl.DslError) as e:
        k.compile()
    msg = str(e.value)
    assert message in msg
    assert msg.startswith(f"{path}:7: ") and msg.rstrip().endswith("^"), msg     # file:line, the source, a caret


@pytest.mark.parametrize("line, message", [
    ("v = dsl.barrier()", "dsl.barrier() is a statement; it has no value"),
    ("dsl.warp()", "dsl.warp() is an execution scope: write 'with dsl.warp():'"),
    ("v = dsl.elect_one()", "dsl.elect_one() selects a thread: use it as a scope slice"),
    ("dsl.view(t, (128,))", "view is a tensor method: write T.view(...)"),
    ("dsl.sum(y, x, kind='max')", "unknown keyword 'kind' (allowed: ['dims', 'dispatch'])"),
    ("v = dsl.thread_id(1)", "dsl.thread_id() takes no arguments"),
    ("v = dsl.cta_id(3)", "dsl.cta_id(dim) takes a constant dim 0, 1 or 2"),
    ("v = dsl.f16(1.0, 2.0)", "dsl.f16(x) converts one scalar to f16"),
    ("v = dsl.add(1.0)", "dsl.add(a, b) takes two scalars (on tensors: dsl.add(dst, a, b))"),
    ("dsl.cast(y[0], x)", "dsl.cast(dst, src) converts a tensor"),
    ("v = t.view((128,), layuot=None)", "unknown keyword(s) ['layuot'] for T.view"),
])
def test_misplaced_or_misused_names_say_how_to_use_them(tmp_path, line, message):
    k, path = kernel_from_source(tmp_path, KERNEL.format(line=line))
    with pytest.raises(dsl.DslError) as e:
        k.compile()
    assert message in str(e.value) and f"{path}:7: " in str(e.value)


def test_aliases_casts_and_keyword_dims(tmp_path):
    k, _ = kernel_from_source(tmp_path, """
    @dsl.kernel(grid=(2, 3), threads=4)
    def k(a: dsl.Tensor[(3, 8), dsl.f32], b: dsl.Tensor[(3, 8), dsl.i32]):
        i = dsl.cta_id(dim=1)
        j = dsl.cta_id(0) * 4 + dsl.thread_id()
        a[i, j] = float(j) / 2.0 + dsl.f32(dsl.f16(0.5))
        b[i, j] = int(2.75) + max(i, j) + dsl.abs(-1)
    """)
    a, b = np.zeros((3, 8), np.float32), np.zeros((3, 8), np.int32)
    k(a, b)
    j = np.arange(8)
    assert np.array_equal(a, np.broadcast_to(j / 2 + 0.5, (3, 8)))
    assert np.array_equal(b, 3 + np.maximum(np.arange(3)[:, None], j[None, :]))


def test_bare_calls_and_dsl_calls_translate_alike(tmp_path):
    """A name called bare inside a kernel is looked up as ``dsl.<name>`` (``min``, ``abs``, ``copy``...)."""
    src = """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(32,), dsl.f32], y: dsl.Tensor[(32,), dsl.f32]):
        PREFIXcopy(y, x)
        y[dsl.thread_id()] = PREFIXmin(PREFIXabs(y[dsl.thread_id()]), 3.0)
    """
    bare, _ = kernel_from_source(tmp_path, src.replace("PREFIX", ""), stem="bare")
    qualified, _ = kernel_from_source(tmp_path, src.replace("PREFIX", "dsl."), stem="qualified")
    assert bare.stages()[0].body == qualified.stages()[0].body


def test_language_module_documents_forms_and_casts():
    doc = language.__doc__
    for word in ("CALL", "STATEMENT", "SCOPE", "SELECTOR", "METHOD", "float(x)", "dsl.f16"):
        assert word in doc
    assert re.search(r"dsl\.f16.*DType", doc, re.S)
