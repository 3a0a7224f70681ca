"""Barriers and warp/warpgroup-collective instructions that operators lower to must be reached by whole groups
(``lowering.verify.verify_lowered``): a shuffle exchange under ``lane < 16``, a shared-memory exchange
(``__syncthreads``) under ``tx < 32``, ``mma.sync`` / ``ldmatrix`` / ``stmatrix``, distributed shared memory
and cluster reductions under thread- or CTA-dependent conditions are errors at the operator's line, on the
CPU lowering and the CUDA lowering alike; scope slices and elected threads that keep the groups whole still
compile. Also: a reduce whose CTA ends in a partial warp declines the shuffle plan (no full-mask shuffle over
lanes that do not exist) on both backends."""

import numpy as np
import pytest

import axe
import dsl
from axe.presets import nvidia
from lowering import ir, verify
from lowering.cuda import emit_cuda
from tests.kernel_source import kernel_from_source

CUDA = [("cpu", None), ("cuda", "sm_80"), ("cuda", "sm_90a")]


def build(tmp_path, src, stem):
    return kernel_from_source(tmp_path, src, stem=stem)


def line_of(path, text: str) -> int:
    """The 1-based line of ``path`` holding ``text`` (once)."""
    lines = [i + 1 for i, s in enumerate(path.read_text().splitlines()) if text in s]
    assert len(lines) == 1, lines
    return lines[0]


def lower(k, backend, arch):
    return k.specialise(backend=backend, arch=arch)


def expect_error(k, path, backend, arch, marker, *words):
    with pytest.raises(dsl.DslError) as err:
        lower(k, backend, arch)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(path, marker)}: kernel 'k': "), msg
    for w in words:
        assert w in msg, msg
    return msg


# -- the review's reproductions (D2) -------------------------------------------------------------------
SHUFFLE = """
@dsl.kernel(threads=32)
def k(a: dsl.Tensor[(32,), dsl.f32], o: dsl.Tensor[(32,), dsl.f32]):
    x = dsl.alloc_local((32,), dsl.f32, layout=axe.Layout.parse("S[32:1@lane]"))
    y = dsl.alloc_local((32,), dsl.f32, layout=axe.Layout.parse("S[(2,16):(1@lane,2@lane)]"))
    with dsl.warp():
        dsl.copy(x, a)
        if COND:
            dsl.copy(y, x)   # the exchange
        dsl.copy(o, y)
"""

SHARED = """
@dsl.kernel(threads=64)
def k(a: dsl.Tensor[(64,), dsl.f32], o: dsl.Tensor[(64,), dsl.f32]):
    x = dsl.alloc_local((64,), dsl.f32, layout=axe.Layout.parse("S[64:1@tx]"))
    y = dsl.alloc_local((64,), dsl.f32, layout=axe.Layout.parse("S[(2,32):(1@tx,2@tx)]"))
    dsl.copy(x, a)
    if COND:
        dsl.copy(y, x)   # the exchange
    dsl.copy(o, y)
"""


@pytest.mark.parametrize("backend, arch", CUDA)
def test_warp_shuffle_exchange_under_a_lane_condition(tmp_path, backend, arch):
    k, path = build(tmp_path, SHUFFLE.replace("COND", "dsl.lane_id() < 16"), "shuf_lane")
    expect_error(k, path, backend, arch, "# the exchange", "copy at warp scope is done by all threads of the warp",
                 "differ per thread", "dsl.copy(y, x)")


@pytest.mark.parametrize("backend, arch", CUDA)
def test_shared_memory_exchange_under_a_warp_condition(tmp_path, backend, arch):
    k, path = build(tmp_path, SHARED.replace("COND", "dsl.thread_id() < 32"), "xch_warp")
    expect_error(k, path, backend, arch, "# the exchange", "copy at cta scope is done by all threads of the CTA",
                 "differ per warp")


def test_the_cuda_source_is_never_emitted(tmp_path):
    k, _ = build(tmp_path, SHUFFLE.replace("COND", "dsl.lane_id() < 16"), "shuf_emit")
    with pytest.raises(dsl.DslError, match="copy at warp scope is done by all threads of the warp"):
        emit_cuda(k.specialise(backend="cuda", arch="sm_80"))


