"""Thread-level IR -> one CUDA C++ translation unit (``extern "C" __global__``), semantics as the CPU backend.

The source is meant to be read: user variable names are kept (sanitised), each statement carries a
``// file:line`` comment when its line changes, index arithmetic is what ``lowering.simplify`` left.
Shared buffers are carved from one dynamic shared-memory block (so kernels may use more than 48 KB);
register tensors are per-thread arrays (aligned for the ``mma`` fragment loads); f16/bf16 are raw bits.

>>> from lowering import ir
>>> a = ir.Buffer("a", "i32", 32)
>>> k = ir.Kernel("iota", (a,), (1,), 32, (ir.Store(a, ir.ThreadIdx("tx"), ir.ThreadIdx("tx")),))
>>> src = emit_cuda(k)
>>> 'extern "C" __global__ void __launch_bounds__(32) iota(int* __restrict__ a)' in src.code
True
"""

from __future__ import annotations

import functools
import keyword
import re
from dataclasses import dataclass

from lowering import ir
from lowering.ir.errors import DslError, at

from ..irutil import calls
from .ctypes import HALF, compute_type, convert, ctype, from_f32, literal, prelude
from .intrinsics import _BYTES
from .intrinsics import CALLS as _CALLS
from .intrinsics import STMT_CALLS as _STMT_CALLS

