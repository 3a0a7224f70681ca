"""What ``@dsl.kernel`` checks when it is applied, before anything compiles: the parameters and their
annotations (``dsl.Tensor[shape, dtype(, layout)]``, a dtype or ``dsl.const``) and the decorator's arguments
(``grid``, ``threads``, ``cluster``, ``example``, ``multiple_of``); and, when a kernel is called or
specialised, the values of its scalar and const parameters. Each problem is a ``DslError`` naming the
parameter or argument and what was expected, at the kernel's source line: the parameter's line for an
annotation, the ``def`` line for a decorator argument (values given at a call are reported at the call).

>>> import dsl
>>> try:
...     @dsl.kernel(threads="128")
...     def k(a: dsl.Tensor[(4,), dsl.f32]):
...         a[0] = 1.0
... except dsl.DslError as e:
...     print(str(e).splitlines()[0].split(": ", 1)[1])
kernel 'k': threads= is the number of threads per CTA, an int in 1..1024; got '128'
"""

from __future__ import annotations

import ast
import difflib
import inspect
import textwrap
from collections.abc import Mapping

import numpy as np

import axe
from axe.parser import parse_parts
from lowering import ir
from lowering.ir.errors import DslError, at

from .types import I32_MAX, INT_RANGE, INTEGER_TYPES, BadTensorType, DType, Tensor, TensorType, const

DECORATOR_ARGUMENTS = ("grid", "threads", "example", "cluster", "multiple_of")
GRID_LIMITS = (2**31 - 1, 65535, 65535)      # CTAs per grid dimension a CUDA launch takes
_ANNOTATIONS = "dsl.Tensor[shape, dtype], a dtype such as dsl.i32, or dsl.const"


# -- where -------------------------------------------------------------------------------------------------
def closure_vars(fn) -> dict:
    """The kernel function's closure variables (name -> value), as module globals are for names it reads
    (a kernel made by a factory, ``def make(L): @dsl.kernel ...``); cells not bound yet are left out."""
    out = {}
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:
            pass
    return out


def _def_node(fn):
    """``(ast.FunctionDef, first source line, indent)`` of ``fn``, or None without source."""
    try:
        lines, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None:
        return None
    return node, first, len(lines[0]) - len(lines[0].lstrip())


def loc_of(fn, param: str | None = None) -> ir.Loc:
    """The ``def`` line of kernel function ``fn``, or the line of its parameter ``param`` (found in its source
    only when an error is reported)."""
    code = fn.__code__
    found = _def_node(fn)
    if found is None:
        return ir.Loc(code.co_filename, code.co_firstlineno, 0)
    node, first, indent = found
    target = node
    if param is not None:
        a = node.args
        every = a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x is not None]
        target = next((x for x in every if x.arg == param), node)
    return ir.Loc(inspect.getsourcefile(fn) or code.co_filename, first + target.lineno - 1,
                  target.col_offset + indent)


def fail(fn, message: str, param: str | None = None) -> DslError:
    """A ``DslError`` about kernel ``fn`` at its ``def`` line (or its parameter ``param``'s line)."""
    return DslError(at(loc_of(fn, param), f"kernel {fn.__name__!r}: {message}"))


def parse_layout(text: str):
    """``axe.Layout.parse(text)`` for a kernel, whose layouts are static: text with symbols (``S[4:n@m]``) is
    an ``AxeError`` naming them."""
    shard, replica, offset = parse_parts(text)
    free = sorted({str(x) for it in shard + replica for v in (it.extent, it.stride)
                   for x in getattr(v, "free_symbols", ())} |
                  {str(x) for v in offset.values() for x in getattr(v, "free_symbols", ())})
    if free:
        raise axe.AxeError(f"layout {text!r} has symbolic parts ({', '.join(free)}); a kernel's layouts are "
                           f"static: put values in with a const parameter or an f-string")
    try:
        return axe.Layout.parse(text)
    except axe.AxeError:
        raise
    except (TypeError, ValueError) as e:
        raise axe.AxeError(f"layout {text!r} cannot be built ({e})") from None


def layout_text_error(e: axe.AxeError) -> str:
    """An axe error about layout text, with the text and the caret under the offending character kept
    (indented under the message that reports it at the kernel's line)."""
    lines = str(e).rstrip("\n").splitlines()
    return "\n".join([lines[0]] + ["        " + x for x in lines[1:]])


# -- annotations -------------------------------------------------------------------------------------------
def resolved_annotations(fn) -> dict:
    """``fn``'s annotations as values. Annotations kept as text (``from __future__ import annotations``) are
    evaluated in the function's globals and closure, and the values written back, so that later readers
    (``inspect.get_annotations(fn, eval_str=True)``) see the same objects."""
    raw = dict(getattr(fn, "__annotations__", None) or {})
    if not any(isinstance(v, str) for v in raw.values()):
        return raw
    scope = closure_vars(fn)
    out = {}
    for name, v in raw.items():
        if isinstance(v, str):
            try:
                v = eval(v, fn.__globals__, scope)       # the user's annotation text
            except Exception as e:
                raise fail(fn, f"cannot evaluate the annotation {v!r} of parameter {name!r}: {type(e).__name__}: "
                               f"{e}", name if name != "return" else None) from None
        out[name] = v
    fn.__annotations__ = out
    return out