# -- the same hole for the other collective lowerings ---------------------------------------------------
FRAG_A, FRAG_B, FRAG_C = (nvidia.mma_m16n8k16(x) for x in "ABC")
CTA_C = axe.tile(axe.Layout.parse("S[(2,2,2,4):(2@warp,4@reg,1@warp,1@reg)]"), FRAG_C, (4, 8), (16, 8))


@pytest.mark.parametrize("backend, arch", CUDA)
def test_warp_gemm_under_a_lane_condition(tmp_path, backend, arch):
    k, path = build(tmp_path, f"""
    @dsl.kernel(threads=32)
    def k(a: dsl.Tensor[(16, 16), dsl.f16], b: dsl.Tensor[(16, 8), dsl.f16], c: dsl.Tensor[(16, 8), dsl.f32]):
        af = dsl.alloc_local((16, 16), dsl.f16, layout="{FRAG_A}")
        bf = dsl.alloc_local((16, 8), dsl.f16, layout="{FRAG_B}")
        acc = dsl.alloc_local((16, 8), dsl.f32, layout="{FRAG_C}")
        with dsl.warp():
            dsl.copy(af, a)
            dsl.copy(bf, b)
            dsl.fill(acc, 0.0)
            if dsl.lane_id() % 2 == 0:
                dsl.gemm(acc, af, bf)   # mma
            dsl.copy(c, acc)
    """, "gemm_warp")
    expect_error(k, path, backend, arch, "# mma", "gemm at warp scope is done by all threads of the warp together")


@pytest.mark.parametrize("backend, arch", CUDA)
def test_cta_gemm_from_shared_tiles_under_a_lane_condition(tmp_path, backend, arch):
    """On CUDA the fragments are loaded with ldmatrix (the first collective reached), elsewhere by loads."""
    k, path = build(tmp_path, f"""
    @dsl.kernel(threads=128)
    def k(a: dsl.Tensor[(64, 32), dsl.f16], b: dsl.Tensor[(32, 64), dsl.f16], c: dsl.Tensor[(64, 64), dsl.f32]):
        As = dsl.alloc_shared((64, 32), dsl.f16)
        Bs = dsl.alloc_shared((32, 64), dsl.f16)
        acc = dsl.alloc_local((64, 64), dsl.f32, layout="{CTA_C}")
        dsl.fill(acc, 0.0)
        dsl.copy(As, a)
        dsl.copy(Bs, b)
        dsl.barrier()
        if dsl.lane_id() < 16:
            dsl.gemm(acc, As, Bs)   # mma
        dsl.copy(c, acc)
    """, "gemm_cta")
    expect_error(k, path, backend, arch, "# mma", "gemm at cta scope is done by all threads of the CTA together")


def test_stmatrix_under_a_lane_condition(tmp_path):
    """A CTA copy under a lane condition is an error on every backend (before lowering: whatever it lowers
    to, stmatrix on sm_90 or per-thread stores elsewhere, only some threads would do their part)."""
    k, path = build(tmp_path, f"""
    @dsl.kernel(threads=128)
    def k(x: dsl.Tensor[(64, 64), dsl.f16], y: dsl.Tensor[(64, 64), dsl.f16]):
        Cs = dsl.alloc_shared((64, 64), dsl.f16)
        h = dsl.alloc_local((64, 64), dsl.f16, layout="{CTA_C}")
        dsl.copy(h, x)
        if dsl.lane_id() < 16:
            dsl.copy(Cs, h)   # stmatrix
        dsl.barrier()
        dsl.copy(y, Cs)
    """, "stm")
    for backend, arch in (("cuda", "sm_90a"), ("cuda", "sm_80"), ("cpu", None)):
        expect_error(k, path, backend, arch, "# stmatrix", "copy at cta scope is done by all threads of the CTA")


CLUSTER_COPY = """
@dsl.kernel(grid=(8,), threads=32, cluster=(4,))
def k(x: dsl.Tensor[(8, 32), dsl.f32], y: dsl.Tensor[(8, 4, 32), dsl.f32]):
    a = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@cta,1@tx)]")
    b = dsl.alloc_local((4, 32), dsl.f32, layout="S[(4,32):(1@reg,1@tx)] + R[4:1@cta]")
    a[0] = x[dsl.cta_id(), dsl.thread_id()]
    if COND:
        with dsl.cluster():
            dsl.copy(b, a)   # dsmem
    for r in range(4):
        y[dsl.cta_id(), r, dsl.thread_id()] = b[r]
"""


