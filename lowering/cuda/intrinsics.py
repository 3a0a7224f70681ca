"""CUDA C++ for the IR's intrinsics (``lowering.ir.INTRINSICS``): math, shuffles, ``mma.sync``, ``ldmatrix``,
vector and ``cp.async`` copies, TMA loads, mbarriers, ``wgmma``, distributed shared memory.
``CALLS`` hold expression intrinsics, ``STMT_CALLS`` statement intrinsics (they print lines).

>>> sorted(set(CALLS) | set(STMT_CALLS)) == sorted(__import__("dsl").ir.INTRINSICS)
True
"""

from __future__ import annotations

from lowering import ir
from lowering.ir import arith
from lowering.ir.address import axis_expr
from lowering.ir.errors import DslError, at

from .ctypes import HALF, compute_type, convert, from_f32

_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "i32": 4, "i64": 8, "bool": 1}
_MATH32 = {"exp": "expf", "log": "logf", "sqrt": "sqrtf", "abs": "fabsf", "sin": "sinf", "cos": "cosf",
           "tanh": "tanhf"}
_MATH64 = {"exp": "exp", "log": "log", "sqrt": "sqrt", "abs": "fabs", "sin": "sin", "cos": "cos", "tanh": "tanh"}


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
    """``mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32`` on fragments in per-thread arrays:
    PTX register i of each operand is element i of the fragment (pairs of 16-bit values packed in a 32-bit
    register); A and B are both f16 or both bf16 (the same fragment layouts)."""
    d, d_off, a, a_off, b, b_off = e.args
    ab = getattr(a, "dtype", None)
    for buf, dt in ((d, "f32"), (a, ab), (b, ab)):
        if not isinstance(buf, ir.Buffer) or buf.scope != "local" or buf.dtype != dt or ab not in HALF:
            raise DslError(at(e.loc, "mma_m16n8k16 takes a local f32 D and local A/B fragments, both f16 or both "
                                     f"bf16 (got {getattr(a, 'name', a)!r}: {ab}, {getattr(b, 'name', b)!r}: "
                                     f"{getattr(b, 'dtype', None)})"))
    dn, an, bn = em.buffer(d), em.buffer(a), em.buffer(b)
    do, ao, bo = em.ex(d_off, "i32"), em.ex(a_off, "i32"), em.ex(b_off, "i32")
    em.out(depth, "{")
    em.out(depth + 1, f"const unsigned int* axe_a = reinterpret_cast<const unsigned int*>(&{an}[{ao}]);")
    em.out(depth + 1, f"const unsigned int* axe_b = reinterpret_cast<const unsigned int*>(&{bn}[{bo}]);")
    em.out(depth + 1, f"float* axe_d = &{dn}[{do}];")
    em.out(depth + 1, f'asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.{ab}.{ab}.f32 '
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


CALLS = {name: _math for name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "rsqrt")}


CALLS["dsmem_load"] = _dsmem_load


_VEC = {(4, 2): ("float2", "int2"), (4, 4): ("float4", "int4")}      # (element bytes, n) -> (f32, i32) types
_WORDS = {2: "unsigned int", 4: "uint2", 8: "uint4"}                 # n halves -> the type of n/2 words


