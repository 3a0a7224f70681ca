"""Cases the CPU backend and the frontend used to accept silently: integer division by zero (0 on the CPU,
undefined in C++), shifts past the width, uninitialised registers read by mma fragments or vector copies
(reached through a layout's or the intrinsic's offset), views of shared memory with thread axes, a named
view that re-zeroed its storage, and layouts held by a kernel factory's closure."""

import numpy as np
import pytest

import dsl
from backends.cpu import run
from lowering import ir
from lowering.verify import verify
from tests.kernel_source import kernel_from_source


def build(tmp_path, src, name="k"):
    return kernel_from_source(tmp_path, src, name)


@pytest.mark.parametrize("op, what", [("//", "division"), ("%", "modulo")])
def test_integer_division_by_zero_is_an_error_at_the_line(tmp_path, op, what):
    k, path = build(tmp_path, f"""
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.i32], d: dsl.Tensor[(32,), dsl.i32]):
        i = dsl.thread_id()
        a[i] = 100 {op} d[i]
    """)
    a, d = np.zeros(32, np.int32), np.arange(32, dtype=np.int32) - 5       # thread 5 divides by 0
    with pytest.raises(dsl.KernelRuntimeError, match=f"integer {what} by zero in kernel 'k': thread "
                                                     f"\\(cta=0, tx=5\\)") as e:
        k(a, d)
    assert str(e.value).startswith(f"{path}:7:")
    d[5] = 1                                                                # inactive threads do not count
    k(a, d)
    assert a[6] == (100 // 1 if op == "//" else 0)


def test_division_by_zero_in_an_inactive_thread_is_fine(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.i32], d: dsl.Tensor[(32,), dsl.i32]):
        i = dsl.thread_id()
        if d[i] != 0:
            a[i] = 64 // d[i]
    """)
    a, d = np.zeros(32, np.int32), np.arange(32, dtype=np.int32)
    k(a, d)
    assert a[0] == 0 and a[1] == 64 and a[2] == 32


def test_float_division_by_zero_is_ieee(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=4)
    def k(a: dsl.Tensor[(4,), dsl.f32]):
        a[dsl.thread_id()] = 1.0 / dsl.f32(dsl.thread_id())
    """)
    a = np.zeros(4, np.float32)
    k(a)
    assert np.isinf(a[0]) and a[2] == 0.5


def test_shifts_past_the_width_are_errors(tmp_path):
    k, path = build(tmp_path, """
    @dsl.kernel(threads=4)
    def k(a: dsl.Tensor[(4,), dsl.i32], s: dsl.i32):
        a[dsl.thread_id()] = 1 << (s + dsl.thread_id())
    """)
    a = np.zeros(4, np.int32)
    k(a, 28)
    assert a.tolist() == [1 << 28, 1 << 29, 1 << 30, -(1 << 31)]
    with pytest.raises(dsl.KernelRuntimeError, match="shift by 32 of a 32-bit integer .*tx=3"):
        k(a, 29)


def test_constant_divisors_of_zero_are_refused_when_compiling(tmp_path):
    k, path = build(tmp_path, """
    Z = 0

    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.i32]):
        a[dsl.thread_id()] = dsl.thread_id() // Z
    """)
    with pytest.raises(dsl.DslError, match="integer division by zero") as e:
        k.compile()
    assert str(e.value).startswith(f"{path}:8:")


def test_verify_refuses_undefined_constants_in_any_ir():
    a = ir.Buffer("a", "i32", 4)
    tx = ir.ThreadIdx("tx")
    for value, msg in ((ir.BinOp("%", tx, ir.Const(0, "i32")), "integer modulo by zero"),
                       (ir.BinOp("+", tx, ir.Const(2**40, "i32")), "constant 1099511627776 does not fit in i32"),
                       (ir.BinOp(">>", tx, ir.Const(-1, "i32")), "shift by -1 of a 32-bit integer")):
        k = ir.Kernel("k", (a,), (1,), 4, (ir.Store(a, tx, value, loc=ir.Loc("k.py", 3)),))
        with pytest.raises(dsl.DslError, match=f"k.py:3: kernel 'k': {msg}"):
            verify(k)


# -- uninitialised reads ------------------------------------------------------------------------------------
def test_mma_fragments_reached_through_an_offset_must_have_been_written(tmp_path, monkeypatch):
    """A fragment read by ``mma_m16n8k16`` at an offset into a register array (a tile of a layout) was not
    checked: only plain loads were."""
    monkeypatch.setenv("AXE_CHECK_UNINIT", "1")
    src = """
    @dsl.kernel(threads=32)
    def k(out: dsl.Tensor[(32, 4), dsl.f32]):
        a = dsl.alloc_local((16,), dsl.f16)
        b = dsl.alloc_local((4,), dsl.f16)
        d = dsl.alloc_local((4,), dsl.f32)
        for i in range(WRITTEN):
            a[i] = dsl.f16(1.0)
        for i in range(4):
            b[i] = dsl.f16(1.0)
            d[i] = 0.0
        dsl.mma_m16n8k16(d, 0, a, 8, b, 0)
        for i in range(4):
            out[dsl.thread_id(), i] = d[i]
    """
    k, path = build(tmp_path, src.replace("WRITTEN", "8"))
    with pytest.raises(dsl.KernelRuntimeError, match="read of uninitialised local tensor 'a' .* element 8 was "
                                                     "never written") as e:
        k(np.zeros((32, 4), np.float32))
    assert str(e.value).startswith(f"{path}:14:")
    ok, _ = build(tmp_path, src.replace("WRITTEN", "16"))
    out = np.zeros((32, 4), np.float32)
    ok(out)
    assert (out == 16).all()