@pytest.mark.parametrize("backend, arch", [("cpu", None), ("cuda", "sm_90a")])
@pytest.mark.parametrize("cond, varies", [("dsl.thread_id() < 16", "differ per thread"),
                                          ("dsl.cluster_cta_id() == 0", "differ per CTA of the cluster")])
def test_distributed_shared_memory_copy_under_a_condition(tmp_path, backend, arch, cond, varies):
    k, path = build(tmp_path, CLUSTER_COPY.replace("COND", cond), f"dsmem_{abs(hash(cond)) % 1000}")
    expect_error(k, path, backend, arch, "# dsmem", "copy at cluster scope is done by all threads of the cluster",
                 varies)


def test_distributed_shared_memory_copy_per_cluster_is_fine(tmp_path):
    """``cluster_id()`` is the same in every CTA of a cluster: whole clusters take the branch."""
    k, _ = build(tmp_path, CLUSTER_COPY.replace("COND", "dsl.cluster_id() == 0"), "dsmem_whole")
    for backend, arch in [("cpu", None), ("cuda", "sm_90a")]:
        lower(k, backend, arch)
    x = np.arange(256, dtype=np.float32).reshape(8, 32)
    y = np.zeros((8, 4, 32), np.float32)
    k(x, y)
    assert np.array_equal(y[:4], np.broadcast_to(x[:4], (4, 4, 32))) and not y[4:].any()


@pytest.mark.parametrize("cond", ["dsl.thread_id() < 16", "dsl.cluster_cta_id() < 2"])
def test_cluster_reduce_under_a_condition(tmp_path, cond):
    """Caught before lowering already (verify's operator check), with the same line."""
    L = axe.Layout.parse("S[(4,32):(1@cta,1@tx)]")
    k, path = build(tmp_path, f"""
    @dsl.kernel(grid=(8,), threads=32, cluster=(4,))
    def k(x: dsl.Tensor[(8, 32), dsl.i32], y: dsl.Tensor[(8, 32), dsl.i32]):
        a = dsl.alloc_local((4, 32), dsl.i32, layout="{L}")
        s = dsl.alloc_local((32,), dsl.i32, layout="{dsl.reduce_layout(L, (4, 32), (0,))}")
        a[0] = x[dsl.cta_id(), dsl.thread_id()]
        if {cond}:
            with dsl.cluster():
                dsl.sum(s, a, dims=(0,))   # reduce
        y[dsl.cta_id(), dsl.thread_id()] = s[0]
    """, f"creduce_{abs(hash(cond)) % 1000}")
    for backend, arch in [("cpu", None), ("cuda", "sm_90a")]:
        expect_error(k, path, backend, arch, "# reduce",
                     "reduce at cluster scope is done by all threads of the cluster together")


@pytest.mark.parametrize("backend, arch", CUDA)
def test_user_shuffle_under_a_lane_condition(tmp_path, backend, arch):
    k, path = build(tmp_path, """
    @dsl.kernel(threads=32)
    def k(x: dsl.Tensor[(32,), dsl.i32]):
        v = x[dsl.lane_id()]
        if dsl.lane_id() < 16:
            v = v + dsl.shfl_xor(v, 1)   # shuffle
        x[dsl.lane_id()] = v
    """, "user_shfl")
    expect_error(k, path, backend, arch, "# shuffle", "shfl_xor is a warp shuffle (__shfl_xor_sync")


# -- what stays legal ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cond", ["dsl.thread_id() < 32", "dsl.thread_id() >= 32", "dsl.warp_id() == 1",
                                  "dsl.thread_id() // 32 == 0"])
def test_warp_scope_exchange_on_whole_warps(tmp_path, cond):
    """Warp-uniform conditions around warp-collective code: a slice of warps written as a condition."""
    k, _ = build(tmp_path, f"""
    @dsl.kernel(threads=64)
    def k(a: dsl.Tensor[(32,), dsl.f32], o: dsl.Tensor[(32,), dsl.f32]):
        x = dsl.alloc_local((32,), dsl.f32, layout="S[32:1@lane]")
        y = dsl.alloc_local((32,), dsl.f32, layout="S[(2,16):(1@lane,2@lane)]")
        if {cond}:
            with dsl.warp():
                dsl.copy(x, a)
                dsl.copy(y, x)
                dsl.copy(o, y)
    """, f"whole_{abs(hash(cond)) % 1000}")
    assert "__shfl_sync" in emit_cuda(lower(k, "cuda", "sm_80")).code
    for backend, arch in CUDA:
        lower(k, backend, arch)
    a = np.arange(32, dtype=np.float32)
    o = np.zeros(32, np.float32)
    k(a, o)
    assert np.array_equal(o, a)