_CPP_KEYWORDS = set("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char char16_t char32_t
class compl const constexpr const_cast continue decltype default delete do double dynamic_cast else enum explicit
export extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq nullptr
operator or or_eq private protected public register reinterpret_cast return short signed sizeof static
static_assert static_cast struct switch template this thread_local throw true try typedef typeid typename union
unsigned using virtual void volatile wchar_t while xor xor_eq threadIdx blockIdx blockDim gridDim warpSize
min max""".split())

_TID = {"tx": "((int)threadIdx.x)", "lane": "((int)(threadIdx.x & 31u))", "warp": "((int)(threadIdx.x >> 5))",
        "warpgroup": "((int)(threadIdx.x >> 7))", "cta.x": "((int)blockIdx.x)", "cta.y": "((int)blockIdx.y)",
        "cta.z": "((int)blockIdx.z)"}
_ALIGN = 16


@dataclass(frozen=True)
class CudaSource:
    """Generated CUDA C++: ``code``, the entry point ``name``, dynamic ``shared_bytes`` the launch needs,
    CTA size ``threads``, ``grid`` and ``cluster``."""

    code: str
    name: str
    shared_bytes: int
    threads: int
    grid: tuple
    cluster: tuple
    tensor_maps: tuple = ()  # (global buffer name, box cols, box rows, swizzle bytes, dtype), extra params in order
    alignment: tuple = ()    # (tensor parameter, bytes): its widest vector access; the base must be aligned so

    @functools.cached_property
    def alignment_map(self) -> dict:
        """``alignment`` as a dict, built once (launches look it up on every call); read it, don't change it."""
        return dict(self.alignment)


def sanitize(name: str) -> str:
    """A C++ identifier for a user name (keywords and reserved names get a suffix).

    >>> sanitize("class"), sanitize("__x"), sanitize("a.b")
    ('class_', 'u__x', 'a_b')
    """
    s = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not s or s[0].isdigit():
        s = "v_" + s
    if s.startswith("__") or s.startswith("_") and len(s) > 1 and s[1].isupper():
        s = "u" + s
    if s in _CPP_KEYWORDS or keyword.iskeyword(s) or s.startswith("axe_"):
        s += "_"
    return s


class _Emitter:
    def __init__(self, kernel: ir.Kernel, noalias: bool = True):
        self.k = kernel
        self.noalias = noalias
        self.align: dict = {}   # global buffer name -> widest vector access in bytes (see CudaSource.alignment)
        self.lines: list = []
        self.last_loc = None
        self.names: dict = {}
        self.shared: dict = {}
        self.shared_bytes = 0
        self.locals: dict = {}
        self.vars: dict = {}
        self.tmp = 0
        self.pending = None
        self.tmaps: dict = {}

    # -- names -------------------------------------------------------------------------------------------
    def name(self, raw: str) -> str:
        n = self.names.get(raw)
        if n is None:
            base = sanitize(raw)
            n, i = base, 1
            while n in self.names.values():
                n, i = f"{base}_{i}", i + 1
            self.names[raw] = n
        return n

    # -- expressions -------------------------------------------------------------------------------------
    def ex(self, e, want: str | None = None) -> str:
        """C++ for ``e``, converted to dtype ``want`` when given."""
        s = self._ex(e)
        return convert(s, e.dtype, want) if want is not None else s

    def index(self, e) -> str:
        """An element index: 32-bit, or 64-bit when the IR computes it in i64."""
        return self.ex(e, "i64" if e.dtype == "i64" else "i32")

    def vector_access(self, b: ir.Buffer, nbytes: int):
        """Record that ``b`` is accessed ``nbytes`` at a time (a global tensor's base must be that aligned)."""
        if b.scope == "global":
            self.align[b.name] = max(self.align.get(b.name, 1), nbytes)

    def _ex(self, e) -> str:
        if isinstance(e, ir.Const):
            return literal(e.value, e.dtype)
        if isinstance(e, ir.Var):
            return self.name(e.name)
        if isinstance(e, ir.ThreadIdx):
            return _TID[e.kind]
        if isinstance(e, ir.Cast):
            return self.ex(e.a, e.dtype)
        if isinstance(e, ir.Load):
            return f"{self.buffer(e.buffer)}[{self.index(e.index)}]"
        if isinstance(e, ir.BinOp):
            return self.binop(e)
        if isinstance(e, ir.UnOp):
            if e.op == "not":
                return f"(!{self.ex(e.a, 'bool')})"
            if e.op == "~":
                return f"(~{self.ex(e.a)})"
            t = compute_type(e.dtype)
            out = f"(-{self.ex(e.a, t)})"
            return from_f32(out, e.dtype) if e.dtype in HALF else out
        if isinstance(e, ir.Cmp):
            t = compute_type(ir.promote(e.a.dtype, e.b.dtype))
            return f"({self.ex(e.a, t)} {e.op} {self.ex(e.b, t)})"
        if isinstance(e, ir.Logic):
            op = "&&" if e.op == "and" else "||"
            return f"({self.ex(e.a, 'bool')} {op} {self.ex(e.b, 'bool')})"
        if isinstance(e, ir.Select):
            return f"({self.ex(e.cond, 'bool')} ? {self.ex(e.a, e.dtype)} : {self.ex(e.b, e.dtype)})"
        if isinstance(e, ir.Call):
            return self.call(e)
        raise DslError(f"the CUDA emitter cannot express {type(e).__name__}")

    def binop(self, e) -> str:
        t = compute_type(e.dtype)
        if e.op == "/":
            a, b = self.ex(e.a, t), self.ex(e.b, t)
            out = f"({a} / {b})"
        elif e.op in ("+", "-", "*", "&", "|", "^", "<<", ">>"):
            out = f"({self.ex(e.a, t)} {e.op} {self.ex(e.b, t)})"
        elif e.op == "//":
            a, b = self.ex(e.a, t), self.ex(e.b, t)
            out = f"({a} / {b})" if t in ("i8", "i32", "i64", "bool") else \
                f"{'axe_floordivf' if t == 'f32' else 'axe_floordiv'}({a}, {b})"
        elif e.op == "%":
            a, b = self.ex(e.a, t), self.ex(e.b, t)
            out = f"({a} % {b})" if t in ("i8", "i32", "i64", "bool") else \
                f"{'fmodf' if t == 'f32' else 'fmod'}({a}, {b})"
        elif e.op in ("min", "max"):
            a, b = self.ex(e.a, t), self.ex(e.b, t)
            if t == "f32":
                out = f"{'fminf' if e.op == 'min' else 'fmaxf'}({a}, {b})"
            elif t == "f64":
                out = f"{'fmin' if e.op == 'min' else 'fmax'}({a}, {b})"
            else:  # CUDA's integer min/max: evaluates each operand once (no textual duplication)
                wide = "long long" if t == "i64" else "int"
                out = f"(({ctype(t)}){e.op}(({wide})({a}), ({wide})({b})))"
        else:
            raise DslError(f"the CUDA emitter has no operator {e.op!r}")
        if e.dtype in HALF:
            return from_f32(out, e.dtype)
        return out

    def call(self, e) -> str:
        if e.name not in ir.INTRINSICS:
            raise DslError(at(e.loc, f"unknown intrinsic {e.name!r} (not in lowering.ir.INTRINSICS)"))
        fn = _CALLS.get(e.name)
        if fn is None:
            raise DslError(at(e.loc, f"the CUDA emitter has no implementation of intrinsic {e.name!r}"))
        return fn(self, e)

    # -- buffers -----------------------------------------------------------------------------------------
    def buffer(self, b: ir.Buffer) -> str:
        if b.scope == "shared" and b.name not in self.shared:
            self.alloc_shared(b)
        if b.scope == "local" and b.name not in self.locals:
            self.locals[b.name] = b
        return self.name(b.name)

    def alloc_shared(self, b: ir.Buffer):
        size = int(b.size) * _BYTES[b.dtype]
        align = 1024 if b.layout is not None and type(b.layout).__name__ == "SwizzleLayout" else _ALIGN
        off = -(-self.shared_bytes // align) * align
        self.shared[b.name] = (b, off)
        self.shared_bytes = off + size

    # -- statements --------------------------------------------------------------------------------------
    def out(self, depth: int, text: str):
        if self.pending is not None:  # the source-line comment of the statement that produced this code
            self.lines.append(self.pending)
            self.pending = None
        self.lines.append("  " * depth + text)

    def comment(self, s, depth):
        loc = getattr(s, "loc", None)
        if loc is not None and (loc.file, loc.line) != self.last_loc:
            self.last_loc = (loc.file, loc.line)
            self.pending = "  " * depth + f"// {loc.file.rsplit('/', 1)[-1]}:{loc.line}"

    def block(self, stmts, depth):
        for s in stmts:
            self.stmt(s, depth)

    def stmt(self, s, depth):
        self.comment(s, depth)
        if isinstance(s, ir.Assign):
            self.vars.setdefault(s.var.name, s.var.dtype)
            self.out(depth, f"{self.name(s.var.name)} = {self.ex(s.value, s.var.dtype)};")
        elif isinstance(s, ir.Store):
            self.out(depth, f"{self.buffer(s.buffer)}[{self.index(s.index)}] = {self.ex(s.value, s.buffer.dtype)};")
        elif isinstance(s, ir.If):
            self.out(depth, f"if ({self.ex(s.cond, 'bool')}) {{")
            self.block(s.then, depth + 1)
            if s.orelse:
                self.out(depth, "} else {")
                self.block(s.orelse, depth + 1)
            self.out(depth, "}")
        elif isinstance(s, ir.For):
            self.vars.setdefault(s.var.name, s.var.dtype)
            v = self.name(s.var.name)
            step_const = s.step.value if isinstance(s.step, ir.Const) else None
            self.tmp += 1
            stop, step = f"axe_stop{self.tmp}", f"axe_step{self.tmp}"
            bounds = f"const int {stop} = {self.ex(s.stop, 'i32')}; const int {step} = {self.ex(s.step, 'i32')};"
            self.out(depth, f"{{ {bounds}")
            cond = f"{v} < {stop}" if step_const is not None and step_const > 0 else \
                f"{v} > {stop}" if step_const is not None else f"({step} > 0 ? {v} < {stop} : {v} > {stop})"
            self.out(depth, f"for ({v} = {self.ex(s.start, 'i32')}; {cond}; {v} += {step}) {{")
            self.block(s.body, depth + 1)
            self.out(depth, "} }")
        elif isinstance(s, ir.While):
            self.out(depth, f"while ({self.ex(s.cond, 'bool')}) {{")
            self.block(s.body, depth + 1)
            self.out(depth, "}")
        elif isinstance(s, ir.Break):
            self.out(depth, "break;")
        elif isinstance(s, ir.Continue):
            self.out(depth, "continue;")
        elif isinstance(s, ir.Barrier):
            self.out(depth, _BARRIERS[s.scope])
        elif isinstance(s, ir.Alloc):
            b = s.buffer
            self.buffer(b)
            if b.scope == "local":  # the CPU backend zero-fills at the allocation; so do we
                zero = literal(0, b.dtype)
                n = self.name(b.name)
                self.out(depth, f"for (int axe_i = 0; axe_i < {int(b.size)}; ++axe_i) {n}[axe_i] = {zero};")
        elif isinstance(s, ir.Evaluate):
            if s.call.name in _STMT_CALLS:
                _STMT_CALLS[s.call.name](self, s.call, depth)
            else:
                self.out(depth, f"(void)({self.ex(s.call)});")
        elif isinstance(s, ir.OpCall):
            raise DslError(at(s.loc, f"operator {s.op} reached the CUDA emitter unlowered (run lower_ops first)"))
        else:
            raise DslError(f"the CUDA emitter cannot express statement {type(s).__name__}")

    # -- the translation unit ----------------------------------------------------------------------------
    def emit(self) -> CudaSource:
        k = self.k
        params = []
        for p in k.params:
            if isinstance(p, ir.Buffer):
                restrict = " __restrict__" if self.noalias else ""
                params.append(f"{ctype(p.dtype)}*{restrict} {self.name(p.name)}")
            else:
                params.append(f"{ctype(p.dtype)} {self.name(p.name)}")
        body_start = len(self.lines)
        self.block(k.body, 1)
        body = self.lines[body_start:]
        for pname in self.tmaps.values():
            params.append(f"const __grid_constant__ AxeTensorMap {pname}")
        decl = []
        for raw, dt in self.vars.items():
            decl.append(f"  {ctype(dt)} {self.name(raw)} = {literal(0, dt)};")
        for raw, b in self.locals.items():
            decl.append(f"  __align__(16) {ctype(b.dtype)} {self.name(raw)}[{int(b.size)}];")
        if self.shared:
            decl.append("  extern __shared__ __align__(1024) unsigned char axe_smem[];")
            for raw, (b, off) in self.shared.items():
                decl.append(f"  {ctype(b.dtype)}* const {self.name(raw)} = reinterpret_cast<{ctype(b.dtype)}*>"
                            f"(axe_smem + {off});  // {int(b.size)} x {b.dtype}")
        name = self.name(k.name)
        bounds = f"{k.threads}, 1" if calls(k.body, "setmaxnreg") else f"{k.threads}"   # setmaxnreg needs a cap
        head = [f"// generated by axe-dsl from kernel {k.name!r}" + (f" ({k.file})" if k.file else ""),
                f"// grid {tuple(k.grid)}, {k.threads} threads per CTA"
                + (f", clusters of {tuple(k.cluster)}" if any(c != 1 for c in k.cluster) else "")
                + f", {self.shared_bytes} bytes of shared memory", prelude("\n".join(body)),
                f'extern "C" __global__ void __launch_bounds__({bounds}) {name}({", ".join(params)}) {{']
        if self.tmaps:
            head.insert(2, "struct __align__(64) AxeTensorMap { unsigned long long v[16]; };  // a CUtensorMap")
        if calls(k.body, "wgmma_m64nk16"):   # its waits and setmaxnreg are guarded by the same macro
            head.insert(2, "#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)\n"
                           "#error \"this kernel uses wgmma: compile it for sm_90a\"\n#endif")
        code = "\n".join(head + decl + body + ["}", ""])
        return CudaSource(code, name, self.shared_bytes, k.threads, tuple(k.grid), tuple(k.cluster),
                          tuple(self.tmaps), tuple(sorted(self.align.items())))


_BARRIERS = {"cta": "__syncthreads();", "warp": "__syncwarp();",
             "warpgroup": 'asm volatile("bar.sync %0, 128;" :: "r"(1 + (int)(threadIdx.x >> 7)) : "memory");',
             "cluster": 'asm volatile("barrier.cluster.arrive.aligned;\\n\\tbarrier.cluster.wait.aligned;" ::: '
                        '"memory");'}


def emit_cuda(kernel: ir.Kernel, noalias: bool = True) -> CudaSource:
    """The CUDA C++ translation unit of a thread-level kernel (after ``lower_ops``). Tensor parameters are
    ``__restrict__`` unless ``noalias=False`` (the runtime asks for that when two arguments overlap)."""
    missing = [n for n in ir.INTRINSICS if n not in _CALLS and n not in _STMT_CALLS]
    if missing:
        raise DslError(f"the CUDA emitter lacks intrinsics {missing}")
    return _Emitter(kernel, noalias).emit()
