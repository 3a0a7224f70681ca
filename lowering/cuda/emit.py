"""Thread-level IR -> one CUDA C++ translation unit (``extern "C" __global__``), semantics as the CPU backend.

The source is meant to be read: user variable names are kept (sanitised), each statement carries a
``// file:line`` comment when its line changes, index arithmetic is what ``lowering.simplify`` left.
Shared buffers are carved from one dynamic shared-memory block (so kernels may use more than 48 KB);
register tensors are per-thread arrays (aligned for the ``mma`` fragment loads); f16/bf16 are raw bits.

>>> from dsl import ir
>>> a = ir.Buffer("a", "i32", 32)
>>> k = ir.Kernel("iota", (a,), (1,), 32, (ir.Store(a, ir.ThreadIdx("tx"), ir.ThreadIdx("tx")),))
>>> src = emit_cuda(k)
>>> 'extern "C" __global__ void __launch_bounds__(32) iota(int* __restrict__ a)' in src.code
True
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from dsl import ir
from dsl.errors import DslError, at

from .ctypes import HALF, compute_type, convert, ctype, from_f32, literal, prelude, to_f32

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
_MATH32 = {"exp": "expf", "log": "logf", "sqrt": "sqrtf", "abs": "fabsf", "sin": "sinf", "cos": "cosf",
           "tanh": "tanhf"}
_MATH64 = {"exp": "exp", "log": "log", "sqrt": "sqrt", "abs": "fabs", "sin": "sin", "cos": "cos", "tanh": "tanh"}
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
    def __init__(self, kernel: ir.Kernel):
        self.k = kernel
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
            return f"{self.buffer(e.buffer)}[{self.ex(e.index, 'i32')}]"
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
                f"{'floorf' if t == 'f32' else 'floor'}({a} / {b})"
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
            raise DslError(at(e.loc, f"unknown intrinsic {e.name!r} (not in dsl.ir.INTRINSICS)"))
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
            self.out(depth, f"{self.buffer(s.buffer)}[{self.ex(s.index, 'i32')}] = {self.ex(s.value, s.buffer.dtype)};")
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
                params.append(f"{ctype(p.dtype)}* __restrict__ {self.name(p.name)}")
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
        head = [f"// generated by axe-dsl from kernel {k.name!r}" + (f" ({k.file})" if k.file else ""),
                f"// grid {tuple(k.grid)}, {k.threads} threads per CTA"
                + (f", clusters of {tuple(k.cluster)}" if any(c != 1 for c in k.cluster) else "")
                + f", {self.shared_bytes} bytes of shared memory", prelude("\n".join(body)),
                f'extern "C" __global__ void __launch_bounds__({k.threads}) {name}({", ".join(params)}) {{']
        if self.tmaps:
            head.insert(2, "struct __align__(64) AxeTensorMap { unsigned long long v[16]; };  // a CUtensorMap")
        code = "\n".join(head + decl + body + ["}", ""])
        return CudaSource(code, name, self.shared_bytes, k.threads, tuple(k.grid), tuple(k.cluster),
                          tuple(self.tmaps))


_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "i32": 4, "i64": 8, "bool": 1}
_BARRIERS = {"cta": "__syncthreads();", "warp": "__syncwarp();",
             "warpgroup": 'asm volatile("bar.sync %0, 128;" :: "r"(1 + (int)(threadIdx.x >> 7)) : "memory");',
             "cluster": 'asm volatile("barrier.cluster.arrive.aligned;\\n\\tbarrier.cluster.wait.aligned;" ::: '
                        '"memory");'}


def _math(em, e):
    (x,) = e.args
    t = compute_type(e.dtype)
    if e.name == "rsqrt":
        v = f"(1.0f / sqrtf({em.ex(x, t)}))" if t == "f32" else f"(1.0 / sqrt({em.ex(x, t)}))"
    elif t == "f64":
        v = f"{_MATH64[e.name]}({em.ex(x, t)})"
    elif t == "f32":
        v = f"{_MATH32[e.name]}({em.ex(x, t)})"
    elif e.name == "abs":
        v = f"abs({em.ex(x, t)})"
    else:
        raise DslError(at(e.loc, f"{e.name} of a {x.dtype} value"))
    return from_f32(v, e.dtype) if e.dtype in HALF else v


def _shfl(em, e):
    v, arg = e.args
    fn = "__shfl_xor_sync" if e.name == "shfl_xor" else "__shfl_sync"
    t = e.dtype
    if t in HALF or t in ("bool", "i8"):
        return convert(f"{fn}(0xffffffffu, (int){em.ex(v)}, {em.ex(arg, 'i32')})", "i32", t) if t not in HALF \
            else f"(unsigned short){fn}(0xffffffffu, (unsigned int){em.ex(v)}, {em.ex(arg, 'i32')})"
    return f"{fn}(0xffffffffu, {em.ex(v)}, {em.ex(arg, 'i32')})"


def _mma(em, e, depth):
    """``mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32`` on fragments in per-thread arrays: PTX register
    i of each operand is element i of the fragment (pairs of f16 packed in a 32-bit register)."""
    d, d_off, a, a_off, b, b_off = e.args
    for buf, dt in ((d, "f32"), (a, "f16"), (b, "f16")):
        if not isinstance(buf, ir.Buffer) or buf.scope != "local" or buf.dtype != dt:
            raise DslError(at(e.loc, "mma_m16n8k16 takes local f32 D and f16 A/B fragments"))
    dn, an, bn = em.buffer(d), em.buffer(a), em.buffer(b)
    do, ao, bo = em.ex(d_off, "i32"), em.ex(a_off, "i32"), em.ex(b_off, "i32")
    em.out(depth, "{")
    em.out(depth + 1, f"const unsigned int* axe_a = reinterpret_cast<const unsigned int*>(&{an}[{ao}]);")
    em.out(depth + 1, f"const unsigned int* axe_b = reinterpret_cast<const unsigned int*>(&{bn}[{bo}]);")
    em.out(depth + 1, f"float* axe_d = &{dn}[{do}];")
    em.out(depth + 1, 'asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 '
                      '{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"')
    em.out(depth + 2, ': "+f"(axe_d[0]), "+f"(axe_d[1]), "+f"(axe_d[2]), "+f"(axe_d[3])')
    em.out(depth + 2, ': "r"(axe_a[0]), "r"(axe_a[1]), "r"(axe_a[2]), "r"(axe_a[3]), "r"(axe_b[0]), "r"(axe_b[1]));')
    em.out(depth, "}")


def _dsmem_load(em, e):
    """``mapa`` the address into CTA ``rank``'s shared window, then ``ld.shared::cluster`` (sm_90)."""
    buf, rank, index = e.args
    t = buf.dtype
    width = {"f32": ("f32", "f", "float"), "i32": ("s32", "r", "int"), "f16": ("b16", "h", "unsigned short"),
             "bf16": ("b16", "h", "unsigned short"), "f64": ("f64", "d", "double"), "i64": ("s64", "l", "long long")}
    if t not in width:
        raise DslError(at(e.loc, f"dsmem_load of {t} is not supported"))
    ptx, con, ct = width[t]
    addr = f"(unsigned int)__cvta_generic_to_shared(&{em.buffer(buf)}[{em.ex(index, 'i32')}])"
    return (f"([&]() {{ unsigned int axe_r; {ct} axe_v; "
            f"asm volatile(\"mapa.shared::cluster.u32 %0, %1, %2;\" : \"=r\"(axe_r) : \"r\"({addr}), "
            f"\"r\"({em.ex(rank, 'i32')})); "
            f"asm volatile(\"ld.shared::cluster.{ptx} %0, [%1];\" : \"={con}\"(axe_v) : \"r\"(axe_r) : \"memory\"); "
            f"return axe_v; }}())")