def is_integer_scalar(t) -> bool:
    """Whether an annotation gives an integer scalar (a possible tensor dim or ``multiple_of`` name)."""
    return t is const or any(t is x for x in INTEGER_TYPES)


def check_parameters(fn, sig: inspect.Signature, ann: dict) -> None:
    """Every parameter is a plain positional one annotated with ``_ANNOTATIONS``; a tensor's dims are positive
    ints or names of integer scalar (or const) parameters, its layout an ``axe.Layout`` or text that parses."""
    for name, p in sig.parameters.items():
        if p.kind is not p.POSITIONAL_OR_KEYWORD:
            raise fail(fn, f"parameter {name!r}: kernel parameters are plain positional parameters (no *args, "
                           f"**kwargs, keyword-only or positional-only parameters)", name)
        if p.default is not p.empty:
            raise fail(fn, f"parameter {name!r} has a default value; kernel parameters take none (pass every "
                           f"argument)", name)
        t = ann.get(name)
        if t is None:
            raise fail(fn, f"parameter {name!r} needs an annotation: {_ANNOTATIONS}", name)
        if isinstance(t, BadTensorType):
            raise fail(fn, f"parameter {name!r}: {t.problem}", name)
        if t is Tensor:
            raise fail(fn, f"parameter {name!r}: dsl.Tensor needs a shape and a dtype: dsl.Tensor[(n,), dsl.f32]",
                       name)
        if isinstance(t, TensorType):
            _check_tensor(fn, name, t, sig, ann)
        elif not (t is const or isinstance(t, DType)):
            raise fail(fn, f"parameter {name!r}: unsupported annotation {t!r} (use {_ANNOTATIONS})", name)


