"""``@dsl.kernel``: a decorated function compiled (and cached) per specialisation, run on a backend."""

from __future__ import annotations

import inspect
import math

import numpy as np

import backends
from backends.cpu.args import called_at
from collectives.program import run_program
from lowering import ir
from lowering.ir.errors import DslError
from lowering.pipeline import explain_dispatch, run_passes
from lowering.pretty import pretty
from lowering.printer import to_text

from . import signature
from .frontend import Frontend
from .types import const


class KernelFunction:
    """A kernel definition; ``compile(**consts)`` gives an ``ir.Kernel``, calling it runs it.

    >>> import dsl, numpy as np
    >>> @dsl.kernel(grid=(2,), threads=4)
    ... def iota(a: dsl.Tensor[(8,), dsl.i32]):
    ...     a[dsl.cta_id() * 4 + dsl.thread_id()] = dsl.cta_id() * 4 + dsl.thread_id()
    >>> x = np.zeros(8, np.int32); iota(x); x.tolist()
    [0, 1, 2, 3, 4, 5, 6, 7]
    """

    def __init__(self, fn, grid, threads: int, example: dict | None = None, cluster=(1,),
                 multiple_of: dict | None = None):
        # everything the decorator and the annotations say is checked here, at the def line
        # (dsl/signature.py); calls and specialisations check their values (check_multiples)
        if not inspect.isfunction(fn):
            raise DslError(called_at(f"@dsl.kernel decorates a function (def ...) and takes keyword arguments "
                                     f"(grid=..., threads=...); got {type(fn).__name__} {fn!r}"[:300]))
        self.fn, self.name = fn, fn.__name__
        self.sig = inspect.signature(fn)
        self.annotations = signature.resolved_annotations(fn)
        signature.check_parameters(fn, self.sig, self.annotations)
        self.threads = signature.checked_threads(fn, threads)
        self.grid = signature.checked_grid(fn, grid, self.sig, self.annotations)
        self.cluster = signature.checked_cluster(fn, cluster, self.grid)
        self.example = signature.checked_example(fn, example, self.annotations)
        self.multiple_of = self._checked_multiples(signature.checked_mapping(fn, "multiple_of", multiple_of,
                                                                                 names=False))
        self._dim_users = signature.dim_users(self.annotations)
        self._cache: dict = {}

    def _checked_multiples(self, multiples: dict) -> dict:
        for name, d in multiples.items():
            if not signature.is_integer_scalar(self.annotations.get(name)):
                raise signature.fail(self.fn, f"multiple_of names {name!r}, which is not an integer scalar "
                                              f"parameter")
            if not isinstance(d, int) or isinstance(d, bool) or d < 1:
                raise signature.fail(self.fn, f"multiple_of[{name!r}] must be a positive int, got {d!r}")
        return multiples

    def check_multiples(self, values: dict) -> None:
        """Raise ``DslError`` (at the caller's line) unless every parameter named in ``multiple_of`` is a
        positive multiple of its divisor (the kernel's stated shape requirements, checked before compiling or
        launching), and every scalar and const value is one its parameter takes (an integer in its dtype's
        range; a dim not negative)."""
        for name, d in self.multiple_of.items():
            if name not in values:
                continue
            if type(values[name]) is int and values[name] > 0 and values[name] % d == 0:
                continue                # the common case, without numpy
            v = np.asarray(values[name])
            if v.ndim or v.dtype.kind not in "iuf" or v.dtype.kind == "f" and not float(v).is_integer():
                raise DslError(called_at(f"kernel {self.name!r}: {name} must be an integer (a positive multiple "
                                         f"of {d}), got {values[name]!r}"))
            if int(v) <= 0 or int(v) % d:
                raise DslError(called_at(f"kernel {self.name!r}: {name} = {int(v)} must be a positive multiple "
                                         f"of {d}"))
        for name, v in values.items():
            problem = signature.value_problem(name, self.annotations.get(name), v, self._dim_users)
            if problem:
                raise DslError(called_at(f"kernel {self.name!r}: {problem}"))

    def const_names(self) -> tuple:
        """The ``dsl.const`` parameters, in order (found once: every call asks)."""
        names = self.__dict__.get("_const_names")
        if names is None:
            ann = inspect.get_annotations(self.fn, eval_str=True)
            names = self._const_names = tuple(n for n in self.sig.parameters if ann.get(n) is const)
        return names

    def compile(self, grid=None, backend: str = "cpu", **consts) -> ir.Kernel:
        """The thread-level kernel (or, with host collectives, ``ir.Program``) for these consts and grid
        (cached per specialisation)."""
        return self.passes(grid, backend, **consts)[-1][1]

    def stages(self, grid=None, **consts) -> tuple:
        """``(frontend IR, final IR)`` for these consts and grid."""
        p = self.passes(grid, "cpu", **consts)
        return p[0][1], p[-1][1]

    def divisible(self, values: dict) -> tuple:
        """The integer scalar parameters whose value is a multiple of 16 (kernels are specialised on this,
        as in Triton, so that schedules may vectorise on them)."""
        consts = self.const_names()
        out = []
        for n in self.sig.parameters:
            v = values.get(n)
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and n not in consts \
                    and v % 16 == 0 and v != 0:
                out.append(n)
        return tuple(out)

    def passes(self, grid=None, backend: str = "cpu", divisible: tuple = (), arch: str | None = None,
               **consts) -> list:
        """``[(pass name, IR after it), ...]`` from the frontend to the IR ``backend`` (a registered name) runs
        (cached); ``divisible`` names scalar parameters known to be multiples of 16; ``arch`` defaults to
        the backend's ahead-of-time arch (sm_90a for CUDA, which enables the Hopper schedules)."""
        be = backends.get(backend)
        return self.lowered(grid, be.lowering, divisible, arch or be.default_arch, consts)

    def lowered(self, grid, lowering: str, divisible: tuple, arch: str | None, consts: dict) -> list:
        """``passes`` for a lowering target (``"cpu"`` or ``"cuda"``) rather than a backend."""
        bad = [c for c in consts if c not in self.const_names()]
        if bad:
            raise DslError(f"kernel {self.name!r}: {bad} are not const parameters (have {list(self.const_names())})")
        if grid is None:  # the kernel's own grid when it is static
            if callable(self.grid):
                raise DslError(f"kernel {self.name!r}: its grid depends on its arguments; pass grid=(...) or use "
                               f"specialise(**values)")
            grid = self.resolve_grid({})
        grid = tuple(grid) if isinstance(grid, (tuple, list)) else (grid,)
        key = (tuple(grid), lowering, tuple(sorted(consts.items())), tuple(sorted(divisible)), arch)
        if key not in self._cache:
            k = self.frontend(grid, consts)
            self._cache[key] = run_passes(k, lowering, self.facts(k, divisible), arch)
        return self._cache[key]

    def frontend(self, grid: tuple, consts: dict) -> ir.Kernel:
        """The frontend's IR of this kernel for ``grid`` and const values (before any pass)."""
        missing = [c for c in self.const_names() if c not in consts]
        if missing:
            raise DslError(f"kernel {self.name!r}: missing value for const parameter(s) {missing}")
        cluster = self.check_cluster(tuple(grid))
        fe = Frontend(self.fn, consts, cluster)
        body = fe.translate()
        return ir.Kernel(self.name, tuple(fe.params), tuple(grid), self.threads, body, fe.file, cluster)

    def facts(self, k: ir.Kernel, divisible: tuple) -> dict:
        """Known divisors of scalar parameters: 16 for those in ``divisible``, and the stated ``multiple_of``."""
        facts = {n: 16 for n in divisible if any(isinstance(p, ir.Var) and p.name == n for p in k.params)}
        for n, d in self.multiple_of.items():
            facts[n] = math.lcm(facts.get(n, 1), d)
        return facts

    def explain(self, backend: str = "cpu", arch: str | None = None, **values) -> str:
        """For each operator, the schedules dispatch tries (highest priority first) and why each declines or
        is picked, for the specialisation ``values`` (scalar and const parameters, as ``specialise`` takes)
        on ``backend``.

        >>> import dsl
        >>> @dsl.kernel(grid=(1,), threads=32)
        ... def z(a: dsl.Tensor[(32,), dsl.f32]):
        ...     dsl.fill(a, 0.0)
        >>> print(z.explain().splitlines()[2])
          fill_strided (priority 10): picked
        """
        self.check_multiples(values)
        be = backends.get(backend)
        consts = {c: values[c] for c in self.const_names() if c in values}
        k = self.frontend(self.resolve_grid(values), consts)
        return explain_dispatch(k, be.lowering, self.facts(k, self.divisible(values)), arch or be.default_arch)

    def check_cluster(self, grid: tuple) -> tuple:
        c = self.cluster
        if not 1 <= len(c) <= 3 or any(not isinstance(x, int) or x < 1 for x in c):
            raise DslError(f"kernel {self.name!r}: cluster must be 1-3 positive ints, got {c}")
        g = tuple(grid) + (1,) * (3 - len(grid))
        for d, x in enumerate(c):
            if g[d] % x:
                raise DslError(f"kernel {self.name!r}: cluster {c} does not divide the grid {tuple(grid)} "
                               f"(dim {d}: {g[d]} CTAs, clusters of {x})")
        n = 1
        for x in c:
            n *= x
        if n > 16:
            raise DslError(f"kernel {self.name!r}: a cluster has at most 16 CTAs, got {c}")
        return c

    def specialise(self, backend: str = "cpu", arch: str | None = None, **values) -> ir.Kernel:
        """The thread-level kernel for given values of the scalar and const parameters (no tensors needed):
        the grid is computed from them as a call would. ``k.specialise(**k.example)`` compiles the kernel's
        example specialisation (``@dsl.kernel(..., example={...})``), which tools such as
        ``python -m dsl compile`` use.

        >>> import dsl
        >>> @dsl.kernel(grid=lambda n: (n // 32,), threads=32, example={"n": 64})
        ... def k(a: dsl.Tensor[(dsl.dim("n"),), dsl.i32], n: dsl.i32):
        ...     a[dsl.cta_id() * 32 + dsl.thread_id()] = 1
        >>> k.specialise(**k.example).grid
        (2,)
        """
        self.check_multiples(values)
        consts = {c: values[c] for c in self.const_names() if c in values}
        return self.passes(self.resolve_grid(values), backend, self.divisible(values), arch, **consts)[-1][1]

    def resolve_grid(self, bound: dict) -> tuple:
        if callable(self.grid):
            names = list(inspect.signature(self.grid).parameters)
            missing = [n for n in names if n not in bound]
            if missing:
                raise DslError(called_at(f"kernel {self.name!r}: the grid needs parameter(s) {missing}"))
            args = {k: bound[k] for k in names}
            try:
                g = self.grid(**args)
            except Exception as e:      # the user's grid function, on the values of this call
                raise DslError(called_at(f"kernel {self.name!r}: its grid function (at "
                                         f"{signature.loc_of(self.fn)}) raised {type(e).__name__}: {e} for "
                                         f"{args}")) from None
        else:
            g = self.grid
        g = tuple(g) if isinstance(g, (tuple, list)) else (g,)
        g = tuple(int(x) if isinstance(x, np.integer) else x for x in g)   # sizes computed with numpy
        if not 1 <= len(g) <= 3 or any(not isinstance(x, int) or isinstance(x, bool) or x < 1 for x in g):
            raise DslError(called_at(f"kernel {self.name!r}: grid must be 1-3 positive ints, got {g}"))
        if any(x > most for x, most in zip(g, signature.GRID_LIMITS)):
            raise DslError(called_at(f"kernel {self.name!r}: grid {g} is beyond what a GPU launches (at most "
                                     f"{signature.GRID_LIMITS})"))
        return g

    def __call__(self, *args, backend: str = "cpu", mesh=None, stream=None, **kwargs):
        """Run on ``backend`` (a registered name: "cpu", "cuda", or "auto": the best available, cuda when a
        GPU is present). A kernel with kernel-scope collectives runs on a mesh rank (``mesh=``, a
        ``collectives`` rank object). On CUDA, ``stream=`` (a torch/CuPy stream or a handle) launches
        asynchronously on that stream."""
        try:
            bound = self.sig.bind(*args, **kwargs).arguments
        except TypeError as e:
            raise DslError(f"kernel {self.name!r}: {e}") from None
        self.check_multiples(bound)
        consts = {k: bound[k] for k in self.const_names()}
        try:
            be = backends.resolve(backend)
        except DslError as e:
            raise DslError(f"kernel {self.name!r}: {e}") from None
        lowering, arch = be.lowering_and_arch()
        passes = self.lowered(self.resolve_grid(bound), lowering, self.divisible(bound), arch, consts)
        k = passes[-1][1]
        if isinstance(k, ir.Program):
            if mesh is None:
                raise DslError(f"kernel {self.name!r} has collectives across devices: call it with mesh=<rank> "
                               f"(collectives.ProcessMesh or a simulated rank)")
            return run_program(k, [bound[p.name] for p in passes[0][1].params], mesh, backend=be, arch=arch)
        return be.run(k, [bound[p.name] for p in k.params], arch=arch, stream=stream)