def test_vector_copies_read_only_written_registers():
    r = ir.Buffer("r", "f32", 8, "local", (ir.Const(8, "i32"),))
    out = ir.Buffer("out", "f32", 32, "global", (ir.Const(32, "i32"),))
    tx = ir.ThreadIdx("tx")
    loc = ir.Loc("k.py", 5)
    body = (ir.Alloc(r),) + tuple(ir.Store(r, ir.Const(j, "i32"), ir.Const(1.0, "f32")) for j in range(4)) + (
        ir.Evaluate(ir.Call("copy_vec", (out, ir.BinOp("*", tx, ir.Const(4, "i32")), r, ir.Const(4, "i32"),
                                         ir.Const(4, "i32")), "i32", loc=loc), loc=loc),)
    k = ir.Kernel("k", (out,), (1,), 8, body)
    run(k, [np.zeros(32, np.float32)])                      # unchecked: zeros
    with pytest.raises(dsl.KernelRuntimeError, match="k.py:5: read of uninitialised local tensor 'r' .* "
                                                     "element 4 was never written"):
        run(k, [np.zeros(32, np.float32)], check_uninit=True)


def test_uninitialised_reads_in_lowered_code_name_the_operator_line(tmp_path, monkeypatch):
    """Loads a schedule generates carry no line: the statement's (the operator's) is reported."""
    monkeypatch.setenv("AXE_CHECK_UNINIT", "1")
    k, path = build(tmp_path, """
    L = "S[(32,4):(1@lane,1@reg)] + 4@reg"

    @dsl.kernel(threads=32)
    def k(out: dsl.Tensor[(32, 1), dsl.f32]):
        r = dsl.alloc_local((32, 4), dsl.f32, layout=L)
        m = dsl.alloc_local((32, 1), dsl.f32, layout=dsl.reduce_layout(axe.Layout.parse(L), (32, 4), (1,),
                                                                       keepdims=True))
        dsl.sum(m, r, dims=(1,))
        dsl.copy(out, m)
    """)
    with pytest.raises(dsl.KernelRuntimeError, match="read of uninitialised local tensor 'r'.*element 4") as e:
        k(np.zeros((32, 1), np.float32))
    assert str(e.value).startswith(f"{path}:11:")


# -- views ---------------------------------------------------------------------------------------------------
def test_views_of_shared_memory_refuse_thread_axes_as_allocations_do(tmp_path):
    for stmt in ("s = dsl.alloc_shared((32,), dsl.f32, layout='S[32:1@lane]')",
                 "s = dsl.alloc_shared((32,), dsl.f32)\n    t = s.view((32,), layout='S[32:1@lane]')"):
        k, path = kernel_from_source(tmp_path, "\n@dsl.kernel(threads=32)\ndef k(a: dsl.Tensor[(32,), dsl.f32]):\n"
                                               f"    {stmt}\n")
        with pytest.raises(dsl.DslError, match="a shared tensor's layout maps to memory \\(axis m\\); "
                                               "S\\[32:1@lane\\] uses \\('lane',\\)") as e:
            k.compile()
        assert str(e.value).startswith(f"{path}:{6 + stmt.count(chr(10))}:")


def test_a_register_view_refuses_memory_axes(tmp_path):
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32]):
        r = dsl.alloc_local((32,), dsl.f32, layout="S[32:1@lane]")
        t = r.view((32,), layout="S[32:1@m]")
    """)
    with pytest.raises(dsl.DslError, match="a register tensor's layout maps to thread axes and 'reg'"):
        k.compile()


def test_a_named_view_keeps_the_data(tmp_path, monkeypatch):
    """``t = r.view(...)`` used to emit a second allocation of ``r`` (zeroing it, on both backends)."""
    monkeypatch.setenv("AXE_CHECK_UNINIT", "1")
    k, _ = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(out: dsl.Tensor[(32, 4), dsl.f32]):
        r = dsl.alloc_local((32, 4), dsl.f32, layout="S[(32,4):(1@lane,1@reg)] + 4@reg")
        dsl.fill(r, 2.0)
        t = r.view((32, 4), layout="S[(32,4):(1@lane,1@reg)] + 4@reg")
        dsl.copy(out, t)
    """)
    out = np.zeros((32, 4), np.float32)
    k(out)
    assert (out == 2).all()
    assert sum(isinstance(s, ir.Alloc) for s in k.compile().body) == 1


# -- closures ------------------------------------------------------------------------------------------------
def test_a_kernel_factory_may_use_its_arguments_as_layouts(tmp_path):
    k, _ = build(tmp_path, """
    def make(L, dtype, n):
        @dsl.kernel(threads=32)
        def k(out: dsl.Tensor[(32, n), dsl.f32]):
            r = dsl.alloc_local((32, n), dtype, layout=L)
            dsl.fill(r, 3.0)
            dsl.copy(out, r)
        return k

    k = make(axe.Layout.parse("S[(32,2):(1@lane,1@reg)]"), dsl.f32, 2)
    """)
    out = np.zeros((32, 2), np.float32)
    k(out)
    assert (out == 3).all()