_CALLS = {name: _math for name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "rsqrt")}
_CALLS["dsmem_load"] = _dsmem_load
_CALLS.update({"shfl_xor": _shfl, "shfl_idx": _shfl})
def _copy_vec(em, e, depth):
    dst, di, src, si, n = e.args
    if int(n.value) * _BYTES[dst.dtype] != 16:
        raise DslError(at(e.loc, f"{e.name} moves 16 bytes, not {int(n.value)} x {dst.dtype}"))
    d = f"&{em.buffer(dst)}[{em.ex(di, 'i32')}]"
    s = f"&{em.buffer(src)}[{em.ex(si, 'i32')}]"
    if e.name == "copy_vec":
        em.out(depth, f"*reinterpret_cast<uint4*>({d}) = *reinterpret_cast<const uint4*>({s});")
    else:
        em.out(depth, f'asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: '
                      f'"r"((unsigned int)__cvta_generic_to_shared({d})), "l"({s}) : "memory");')


def _ldmatrix(em, e, depth):
    dst, off, buf, row, num, trans = e.args
    num, trans = int(num.value), bool(trans.value)
    if buf.scope != "shared" or dst.scope != "local" or _BYTES[buf.dtype] != 2:
        raise DslError(at(e.loc, "ldmatrix loads 16-bit elements from shared memory into registers"))
    regs = ", ".join(f"%{i}" for i in range(num))
    outs = ", ".join(f'"=r"(axe_m[{i}])' for i in range(num))
    em.out(depth, "{")
    em.out(depth + 1, f"unsigned int* axe_m = reinterpret_cast<unsigned int*>(&{em.buffer(dst)}[{em.ex(off, 'i32')}]);")
    em.out(depth + 1, f"unsigned int axe_s = (unsigned int)__cvta_generic_to_shared(&{em.buffer(buf)}"
                      f"[{em.ex(row, 'i32')}]);")
    em.out(depth + 1, f'asm volatile("ldmatrix.sync.aligned.m8n8.x{num}{".trans" if trans else ""}.shared.b16 '
                      f'{{{regs}}}, [%{num}];" : {outs} : "r"(axe_s));')
    em.out(depth, "}")