def kernel(fn=None, *positional, grid=(1,), threads: int = 128, example: dict | None = None, cluster=(1,),
           multiple_of: dict | None = None, **unknown):
    """Decorator turning a Python function into a DSL kernel (see ``KernelFunction``).

    ``grid`` is 1-3 ints or a function of scalar/const parameters returning them; ``threads`` the CTA size;
    ``example`` values of the scalar/const parameters for ahead-of-time compilation (``specialise``);
    ``cluster`` the CTAs per cluster along each grid dim (``dsl.cluster_id()``, ``dsl.cluster_cta_id()``,
    ``dsl.barrier()`` at cluster scope); ``multiple_of`` maps integer scalar parameters to divisors the
    kernel relies on (e.g. whole tiles): a call whose value is not a positive multiple raises ``DslError``
    before anything runs, and the compiler may use the divisibility.

    The arguments and the parameters' annotations are checked when the decorator runs (``dsl.signature``):
    a mistake is a ``DslError`` at the ``def`` line (an annotation's at its parameter); values given at a call
    or to ``specialise`` are checked then, and reported at the caller's line.

    >>> import dsl, numpy as np
    >>> @dsl.kernel(grid=lambda n: (n // 4,), threads=4, multiple_of={"n": 4})
    ... def ones(a: dsl.Tensor[(dsl.dim("n"),), dsl.i32], n: dsl.i32):
    ...     a[dsl.cta_id() * 4 + dsl.thread_id()] = 1
    >>> ones(np.zeros(6, np.int32), 6)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    dsl.DslError: <doctest ...>:1: kernel 'ones': n = 6 must be a positive multiple of 4
    ...
    """
    if positional or fn is not None and not inspect.isfunction(fn):
        raise DslError(called_at(f"@dsl.kernel takes keyword arguments (@dsl.kernel(grid=..., threads=...)); got "
                                 f"positional argument(s) {(fn, *positional)!r}"[:300]))

    def make(f):
        if unknown and inspect.isfunction(f):
            raise signature.unknown_arguments(f, unknown)
        return KernelFunction(f, grid, threads, example, cluster, multiple_of)
    return make(fn) if fn is not None else make


def compile(kern: KernelFunction, *, backend: str = "cpu", dump_ir: bool = False, grid=None, **consts):
    """Source -> thread-level ``ir.Kernel``; with ``dump_ir`` print the IR after every pass (readable
    pseudo-code; ``dump_ir="sexpr"`` prints the exact text that ``lowering.printer.parse`` reads back).

    >>> import dsl
    >>> @dsl.kernel(grid=(1,), threads=32)
    ... def k(a: dsl.Tensor[(32,), dsl.i32]):
    ...     a[dsl.lane_id()] = 1
    >>> dsl.compile(k, backend="cpu").threads
    32
    """
    passes = kern.passes(grid, backend, **consts)
    if dump_ir:
        show = to_text if dump_ir == "sexpr" else pretty
        for name, node in passes:
            print(f"// ---- {kern.name}: after {name} (backend={backend})\n{show(node)}")
    return passes[-1][1]
