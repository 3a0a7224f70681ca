"""Every user error is a ``DslError`` (or, found while running, a ``KernelRuntimeError``) at the user's line,
naming what is wrong and what was expected: malformed annotations and decorator arguments (at the def line,
when ``@dsl.kernel`` runs), misused names and constants (at the statement), wrong arguments (at the call).
Each case here raised a raw ValueError / TypeError / AttributeError / OverflowError from inside the project,
or was silently accepted, before."""

import re

import numpy as np
import pytest

import dsl
from backends.cpu import run
from tests.kernel_source import kernel_from_source

HEADER_LINES = 2        # kernel_from_source writes "import axe\nimport dsl\n" first


def source(tmp_path, src, stem="k"):
    """``(kernel or the DslError its decorator raised, path)``."""
    path = tmp_path / f"{stem}.py"
    try:
        return kernel_from_source(tmp_path, src, stem=stem)[0], path
    except dsl.DslError as e:
        return e, path


def at_line(error, path, line: int) -> str:
    text = str(error)
    assert text.startswith(f"{path}:{line + HEADER_LINES}: "), text
    return text


# -- annotations: at the parameter (the def line), when the decorator runs -------------------------------
@pytest.mark.parametrize("annotation, message", [
    ("dsl.Tensor[(4,)]", "dsl.Tensor\\[\\(4,\\)\\] needs a shape and a dtype"),
    ('dsl.Tensor[4, "f32"]', "the dtype must be one of dsl.f16, .* \\(write dsl.f32\\), got 'f32'"),
    ("dsl.Tensor[(4,), 3]", "the dtype must be one of .*got 3"),
    ("dsl.Tensor[dsl.f32]", "dsl.Tensor\\[dsl.f32\\] needs a shape and a dtype"),
    ("dsl.Tensor[(4,), dsl.f32, None, 1]", "takes a shape, a dtype and optionally a layout; got 4 items"),
    ("dsl.Tensor[(4.0,), dsl.f32]", "dim 4.0 \\(float\\) must be a positive int"),
    ("dsl.Tensor[(-4,), dsl.f32]", "dim -4 must be a positive int"),
    ("dsl.Tensor[(0,), dsl.f32]", "dim 0 must be a positive int"),
    ("dsl.Tensor[(2**40,), dsl.f32]", "dim 1099511627776 must be a positive int below 2\\*\\*31"),
    ("dsl.Tensor[(True,), dsl.f32]", "dim True \\(bool\\)"),
    ("dsl.Tensor[(), dsl.f32]", "the shape has no dims"),
    ("dsl.Tensor[[4], dsl.f32]", "the shape must be a tuple of dims, got list"),
    ('dsl.Tensor[(dsl.dim("q"),), dsl.f32]', "dim 'q' names no parameter of the kernel"),
    ('dsl.Tensor[(dsl.dim("x"),), dsl.f32]', "dim 'x' names parameter 'x', annotated dsl.f32; a dim is an integer"),
    ('dsl.Tensor[(dsl.dim("b"),), dsl.f32]', "dim 'b' names parameter 'b', a tensor"),
    ("dsl.Tensor[(4,), dsl.f32, 7]", "the layout must be an axe.Layout or its text, got int"),
    ("dsl.Tensor", "dsl.Tensor needs a shape and a dtype"),
    ("int", "unsupported annotation <class 'int'>"),
])
def test_malformed_annotations_are_reported_at_the_parameter(tmp_path, annotation, message):
    e, path = source(tmp_path, f"""
    @dsl.kernel(threads=32)
    def k(a: {annotation}, b: dsl.Tensor[(4,), dsl.f32], x: dsl.f32):
        b[0] = x
    """)
    assert isinstance(e, dsl.DslError), e
    text = at_line(e, path, 3)
    assert "kernel 'k': parameter 'a': " in text
    assert re.search(message, text), text


def test_a_parameter_on_its_own_line_is_reported_there(tmp_path):
    e, path = source(tmp_path, """
    @dsl.kernel(threads=32)
    def k(b: dsl.Tensor[(4,), dsl.f32],
          a: dsl.Tensor[(4,)]):
        b[0] = 1.0
    """)
    assert "parameter 'a'" in at_line(e, path, 4)


@pytest.mark.parametrize("signature, message", [
    ("a: dsl.Tensor[(4,), dsl.f32], *rest", "parameter 'rest': kernel parameters are plain positional"),
    ("a: dsl.Tensor[(4,), dsl.f32], n: dsl.i32 = 3", "parameter 'n' has a default value"),
    ("a: dsl.Tensor[(4,), dsl.f32], n", "parameter 'n' needs an annotation"),
])
def test_parameters_are_plain_and_annotated(tmp_path, signature, message):
    e, path = source(tmp_path, f"""
    @dsl.kernel(threads=32)
    def k({signature}):
        a[0] = 1.0
    """)
    assert message in at_line(e, path, 3)