def _wgmma(em, e, depth):
    """``wgmma.mma_async.sync.aligned.m64nNk16.f32.T.T`` with both operands from shared-memory descriptors;
    each descriptor starts at the operand's unswizzled address of its k column (the swizzle is applied by
    the hardware, as the TMA applied it when writing)."""
    from dsl.address import axis_expr

    acc, a, ak, b, bk, n = e.args
    n = int(n.value)
    ab = "f16" if a.dtype == "f16" else "bf16"
    offs = []
    for buf, k0 in ((a, ak), (b, bk)):
        shape = tuple(int(d.value) for d in buf.shape)
        inner = axis_expr(buf.layout.layout, shape, (0, int(k0.value)), "m")
        offs.append(int(inner.value) * _BYTES[buf.dtype])
    accn = em.buffer(acc)
    regs = ", ".join(f"%{i}" for i in range(n // 2))
    outs = ", ".join(f'"+f"({accn}[{i}])' for i in range(n // 2))
    em.out(depth, "{")
    em.out(depth + 1, f"unsigned long long axe_da = axe_sw128_desc((unsigned int)__cvta_generic_to_shared("
                      f"{em.buffer(a)}) + {offs[0]});")
    em.out(depth + 1, f"unsigned long long axe_db = axe_sw128_desc((unsigned int)__cvta_generic_to_shared("
                      f"{em.buffer(b)}) + {offs[1]});")
    h = n // 2
    em.out(depth + 1, f'asm volatile("{{ .reg .pred p; setp.ne.b32 p, %{h + 2}, 0; '
                      f'wgmma.mma_async.sync.aligned.m64n{n}k16.f32.{ab}.{ab} '
                      f'{{{regs}}}, %{h}, %{h + 1}, p, 1, 1, 0, 0; }}"')
    em.out(depth + 2, f': {outs}')
    em.out(depth + 2, ': "l"(axe_da), "l"(axe_db), "r"(1) : "memory");')
    em.out(depth, "}")


def _asm(text):
    return lambda em, e, depth: em.out(depth, f'asm volatile("{text}" ::: "memory");')


def _smem_addr(em, buf, index="0") -> str:
    return f"(unsigned int)__cvta_generic_to_shared(&{em.buffer(buf)}[{index}])"


def _tma_load(em, e, depth):
    """``cp.async.bulk.tensor.2d`` of a (box cols x box rows) box into a column block of a swizzled tile,
    completing on the mbarrier; the tensor map is a ``__grid_constant__`` parameter built at launch."""
    from dsl.address import axis_expr

    dst, col_off, src, c0, c1, bw, bh, mbar, midx, sw = e.args
    key = (src.name, int(bw.value), int(bh.value), int(sw.value), src.dtype)
    pname = em.tmaps.setdefault(key, f"axe_tmap_{len(em.tmaps)}")
    shape = tuple(int(d.value) for d in dst.shape)
    start = int(axis_expr(dst.layout.layout, shape, (0, int(col_off.value)), "m").value)
    em.out(depth, 'asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes '
                  '[%0], [%1, {%2, %3}], [%4];"')
    em.out(depth + 1, f':: "r"({_smem_addr(em, dst, str(start))}), '
                      f'"l"(reinterpret_cast<unsigned long long>(&{pname})), '
                      f'"r"({em.ex(c0, "i32")}), "r"({em.ex(c1, "i32")}), '
                      f'"r"({_smem_addr(em, mbar, em.ex(midx, "i32"))}) : "memory");')


def _mbar(em, e, depth):
    mbar, idx = e.args[0], e.args[1]
    a = _smem_addr(em, mbar, em.ex(idx, "i32"))
    if e.name == "mbar_init":
        em.out(depth, f'asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"({a}), '
                      f'"r"({em.ex(e.args[2], "i32")}) : "memory");')
        em.out(0, "#if __CUDA_ARCH__ >= 900  // make the initialised barrier visible to the async proxy (TMA)")
        em.out(depth, 'asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");')
        em.out(0, "#endif")
    elif e.name == "mbar_expect_tx":
        em.out(depth, f'asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" :: "r"({a}), '
                      f'"r"({em.ex(e.args[2], "i32")}) : "memory");')
    elif e.name == "mbar_arrive":
        em.out(depth, f'asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" :: "r"({a}) : "memory");')
    elif e.name == "mbar_wait":
        em.out(depth, f"for (unsigned int axe_done = 0; !axe_done;) asm volatile(\"{{ .reg .pred p; "
                      f"mbarrier.test_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }}\" "
                      f': "=r"(axe_done) : "r"({a}), "r"({em.ex(e.args[2], "i32")}) : "memory");')
    else:
        em.out(depth, f'asm volatile("mbarrier.inval.shared::cta.b64 [%0];" :: "r"({a}) : "memory");')


def _cp_async_wait(em, e, depth):
    em.out(depth, 'asm volatile("cp.async.wait_all;" ::: "memory");')


_STMT_CALLS = {"mma_m16n8k16": _mma, "copy_vec": _copy_vec, "cp_async": _copy_vec, "ldmatrix": _ldmatrix,
               "wgmma_m64nk16": _wgmma, "wgmma_fence": _asm("wgmma.fence.sync.aligned;"),
               "wgmma_commit": _asm("wgmma.commit_group.sync.aligned;"),
               "wgmma_wait": _asm("wgmma.wait_group.sync.aligned 0;"),
               "fence_proxy_async": _asm("fence.proxy.async.shared::cta;"), "tma_load": _tma_load,
               "mbar_init": _mbar, "mbar_expect_tx": _mbar, "mbar_wait": _mbar, "mbar_inval": _mbar,
               "mbar_arrive": _mbar,
               "cp_async_wait_all": _cp_async_wait}


def emit_cuda(kernel: ir.Kernel) -> CudaSource:
    """The CUDA C++ translation unit of a thread-level kernel (after ``lower_ops``)."""
    missing = [n for n in ir.INTRINSICS if n not in _CALLS and n not in _STMT_CALLS]
    if missing:
        raise DslError(f"the CUDA emitter lacks intrinsics {missing}")
    return _Emitter(kernel).emit()


def to_f32_expr(x: str, dtype: str) -> str:  # re-exported for schedules that build C++ by hand
    return to_f32(x, dtype)