def test_warpgroup_reduce_in_a_warpgroup_slice(tmp_path):
    """A reduction across the warps of a warpgroup synchronises the warpgroup (bar.sync id, 128) inside
    ``dsl.warpgroup()[1:2]``: warpgroup-uniform, so legal."""
    L = axe.Layout.parse("S[(4,32):(1@warp,1@lane)]")
    k, _ = build(tmp_path, f"""
    @dsl.kernel(threads=256)
    def k(x: dsl.Tensor[(4, 32), dsl.i32], y: dsl.Tensor[(1,), dsl.i32]):
        r = dsl.alloc_local((4, 32), dsl.i32, layout="{L}")
        s = dsl.alloc_local((1,), dsl.i32, layout="{dsl.reduce_layout(L, (4, 32), (0, 1))}")
        with dsl.warpgroup()[1:2]:
            dsl.copy(r, x)
            dsl.sum(s, r, dims=(0, 1))
            dsl.copy(y, s)
    """, "wg_reduce")
    code = emit_cuda(lower(k, "cuda", "sm_90a")).code
    assert "bar.sync %0, 128;" in code and "__shfl_xor_sync" in code
    lower(k, "cpu", None)
    x = np.arange(128, dtype=np.int32).reshape(4, 32)
    y = np.zeros(1, np.int32)
    k(x, y)
    assert y[0] == x.sum()


# -- the analysis on thread-level IR directly -------------------------------------------------------------
def _kernel(threads, *body, cluster=(1,)):
    return ir.Kernel("k", (), (8,), threads, tuple(body), "", cluster)


TX, LANE_ID, CTA_X = ir.ThreadIdx("tx"), ir.ThreadIdx("lane"), ir.ThreadIdx("cta.x")


def c(v):
    return ir.Const(v, "i32")


@pytest.mark.parametrize("scope, cond, ok", [
    ("warpgroup", ir.Cmp("==", ir.BinOp("//", TX, c(128)), c(1)), True),
    ("warpgroup", ir.Cmp("==", ir.BinOp(">>", TX, c(7)), c(1)), True),
    ("warpgroup", ir.Cmp("<", TX, c(256)), True),
    ("warpgroup", ir.Cmp("==", ir.BinOp("//", TX, c(64)), c(1)), False),
    ("warp", ir.Cmp(">", TX, c(31)), True),
    ("warp", ir.Cmp("<=", TX, c(32)), False),
    ("warp", ir.Cmp(">", c(64), TX), True),
    ("warp", ir.Cmp("<", TX, c(48)), False),
    ("warp", ir.Cmp("==", ir.BinOp("%", TX, c(32)), c(0)), False),
    ("cta", ir.Cmp("==", ir.ThreadIdx("warpgroup"), c(0)), False),
    ("cta", ir.Cmp("<", TX, c(0)), True),                               # the same answer everywhere
    ("cta", ir.Cmp("==", CTA_X, c(0)), True),                           # no clusters: whole CTAs
    ("cluster", ir.Cmp("<", CTA_X, c(2)), True),                        # whole clusters of 2
    ("cluster", ir.Cmp("==", ir.BinOp("//", CTA_X, c(2)), c(1)), True),
    ("cluster", ir.Cmp("==", ir.BinOp("%", CTA_X, c(2)), c(0)), False),
    ("cluster", ir.Cmp("<", CTA_X, c(3)), False),
])
def test_barrier_levels(scope, cond, ok):
    k = _kernel(256, ir.If(cond, (ir.Barrier(scope, loc=ir.Loc("k.py", 3)),)), cluster=(2,))
    if ok:
        assert verify.verify_lowered(k) is k
    else:
        with pytest.raises(dsl.DslError, match=f"^k.py:3: kernel 'k': barrier at {scope} scope"):
            verify.verify_lowered(k)