def test_annotations_kept_as_text_are_read_in_the_closure(tmp_path):
    """``from __future__ import annotations``: a factory's argument used in an annotation resolves."""
    k, _ = kernel_from_source(tmp_path, """
    from __future__ import annotations
    import dsl

    def make(n):
        @dsl.kernel(threads=4)
        def k(a: dsl.Tensor[(n,), dsl.i32]):
            a[dsl.thread_id()] = n
        return k

    k = make(4)
    """, header="")
    a = np.zeros(4, np.int32)
    k(a)
    assert a.tolist() == [4] * 4
    with pytest.raises(dsl.DslError, match="cannot evaluate the annotation 'dsl.Tensor.*NameError") as e:
        kernel_from_source(tmp_path, """
        from __future__ import annotations
        import dsl

        @dsl.kernel(threads=4)
        def k(a: dsl.Tensor[(missing,), dsl.i32]):
            a[0] = 1
        """, header="", stem="k2")
    assert str(e.value).startswith(f"{tmp_path / 'k2.py'}:6: kernel 'k': ")


def test_layout_text_errors_keep_the_text_and_its_caret(tmp_path):
    e, path = source(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(4,), dsl.f32, "S[4:1@m,,]"]):
        a[0] = 1.0
    """)
    lines = at_line(e, path, 3).splitlines()
    assert "parameter 'a': bad layout text at column 9" in lines[0]
    assert lines[1].strip() == "S[4:1@m,,]" and lines[2].index("^") - lines[1].index("S") == 8
    k, path = source(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32]):
        r = dsl.alloc_local((32,), dsl.f32, layout="S[32:1@lane,,]")
        dsl.copy(a, r)
    """, stem="k2")
    with pytest.raises(dsl.DslError) as e:
        k.compile()
    lines = at_line(e.value, path, 4).splitlines()
    assert lines[1].strip() == "S[32:1@lane,,]" and lines[2].index("^") - lines[1].index("S") == 12
    assert 'layout="S[32:1@lane,,]"' in lines[3]       # then the kernel's own line