def _copy_vec_registers(em, e, depth, dst, di, src, si, n: int) -> None:
    """``n`` registers to (or from) ``n`` consecutive elements of memory, moved as one value built from (or
    taken apart into) the registers -- no address is taken of the register array, which stays in registers."""
    store = src.scope == "local"
    regs, ri, mem, mi = (src, si, dst, di) if store else (dst, di, src, si)
    bytes_ = _BYTES[regs.dtype]
    r = [f"{em.buffer(regs)}[{em.ex(arith.add(ri, j), 'i32')}]" for j in range(n)]
    addr = f"&{em.buffer(mem)}[{em.ex(mi, 'i32')}]"
    em.vector_access(mem, n * bytes_)
    if bytes_ == 4:
        vec = _VEC[(4, n)][0 if regs.dtype == "f32" else 1]
        lanes = "xyzw"[:n]
        if store:
            em.out(depth, f"*reinterpret_cast<{vec}*>({addr}) = make_{vec}({', '.join(r)});")
        else:
            em.out(depth, f"{{ const {vec} axe_v = *reinterpret_cast<const {vec}*>({addr}); "
                          + " ".join(f"{x} = axe_v.{c};" for x, c in zip(r, lanes)) + " }")
        return
    # 16-bit elements: pairs packed into 32-bit words, low half first
    words = [f"((unsigned int){r[2 * w]} | ((unsigned int){r[2 * w + 1]} << 16))" for w in range(n // 2)]
    vec = _WORDS[n]
    if store:
        value = words[0] if n == 2 else f"make_{vec}({', '.join(words)})"
        em.out(depth, f"*reinterpret_cast<{vec}*>({addr}) = {value};")
        return
    parts = ["axe_v"] if n == 2 else [f"axe_v.{c}" for c in "xyzw"[:n // 2]]
    take = " ".join(f"{r[2 * w]} = (unsigned short)({p} & 0xffffu); {r[2 * w + 1]} = (unsigned short)({p} >> 16);"
                    for w, p in enumerate(parts))
    em.out(depth, f"{{ const {vec} axe_v = *reinterpret_cast<const {vec}*>({addr}); {take} }}")


def _copy_vec(em, e, depth):
    dst, di, src, si, n = e.args
    n = int(n.value)
    if e.name == "copy_vec" and "local" in (src.scope, dst.scope):
        if src.scope == dst.scope or n not in {4: (2, 4), 2: (2, 4, 8)}.get(_BYTES[src.dtype], ()):
            raise DslError(at(e.loc, f"copy_vec moves 2 or 4 four-byte, or 2, 4 or 8 two-byte registers to or "
                                     f"from memory, not {n} x {src.dtype}"))
        _copy_vec_registers(em, e, depth, dst, di, src, si, n)
        return
    if n * _BYTES[dst.dtype] != 16:
        raise DslError(at(e.loc, f"{e.name} moves 16 bytes, not {n} x {dst.dtype}"))
    d = f"&{em.buffer(dst)}[{em.ex(di, 'i32')}]"
    s = f"&{em.buffer(src)}[{em.ex(si, 'i32')}]"
    em.vector_access(dst, 16)
    em.vector_access(src, 16)
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
                      f'{{{regs}}}, [%{num}];" : {outs} : "r"(axe_s) : "memory");')
    em.out(depth, "}")


def _wgmma(em, e, depth):
    """``wgmma.mma_async.sync.aligned.m64nNk16.f32.T.T`` with both operands from shared-memory descriptors;
    each descriptor starts at the operand's unswizzled address of its k column (the swizzle is applied by
    the hardware, as the TMA applied it when writing)."""

    acc, a, a_row, ak, b, b_row, bk, n = e.args
    n = int(n.value)
    ab = "f16" if a.dtype == "f16" else "bf16"
    offs = []
    for buf, row, k0 in ((a, a_row, ak), (b, b_row, bk)):
        shape = tuple(int(d.value) for d in buf.shape)
        inner = axis_expr(buf.layout.layout, shape, (row, int(k0.value)), "m")   # unswizzled element address
        offs.append(f"{_BYTES[buf.dtype]} * ({em.ex(inner, 'i32')})")
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


def _wgmma_wait(em, e, depth):
    """``dsl.gemm_wait``: wgmma groups exist on sm_90a only; elsewhere every gemm has finished already."""
    em.out(0, "#ifdef __CUDA_ARCH_FEAT_SM90_ALL")
    em.out(depth, f'asm volatile("wgmma.wait_group.sync.aligned {int(e.args[0].value)};" ::: "memory");')
    em.out(0, "#endif")


def _setmaxnreg(em, e, depth):
    """``setmaxnreg``: ``.inc`` above the registers each thread gets at launch (the kernel is compiled with
    ``__launch_bounds__(threads, 1)``, so at most 64K / threads), ``.dec`` at or below it."""
    n = int(e.args[0].value)
    start = min(255, 65536 // em.k.threads) // 8 * 8
    em.out(0, "#ifdef __CUDA_ARCH_FEAT_SM90_ALL  // sm_90a only; elsewhere registers stay as allocated")
    em.out(depth, f'asm volatile("setmaxnreg.{"inc" if n > start else "dec"}.sync.aligned.u32 {n};" ::: "memory");')
    em.out(0, "#endif")


def _asm(text):
    return lambda em, e, depth: em.out(depth, f'asm volatile("{text}" ::: "memory");')


def _smem_addr(em, buf, index="0") -> str:
    return f"(unsigned int)__cvta_generic_to_shared(&{em.buffer(buf)}[{index}])"


def _tma_load(em, e, depth):
    """``cp.async.bulk.tensor.2d`` of a (box cols x box rows) box into a column block of a swizzled tile,
    completing on the mbarrier; the tensor map is a ``__grid_constant__`` parameter built at launch."""

    dst, row_off, col_off, src, c0, c1, bw, bh, mbar, midx, sw = e.args
    key = (src.name, int(bw.value), int(bh.value), int(sw.value), src.dtype)
    pname = em.tmaps.setdefault(key, f"axe_tmap_{len(em.tmaps)}")
    shape = tuple(int(d.value) for d in dst.shape)
    start = em.ex(axis_expr(dst.layout.layout, shape, (row_off, int(col_off.value)), "m"), "i32")
    em.out(depth, 'asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes '
                  '[%0], [%1, {%2, %3}], [%4];"')
    em.out(depth + 1, f':: "r"({_smem_addr(em, dst, start)}), '
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
        # sm_90: try_wait lets the hardware suspend the thread a while; sm_80: spin on test_wait. Compiled
        # with -DAXE_WAIT_LIMIT=N (AXE_CUDA_WAIT_LIMIT at run time), a wait that polls N times traps: a
        # broken pipeline fails the launch instead of hanging the GPU.
        em.out(depth, "{ unsigned int axe_done = 0;")
        em.out(depth, "  for (unsigned long long axe_polls = 0; !axe_done; ++axe_polls) {")
        for arch, op in (("#if __CUDA_ARCH__ >= 900", "try_wait"), ("#else", "test_wait")):
            em.out(0, arch)
            em.out(depth + 2, f"asm volatile(\"{{ .reg .pred p; mbarrier.{op}.parity.shared::cta.b64 p, [%1], %2; "
                              f"selp.u32 %0, 1, 0, p; }}\" : \"=r\"(axe_done) : \"r\"({a}), "
                              f'"r"({em.ex(e.args[2], "i32")}) : "memory");')
        em.out(0, "#endif")
        em.out(0, "#ifdef AXE_WAIT_LIMIT")
        em.out(depth + 2, "if (axe_polls > AXE_WAIT_LIMIT) __trap();")
        em.out(0, "#endif")
        em.out(depth, "} }")
    else:
        em.out(depth, f'asm volatile("mbarrier.inval.shared::cta.b64 [%0];" :: "r"({a}) : "memory");')


def _cp_async_wait(em, e, depth):
    em.out(depth, 'asm volatile("cp.async.wait_all;" ::: "memory");')


STMT_CALLS = {"mma_m16n8k16": _mma, "copy_vec": _copy_vec, "cp_async": _copy_vec, "ldmatrix": _ldmatrix,
              "wgmma_m64nk16": _wgmma, "wgmma_fence": _asm("wgmma.fence.sync.aligned;"),
              "wgmma_commit": _asm("wgmma.commit_group.sync.aligned;"),
              "wgmma_wait": _wgmma_wait, "setmaxnreg": _setmaxnreg,
              "fence_proxy_async": _asm("fence.proxy.async.shared::cta;"), "tma_load": _tma_load,
              "mbar_init": _mbar, "mbar_expect_tx": _mbar, "mbar_wait": _mbar, "mbar_inval": _mbar,
              "mbar_arrive": _mbar,
              "cp_async_wait_all": _cp_async_wait}
CALLS.update({"shfl_xor": _shfl, "shfl_idx": _shfl})


def _stmatrix(em, e, depth):
    """``stmatrix.sync.aligned.m8n8.x{num}[.trans].shared.b16`` (sm_90): the mirror of ``ldmatrix``; lane 8j+i
    gives the shared address of row i of matrix j, each lane's 32-bit register j is two 16-bit elements."""
    buf, row, src, off, num, trans = e.args
    num, trans = int(num.value), bool(trans.value)
    if buf.scope != "shared" or src.scope != "local" or _BYTES[buf.dtype] != 2 or src.dtype != buf.dtype:
        raise DslError(at(e.loc, "stmatrix stores 16-bit elements from registers into shared memory of the same dtype"))
    regs = ", ".join(f"%{i + 1}" for i in range(num))
    ins = ", ".join(f'"r"(axe_m[{i}])' for i in range(num))
    em.out(depth, "{")
    em.out(depth + 1, f"const unsigned int* axe_m = reinterpret_cast<const unsigned int*>(&{em.buffer(src)}"
                      f"[{em.ex(off, 'i32')}]);")
    em.out(depth + 1, f"unsigned int axe_s = (unsigned int)__cvta_generic_to_shared(&{em.buffer(buf)}"
                      f"[{em.ex(row, 'i32')}]);")
    em.out(depth + 1, f'asm volatile("stmatrix.sync.aligned.m8n8.x{num}{".trans" if trans else ""}.shared.b16 '
                      f'[%0], {{{regs}}};" :: "r"(axe_s), {ins} : "memory");')
    em.out(depth, "}")


STMT_CALLS["stmatrix"] = _stmatrix