def test_collectives_in_conditional_expressions():
    v = ir.Var("v", "f32")
    shfl = ir.Call("shfl_xor", (v, c(1)), "f32")
    half = ir.Cmp("<", LANE_ID, c(16))
    sel = ir.Assign(v, ir.Select(half, shfl, v), loc=ir.Loc("k.py", 4))
    with pytest.raises(dsl.DslError, match="^k.py:4: .*shfl_xor is a warp shuffle"):
        verify.verify_lowered(_kernel(32, sel))
    logic = ir.Assign(ir.Var("b", "bool"), ir.Logic("and", half, ir.Cmp(">", shfl, ir.Const(0.0, "f32"))),
                      loc=ir.Loc("k.py", 5))
    with pytest.raises(dsl.DslError, match="^k.py:5: "):
        verify.verify_lowered(_kernel(32, logic))
    both = ir.Assign(v, ir.Select(ir.Cmp("<", TX, c(32)), shfl, v))   # whole warps choose
    verify.verify_lowered(_kernel(64, both))


def test_an_unlocated_statement_reports_the_enclosing_line():
    mma = ir.Evaluate(ir.Call("mma_m16n8k16", (), "i32"))
    k = _kernel(32, ir.If(ir.Cmp("<", LANE_ID, c(16)), (mma,), loc=ir.Loc("k.py", 7)))
    with pytest.raises(dsl.DslError, match="^k.py:7: kernel 'k': mma_m16n8k16 is a warp-wide mma.sync"):
        verify.verify_lowered(k)


def test_mbarrier_waits_under_per_cta_conditions_are_not_warp_specialisation():
    bars = ir.Buffer("b", "i64", 1, "shared")
    wait = ir.Evaluate(ir.Call("mbar_wait", (bars, c(0), c(0)), "i32"))
    assert verify.wait_divergence(_kernel(256, ir.If(ir.Cmp("==", CTA_X, c(0)), (wait,)))) is None
    assert verify.wait_divergence(_kernel(256, ir.If(ir.Cmp("<", TX, c(128)), (wait,)))) == verify.WARPGROUP
    assert verify.wait_divergence(_kernel(256, ir.If(ir.Cmp("<", TX, c(64)), (wait,)))) == verify.WARP


# Intrinsics that each thread executes on its own (the others are in verify.COLLECTIVE_CALLS): a new
# intrinsic must be classified here or there.
PER_THREAD = {"exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "rsqrt", "copy_vec", "cp_async",
              "cp_async_wait_all", "fence_proxy_async", "tma_load", "mbar_init", "mbar_expect_tx", "mbar_arrive",
              "mbar_wait", "mbar_inval", "dsmem_load"}


def test_every_intrinsic_is_classified():
    assert not PER_THREAD & set(verify.COLLECTIVE_CALLS)
    assert set(ir.INTRINSICS) == PER_THREAD | set(verify.COLLECTIVE_CALLS)


# -- P6: a reduce in a CTA that ends in a partial warp ---------------------------------------------------
def _r48(tmp_path, threads):
    rows = threads // 16
    L = axe.Layout.parse(f"S[({rows},16):(16@tx,1@tx)]")
    return build(tmp_path, f"""
    @dsl.kernel(threads={threads})
    def k(x: dsl.Tensor[({rows}, 16), dsl.f32], y: dsl.Tensor[({rows},), dsl.f32]):
        t = dsl.alloc_local(({rows}, 16), dsl.f32, layout="{L}")
        s = dsl.alloc_local(({rows}, 1), dsl.f32, layout="{dsl.reduce_layout(L, (rows, 16), (1,), keepdims=True)}")
        dsl.copy(t, x)
        dsl.sum(s, t, dims=(1,))   # reduce
        y[dsl.thread_id() // 16] = s[0]
    """, f"r{threads}")


def expect_error_any(k, path, backend, arch):
    with pytest.raises(dsl.DslError) as err:
        lower(k, backend, arch)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(path, '# reduce')}: no schedule for reduce"), msg
    return msg


@pytest.mark.parametrize("backend, arch", CUDA)
def test_reduce_with_a_partial_last_warp_declines_the_shuffles(tmp_path, backend, arch):
    k, path = _r48(tmp_path, 48)
    msg = expect_error_any(k, path, backend, arch)
    assert "reduce_partition: lane shuffles need whole warps, but the CTA has 48 threads" in msg