def test_symbolic_layouts_are_refused(tmp_path):
    k, path = source(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(4,), dsl.f32]):
        s = dsl.alloc_shared((4,), dsl.f32, layout="S[4:n@m]")
        dsl.copy(a, s)
    """)
    with pytest.raises(dsl.DslError, match="layout 'S\\[4:n@m\\]' has symbolic parts \\(n\\)") as e:
        k.compile()
    at_line(e.value, path, 4)


# -- decorator arguments: at the def line ------------------------------------------------------------------
@pytest.mark.parametrize("arguments, message", [
    ('threads="128"', "threads= is the number of threads per CTA, an int in 1..1024; got '128'"),
    ("threads=0", "an int in 1..1024; got 0"),
    ("threads=32.0", "got 32.0"),
    ("threads=True", "got True"),
    ('grid="x"', "grid= must be 1-3 positive ints; got 'x'"),
    ("grid=(0,)", "grid= must be 1-3 positive ints; got \\(0,\\)"),
    ("grid=(1, 1, 1, 1)", "grid= must be 1-3 positive ints"),
    ("grid=lambda q: (q,)", "grid= function: its parameter 'q' is not a parameter of the kernel"),
    ("grid=lambda a: (4,)", "grid= function: its parameter 'a' is a tensor"),
    ('cluster=(2, "a")', "cluster= must be 1-3 positive ints; got \\(2, 'a'\\)"),
    ("cluster=(32,)", "cluster= has at most 16 CTAs"),
    ("example=[1]", "example= maps parameter names to values .* got list \\[1\\]"),
    ('example={"zz": 1}', "example= names 'zz', which is not a parameter of the kernel"),
    ('example={"nn": 1}', "example= names 'nn', which is not a parameter of the kernel; did you mean 'n'\\?"),
    ('example={"a": 1}', "example= gives tensor parameter 'a'"),
    ('example={"n": 2.5}', "example=: n must be an integer \\(dsl.i32\\), got 2.5"),
    ('example={"n": 2**40}', "example=: n = 1099511627776 does not fit in i32"),
    ('multiple_of={"n": 0}', "multiple_of\\['n'\\] must be a positive int, got 0"),
    ("multiple_of=[1]", "multiple_of= maps parameter names to values"),
    ('multiple_of={"a": 4}', "multiple_of names 'a', which is not an integer scalar parameter"),
    ("thread=32", "unknown argument\\(s\\) 'thread' \\(did you mean threads=\\?\\)"),
])
def test_decorator_arguments_are_checked_at_the_def_line(tmp_path, arguments, message):
    e, path = source(tmp_path, f"""
    @dsl.kernel({arguments})
    def k(a: dsl.Tensor[(32,), dsl.f32], n: dsl.i32):
        a[0] = 1.0
    """)
    assert isinstance(e, dsl.DslError), e
    assert re.search(message, at_line(e, path, 3)), str(e)


def test_positional_decorator_arguments_are_refused_at_the_decorator(tmp_path):
    e, path = source(tmp_path, """
    @dsl.kernel((2,), 128)
    def k(a: dsl.Tensor[(32,), dsl.f32]):
        a[0] = 1.0
    """)
    assert "@dsl.kernel takes keyword arguments" in at_line(e, path, 2)


def test_a_grid_function_that_fails_is_reported_at_the_call(tmp_path):
    k, path = source(tmp_path, """
    @dsl.kernel(grid=lambda n: (128 // n,), threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32], n: dsl.i32):
        a[0] = 1.0
    """)
    with pytest.raises(dsl.DslError, match="its grid function .* raised ZeroDivisionError") as e:
        k.specialise(n=0)
    assert str(e.value).startswith(f"{__file__}:")
    assert f"(at {path}:5)" in str(e.value)


# -- statements: at their line -----------------------------------------------------------------------------
BIG = 2**40


@pytest.mark.parametrize("body, message", [
    ("a = 3", "cannot assign to 'a': it is a tensor parameter"),
    ("a += 3", "cannot assign to 'a': it is a tensor parameter"),
    ("a = b", "cannot assign to 'a': it is a tensor parameter"),
    ("for a in range(3):\n        b[0] = 1.0", "cannot assign to 'a': it is a tensor parameter"),
    ("c = 2", "cannot assign to 'c': it is a const parameter"),
    ("n = b", "'n' is a scalar; binding a tensor to it is not supported"),
    ("t = dsl.alloc_local((4,), dsl.f32)\n    t = 1.0", "'t' is a tensor; assigning a scalar to it"),
    ("t = b\n    if n > 0:\n        t = a", "rebinding it to 'a' inside if/for/while is not supported"),
    (f"a[dsl.thread_id() + {BIG}] = 1.0", f"integer constant {BIG} does not fit in i32"),
    ("a[dsl.thread_id() + 2**40] = 1.0", "constant 2 \\*\\* 40 does not fit in i32"),
    ("x = 65536 * 65536", "constant 65536 \\* 65536 = 4294967296 does not fit in i32"),
    (f"for i in range({BIG}):\n        b[0] = 1.0", f"integer constant {BIG} does not fit in i32"),
    ("x = n // 0", "integer division by zero"),
    ("x = n % (2 - 2)", "integer modulo by zero"),
    ("x = n << 40", "shift by 40 of a 32-bit integer"),
    ("x = dsl.i8(300)", "integer constant 300 does not fit in i8"),
    ("x = b + 1.0", "'b' is a tensor; a scalar is needed here"),
    ("if b:\n        n = 1", "'b' is a tensor; a scalar is needed here"),
    ("for i in range(b):\n        n = 1", "'b' is a tensor; a scalar is needed here"),
    ("a[0] = b", "an element of 'a' takes a scalar, not a tensor"),
    ("x = dsl.f32(b)", "'b' is a tensor; a scalar is needed here"),
    ("x = b if n else a", "'b' is a tensor; a scalar is needed here"),
    ("a[b] = 1.0", "'b' is a tensor; a scalar is needed here"),
    ("dsl.fill(a[b:4], 1.0)", "'b' is a tensor; a scalar is needed here"),
    ("dsl.pointwise(a, lambda x: b, a)", "'b' is a tensor; a scalar is needed here"),
    ("dsl.pointwise(a, lambda x=1: x, a)", "the lambda of dsl.pointwise takes plain parameters"),
    ("x = dsl.copy(a, a)", "has no value"),
    ("s = dsl.alloc_shared(((4,),), dsl.f32)", "allocation shape must be positive ints, got \\(\\(4,\\),\\)"),
    (f"s = dsl.alloc_shared(({BIG},), dsl.f32)", f"integer constant {BIG} does not fit in i32"),
    ("s = dsl.alloc_shared((65536, 4), dsl.f32)", "does not fit in the shared memory of a CTA"),
    ("s = dsl.alloc_local((1 << 20,), dsl.f32)", "does not fit in the local memory of a thread"),
    ("t = a.view((-4,))", "view shape must be positive ints, got \\(-4,\\)"),
    ("t = a.view(())", "view shape must be positive ints, got \\(\\)"),
])
def test_statement_errors_are_at_their_line(tmp_path, body, message):
    k, path = source(tmp_path, "\n@dsl.kernel(threads=32)\ndef k(a: dsl.Tensor[(32,), dsl.f32], "
                               "b: dsl.Tensor[(4,), dsl.f32], n: dsl.i32, c: dsl.const):\n    " + body + "\n")
    with pytest.raises(dsl.DslError) as e:
        k.compile(c=1)
    text = str(e.value)
    assert re.search(message, text), text
    assert text.startswith(f"{path}:"), text


def test_consts_that_are_dims_or_values_must_fit(tmp_path):
    k, path = source(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(dsl.dim("n"),), dsl.f32], n: dsl.const):
        a[0] = 1.0
    """)
    with pytest.raises(dsl.DslError, match="n is a dim of a, so a positive int; got 4.5"):
        k.specialise(n=4.5)
    with pytest.raises(dsl.DslError, match="n = 0 is a dim of a, which must be positive"):
        k.specialise(n=0)
    with pytest.raises(dsl.DslError, match="dim 'n' of parameter 'a' names a f32 parameter") as e:
        k.compile(n=4.5)                               # compile takes consts without the value checks
    at_line(e.value, path, 3)
    with pytest.raises(dsl.DslError, match="const n = 1099511627776 does not fit in i32"):
        k.specialise(n=2**40)


def test_the_smallest_i32_is_a_literal(tmp_path):
    k, _ = source(tmp_path, """
    @dsl.kernel(threads=1)
    def k(a: dsl.Tensor[(2,), dsl.i32]):
        a[0] = -2147483648
        a[1] = dsl.i32(dsl.i64(4294967296) // dsl.i64(4294967296))
    """)
    a = np.zeros(2, np.int32)
    k(a)
    assert a.tolist() == [-2**31, 1]


# -- calls: the parameter and the caller's line -------------------------------------------------------------
@pytest.fixture
def called(tmp_path):
    k, _ = source(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.i32], b: dsl.Tensor[(dsl.dim("n"),), dsl.f32], n: dsl.i32):
        a[0] = n
    """)
    return k


@pytest.mark.parametrize("args, error, message", [
    ((np.zeros(32, np.float32), np.zeros(4, np.float32), 4), dsl.KernelRuntimeError,
     "tensor 'a' must be i32 \\(int32\\), got float32"),
    ((np.zeros(31, np.int32), np.zeros(4, np.float32), 4), dsl.KernelRuntimeError,
     "tensor 'a' must have shape \\(32,\\), got \\(31,\\)"),
    ((np.zeros(32, np.int32), np.zeros(5, np.float32), 4), dsl.KernelRuntimeError,
     "tensor 'b' must have shape \\(4,\\), got \\(5,\\)"),
    ((3, np.zeros(4, np.float32), 4), dsl.KernelRuntimeError, "tensor 'a' needs an array of i32, got int 3"),
    ((None, np.zeros(4, np.float32), 4), dsl.KernelRuntimeError, "tensor 'a' needs an array of i32, got NoneType"),
    ((np.zeros(32, np.int32), np.zeros(4, np.float32), "x"), dsl.DslError, "n is a scalar \\(dsl.i32\\); got str"),
    ((np.zeros(32, np.int32), np.zeros(4, np.float32), None), dsl.DslError,
     "n is a scalar \\(dsl.i32\\); got NoneType"),
    ((np.zeros(32, np.int32), np.zeros(4, np.float32), 4.5), dsl.DslError, "n must be an integer \\(dsl.i32\\)"),
    ((np.zeros(32, np.int32), np.zeros(4, np.float32), 2**40), dsl.DslError, "n = 1099511627776 does not fit in i32"),
    ((np.zeros(32, np.int32), np.zeros(4, np.float32), -1), dsl.DslError,
     "n = -1 is a dim of b, which cannot be negative"),
])
def test_argument_errors_name_the_parameter_and_the_call(called, args, error, message):
    with pytest.raises(error) as e:
        called(*args)                                                      # the line reported
    text = str(e.value)
    assert re.search(message, text), text
    assert text.startswith(f"{__file__}:"), text
    assert "called(*args)" in text.splitlines()[1]


def test_run_checks_scalar_arguments_too(called):
    k = called.compile()
    with pytest.raises(dsl.KernelRuntimeError, match="scalar parameter 'n' \\(i32\\) needs a number, got str"):
        run(k, [np.zeros(32, np.int32), np.zeros(4, np.float32), "x"])
    with pytest.raises(dsl.KernelRuntimeError, match="scalar parameter 'n' is i32; 4294967296 is not an integer"):
        run(k, [np.zeros(32, np.int32), np.zeros(4, np.float32), 2**32])