def _check_tensor(fn, name: str, t: TensorType, sig, ann) -> None:
    for d in t.shape:
        if not isinstance(d, str):
            continue
        other = ann.get(d)
        if d not in sig.parameters:
            close = difflib.get_close_matches(d, list(sig.parameters), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise fail(fn, f"parameter {name!r}: dim {d!r} names no parameter of the kernel (a dim is an int or "
                           f"dsl.dim(\"n\") of an integer scalar or const parameter){hint}", name)
        if not is_integer_scalar(other):
            what = "a tensor" if isinstance(other, TensorType) else f"annotated {other!r}"
            raise fail(fn, f"parameter {name!r}: dim {d!r} names parameter {d!r}, {what}; a dim is an integer "
                           f"scalar (dsl.i32, dsl.i64, dsl.i8) or a dsl.const", name)
    layout = t.layout
    if isinstance(layout, str):
        try:
            parse_layout(layout)
        except axe.LayoutSyntaxError as e:
            raise fail(fn, f"parameter {name!r}: {layout_text_error(e)}", name) from None
        except axe.AxeError as e:
            raise fail(fn, f"parameter {name!r}: layout {layout!r}: {str(e).splitlines()[0]}", name) from None
    elif layout is not None and not isinstance(layout, (axe.Layout, axe.SwizzleLayout)) and not (
            isinstance(layout, tuple) and len(layout) == 2 and all(isinstance(x, tuple) for x in layout)):
        raise fail(fn, f"parameter {name!r}: the layout must be an axe.Layout, a SwizzleLayout, its text or "
                       f"(extents, strides); got {type(layout).__name__}", name)


def dim_users(ann: dict) -> dict:
    """Scalar parameter -> the tensor parameters that use it as a dim."""
    out: dict = {}
    for name, t in ann.items():
        if isinstance(t, TensorType):
            for d in t.shape:
                if isinstance(d, str) and name not in out.setdefault(d, []):
                    out[d].append(name)
    return out


def value_problem(name: str, t, v, users: dict) -> str | None:
    """Why ``v`` cannot be the value of parameter ``name`` annotated ``t`` (a dtype or ``dsl.const``), else
    None; ``users``: ``dim_users`` (a dim must not be negative)."""
    if t is const:
        iv = _int(v)
        if iv is None:
            return f"{name} is a dim of {', '.join(users[name])}, so a positive int; got {v!r}"[:200] \
                if name in users else None
        lo, hi = INT_RANGE["i32"]
        if not lo <= iv <= hi:
            return f"const {name} = {iv} does not fit in i32 (the kernel's integers are 32-bit)"
        if name in users and iv < 1:
            return f"{name} = {iv} is a dim of {', '.join(users[name])}, which must be positive"
        return None
    if not isinstance(t, DType):
        return None
    if type(v) is int and t.name in INT_RANGE and INT_RANGE[t.name][0] <= v <= INT_RANGE[t.name][1] and \
            (v >= 0 or name not in users):
        return None             # the common case, without numpy
    arr = v if isinstance(v, np.ndarray) else np.asarray(v) if isinstance(v, (int, float, bool, np.generic)) \
        else None
    if arr is None or arr.ndim or arr.dtype.kind not in "biuf":
        return f"{name} is a scalar ({t!r}); got {type(v).__name__} {v!r}"[:200]
    if t.name in INT_RANGE:
        x = arr.item()
        if isinstance(x, float) and not x.is_integer():
            return f"{name} must be an integer ({t!r}), got {v!r}"
        lo, hi = INT_RANGE[t.name]
        if not lo <= int(x) <= hi:
            return f"{name} = {int(x)} does not fit in {t.name} ({lo}..{hi})"
        if name in users and int(x) < 0:
            return f"{name} = {int(x)} is a dim of {', '.join(users[name])}, which cannot be negative"
    return None


# -- decorator arguments -----------------------------------------------------------------------------------
def _int(v):
    """``v`` as an int when it is one (numpy integers too, not bools), else None."""
    return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else None


def checked_threads(fn, threads) -> int:
    n = _int(threads)
    if n is None or not 1 <= n <= 1024:
        raise fail(fn, f"threads= is the number of threads per CTA, an int in 1..1024; got {threads!r}")
    return n


def _dims(v, what: str, fn) -> tuple:
    """1-3 positive ints (an int or a tuple/list of them), within what a GPU launches."""
    dims = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    ints = tuple(_int(x) for x in dims)
    if not 1 <= len(dims) <= 3 or any(x is None or not 1 <= x <= I32_MAX for x in ints):
        raise fail(fn, f"{what} must be 1-3 positive ints; got {v!r}")
    if any(x > most for x, most in zip(ints, GRID_LIMITS)):
        raise fail(fn, f"{what} {ints} is beyond what a GPU launches (at most {GRID_LIMITS})")
    return ints


def checked_grid(fn, grid, sig, ann):
    """A static grid (1-3 positive ints) or a function of scalar and const parameters returning one."""
    if not callable(grid):
        return _dims(grid, "grid=", fn)
    try:
        params = inspect.signature(grid).parameters
    except (TypeError, ValueError):
        raise fail(fn, f"grid= is 1-3 ints or a function of scalar parameters (lambda n: ...); the parameters "
                       f"of {grid!r} cannot be read") from None
    for p in params.values():
        t = ann.get(p.name)
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name not in sig.parameters or \
                not (t is const or isinstance(t, DType)):
            what = "is a tensor" if isinstance(t, TensorType) else "is not a parameter of the kernel" \
                if p.name not in sig.parameters else "is not a named parameter"
            raise fail(fn, f"grid= function: its parameter {p.name!r} {what}; the grid is computed from the "
                           f"kernel's scalar and const parameters, named as in the kernel")
    return grid


def checked_cluster(fn, cluster, grid) -> tuple:
    """1-3 positive ints, at most 16 CTAs, dividing a static grid."""
    c = _dims(cluster, "cluster=", fn)
    n = 1
    for x in c:
        n *= x
    if n > 16:
        raise fail(fn, f"cluster= has at most 16 CTAs; got {cluster!r}")
    if not callable(grid):
        g = tuple(grid) + (1,) * 3
        for d, x in enumerate(c):
            if g[d] % x:
                raise fail(fn, f"cluster {c} does not divide the grid {tuple(grid)} (dim {d}: {g[d]} CTAs, "
                               f"clusters of {x})")
    return c


def checked_mapping(fn, what: str, value, names: bool = True) -> dict:
    """A dict argument (``example``, ``multiple_of``) whose keys are (with ``names``) parameter names."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(fn, f"{what}= maps parameter names to values ({what}={{\"n\": ...}}); got "
                       f"{type(value).__name__} {value!r}"[:200])
    params = list(inspect.signature(fn).parameters)
    for k in value if names else ():
        if not isinstance(k, str) or k not in params:
            close = difflib.get_close_matches(k, params, n=1) if isinstance(k, str) else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise fail(fn, f"{what}= names {k!r}, which is not a parameter of the kernel{hint}")
    return dict(value)


def checked_example(fn, example, ann: dict) -> dict:
    """``example``: values of scalar and const parameters, each one the parameter takes."""
    ex = checked_mapping(fn, "example", example)
    users = dim_users(ann)
    for k, v in ex.items():
        t = ann.get(k)
        if isinstance(t, TensorType):
            raise fail(fn, f"example= gives tensor parameter {k!r}; it holds the values of scalar and const "
                           f"parameters (what specialise(**values) takes)")
        problem = value_problem(k, t, v, users)
        if problem:
            raise fail(fn, f"example=: {problem}")
    return ex


def unknown_arguments(fn, unknown: dict) -> DslError:
    """The error for keyword arguments ``@dsl.kernel`` does not take."""
    parts = []
    for k in unknown:
        close = difflib.get_close_matches(k, DECORATOR_ARGUMENTS, n=1)
        parts.append(f"{k!r}" + (f" (did you mean {close[0]}=?)" if close else ""))
    return fail(fn, f"@dsl.kernel takes {', '.join(a + '=' for a in DECORATOR_ARGUMENTS)}; unknown "
                    f"argument(s) {', '.join(parts)}")