@pytest.mark.parametrize("backend, arch", CUDA)
def test_user_shuffle_in_a_partial_warp(tmp_path, backend, arch):
    """The CPU backend's shuffles would read the next CTA's threads here; the GPU's name lanes that do not
    exist: an error on both."""
    k, path = build(tmp_path, """
    @dsl.kernel(grid=(2,), threads=48)
    def k(a: dsl.Tensor[(96,), dsl.i32], o: dsl.Tensor[(96,), dsl.i32]):
        g = dsl.cta_id() * 48 + dsl.thread_id()
        o[g] = dsl.shfl_xor(a[g], 16)   # shuffle
    """, "user_shfl48")
    expect_error(k, path, backend, arch, "# shuffle", "shfl_xor is a warp shuffle", "the CTA has 48 threads: "
                 "its last warp has only 16 (use a multiple of 32 threads)")


def test_reduce_on_whole_warps_still_shuffles(tmp_path):
    k, _ = _r48(tmp_path, 64)
    assert emit_cuda(lower(k, "cuda", "sm_80")).code.count("__shfl_xor_sync(0xffffffffu") == 4
    x = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
    y = np.zeros(4, np.float32)
    k(x, y)
    np.testing.assert_allclose(y, x.sum(1), rtol=1e-5)


_ROLES = '''
@dsl.kernel(threads=256)
def roles(out: dsl.Tensor[(256,), dsl.f32]):
    done = dsl.alloc_barriers(4, arrivals=1)
    with dsl.warpgroup()[0:1]:
        with dsl.warp()[0:1]:               # one warp of the first warpgroup counts with kt ...
            for kt in range(4):
                dsl.arrive(done[kt])
    with dsl.warpgroup()[1:2]:              # ... and the second warpgroup counts with kt too
        for kt in range(4):
            dsl.wait(done[kt], 0)
            if kt > 0:                      # uniform over this warpgroup: its own loop's kt
                dsl.barrier()
        out[dsl.thread_id()] = 1.0
'''


def test_a_loop_variable_is_as_uniform_as_its_own_loop(tmp_path):
    """Two roles reuse a loop variable's name; the warp-level producer's assignments do not make the
    warpgroup's own loop variable (and the barrier under it) divergent."""
    k = kernel_from_source(tmp_path, _ROLES, "roles")[0]
    out = np.zeros(256, np.float32)
    k(out)
    assert (out[128:] == 1).all() and not out[:128].any()
    assert "bar.sync" in emit_cuda(k.compile(backend="cuda", arch="sm_90a")).code


_UNIFORM_BREAK = '''
@dsl.kernel(threads=64)
def k(a: dsl.Tensor[(4, 64), dsl.f32], o: dsl.Tensor[(4, 64), dsl.f32], n: dsl.i32):
    for i in range(4):
        if i == n:
            break
        dsl.copy(o[i:i + 1, :], a[i:i + 1, :])
'''


def test_a_loop_that_every_thread_leaves_together_keeps_its_operators(tmp_path):
    """A break under a uniform condition: the whole CTA runs the same iterations, so the copy is fine."""
    k = kernel_from_source(tmp_path, _UNIFORM_BREAK, "k")[0]
    a = np.arange(256, dtype=np.float32).reshape(4, 64)
    o = np.zeros((4, 64), np.float32)
    k(a, o, 2)
    np.testing.assert_array_equal(o[:2], a[:2])
    assert not o[2:].any()
    k.compile(backend="cuda", arch="sm_80")


@pytest.mark.parametrize("body, after", [
    ("    for i in range(4):\n        if dsl.thread_id() < 5:\n            break\n", "i > 2"),
    ("    for j in range(4):\n        if dsl.thread_id() < 5:\n            continue\n        i = i + 1\n", "i > 0"),
    ("    while i < 10:\n        i = i + 1\n        if dsl.thread_id() < 5:\n            break\n", "i > 3"),
])
def test_values_carried_out_of_a_loop_some_threads_leave_early_vary(tmp_path, body, after):
    """How far each thread's loop went depends on a thread-dependent break or continue: what the loop
    computed differs per thread after it, and a barrier under it is refused (it hung on the CPU backend)."""
    src = ("\n@dsl.kernel(threads=64)\ndef k(o: dsl.Tensor[(64,), dsl.f32]):\n    i = 0\n" + body +
           f"    if {after}:\n        dsl.barrier()   # here\n    o[dsl.thread_id()] = 1.0\n")
    k, path = build(tmp_path, src, f"carried_{abs(hash(body)) % 1000}")
    with pytest.raises(dsl.DslError, match="barrier reached by only some threads"):
        lower(k, "cpu", None)
