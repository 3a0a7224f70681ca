"""CUDA C++ emission (no GPU needed): every example kernel compiles with NVRTC for sm_80 and sm_90a, and
the generated source has the expected structure. Execution on a GPU is in tests/backends (marker gpu)."""

import pathlib

import pytest

import dsl
from backends.cuda.nvrtc import compile_cuda
from dsl.cli import load_module
from lowering import ir
from lowering.cuda import emit_cuda

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def _load(name):
    return load_module(EXAMPLES / f"{name}.py", f"cuda_ex_{name}")


KERNELS = [(p.stem, n) for p in sorted(EXAMPLES.glob("*.py")) for n, k in vars(_load(p.stem)).items()
           if isinstance(k, dsl.KernelFunction) and k.fn.__module__ == f"cuda_ex_{p.stem}"]


# kernels written for one architecture that still compile, correctly but not at speed, for the others
_WS = ("warp-specialised for sm_90a: without setmaxnreg a consumer's 128 accumulators and mma.sync fragments "
       "exceed the 168-register cap")
SPILLS_ALLOWED = {(arch, name): _WS for name in ("gemm_hopper_ws", "gemm_hopper_ws_bf16", "gemm_hopper_persistent",
                                                 "gemm_hopper_pingpong")
                  for arch in ("sm_80", "sm_100a")}


def test_every_example_kernel_is_collected():
    assert len(KERNELS) >= 8 and {m for m, _ in KERNELS} >= {"gemm", "softmax", "transpose", "reduction"}


@pytest.mark.nvrtc
@pytest.mark.parametrize("module, name", KERNELS)
@pytest.mark.parametrize("arch", ["sm_80", "sm_90a", "sm_100a"])
def test_example_kernels_compile_with_nvrtc(module, name, arch):
    k = getattr(_load(module), name)
    final = k.specialise(backend="cuda", arch=arch, **k.example)
    kernels = [s.kernel for s in final.steps if isinstance(s, ir.Launch)] if isinstance(final, ir.Program) \
        else [final]                                      # a split kernel: every local segment
    for kern in kernels:
        src = emit_cuda(kern)
        res = compile_cuda(src.code, arch, options=("--ptxas-options=-v",))
        assert res.cubin and f".entry {src.name}" in res.ptx
        if (arch, name) not in SPILLS_ALLOWED:
            assert "0 bytes spill stores" in res.log, res.log    # register tensors stay in registers


def test_gemm_source_uses_tensor_cores_and_shared_memory():
    g = _load("gemm")
    src = emit_cuda(g.gemm.specialise(backend="cuda", **g.gemm.example))
    assert src.code.count("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32") == 8   # 2x4 tiles per warp
    assert "extern __shared__" in src.code and src.shared_bytes == 2 * 64 * 32 * 2
    assert "__syncthreads();" in src.code and "// gemm.py:" in src.code
    assert src.code.count("cp.async.cg.shared.global") == 2 and "cp.async.wait_all" in src.code
    assert "row0 = " in src.code and "wm = " in src.code   # user names kept


@pytest.mark.nvrtc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90a"])
def test_bf16_gemm_uses_bf16_mma_and_ldmatrix(arch):
    g = _load("gemm")
    src = emit_cuda(g.gemm_bf16.specialise(backend="cuda", arch=arch, **g.gemm_bf16.example))
    bf16_mma = "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
    assert src.code.count(bf16_mma) == 8 and ".f16.f16" not in src.code     # 2x4 tiles per warp
    assert src.code.count("ldmatrix.sync.aligned.m8n8.x4.shared.b16") == 2   # A: one x4 per 16-row block
    res = compile_cuda(src.code, arch)
    assert res.ptx.count(bf16_mma) == 16                                      # the k16 loop unrolled twice


def _bank_groups(layout, cols: int) -> int:
    """How many of the 8 16-byte bank groups the first 8-half chunks of rows 0..7 fall in."""
    return len({int(next(iter(layout.apply(r * cols)))["m"]) * 2 // 16 % 8 for r in range(8)})


def test_ldmatrix_reads_swizzled_tiles_through_their_layout():
    """The CTA GEMM's tiles are swizzled in 16-byte chunks: ldmatrix still applies (each lane's 8 halves
    stay contiguous), and the 8 rows one ldmatrix matrix reads fall in 8 different bank groups, where
    row-major tiles put them in 2 (A, 64-byte rows) or 1 (B, 128-byte rows)."""
    import axe
    from lowering.context import LowerContext
    from lowering.ir import arith
    from lowering.schedules.gemm import _ldmatrix_ok

    g = _load("gemm")
    assert _bank_groups(g.A_SMEM, 32) == 8 and _bank_groups(axe.Layout.parse("S[(64,32):(32,1)]"), 32) == 2
    assert _bank_groups(g.B_SMEM, 64) == 8 and _bank_groups(axe.Layout.parse("S[(32,64):(64,1)]"), 64) == 1
    src = emit_cuda(g.gemm_cta.specialise(backend="cuda", arch="sm_80", **g.gemm_cta.example)).code
    assert src.count("ldmatrix.sync.aligned.m8n8.x4.shared.b16") == 2 and src.count("ldmatrix.sync") == 6
    ctx = LowerContext(ir.Kernel("k", (), (1,), 32, ()), "cuda")
    coarse = ir.Buffer("t", "f16", 2048, "shared", (arith.const(32), arith.const(64)),
                       axe.SwizzleLayout(axe.Layout.parse("S[(32,64):(64,1)]"), axe.Swizzle(3, 2, 3)))
    assert not _ldmatrix_ok(ir.TensorView(coarse, (0, 0), (32, 64)), ctx)   # moves 8-byte pieces: no


def test_hopper_gemm_uses_tma_and_wgmma_on_sm90a_only():
    h = _load("gemm_hopper")
    hopper = emit_cuda(h.gemm_hopper.specialise(backend="cuda", arch="sm_90a", **h.gemm_hopper.example)).code
    assert hopper.count("wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16") == 4     # K tile 64 = 4 x k16
    assert "wgmma.fence.sync.aligned" in hopper and "wgmma.wait_group.sync.aligned 0" in hopper
    assert "fence.proxy.async.shared::cta" in hopper and "__align__(1024)" in hopper
    assert hopper.count("cp.async.bulk.tensor.2d.shared::cluster.global") == 2          # TMA: one box per tile
    assert "mbarrier.test_wait.parity" in hopper and "const __grid_constant__ AxeTensorMap axe_tmap_1" in hopper
    src = emit_cuda(h.gemm_hopper.specialise(backend="cuda", arch="sm_90a", **h.gemm_hopper.example))
    assert src.tensor_maps == (("a", 64, 64, 128, "f16"), ("bt", 64, 128, 128, "f16"))
    ampere = emit_cuda(h.gemm_hopper.specialise(backend="cuda", arch="sm_80", **h.gemm_hopper.example)).code
    assert "wgmma" not in ampere and "mma.sync.aligned.m16n8k16" in ampere and "cp.async.bulk" not in ampere
    assert ampere.count("cp.async.cg.shared.global") == 2                              # the swizzle keeps 16 B whole


def test_pipelined_hopper_gemm_overlaps_tma_with_wgmma():
    h = _load("gemm_hopper")
    k = h.gemm_hopper_pipelined
    src = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", **k.example)).code
    assert src.count("cp.async.bulk.tensor.2d") == 6          # prologue + one per stage in the loop
    assert src.count("mbarrier.init.shared::cta.b64") == 1 and src.count("mbarrier.test_wait.parity") == 2
    assert "mbarrier.arrive.shared::cta.b64" not in src       # the TMA completes the phases itself
    ampere = emit_cuda(k.specialise(backend="cuda", arch="sm_80", **k.example)).code
    assert "cp.async.bulk" not in ampere and ampere.count("mbarrier.arrive.shared::cta.b64") == 6


def test_softmax_source_uses_warp_shuffles():
    s = _load("softmax")
    src = emit_cuda(s.softmax.specialise(backend="cuda", **s.softmax.example)).code
    assert src.count("__shfl_xor_sync(0xffffffffu") == 10 and "expf(" in src


@pytest.mark.nvrtc
def test_names_are_sanitised_and_distinct():
    a = ir.Buffer("class", "f32", 4)
    v1, v2 = ir.Var("__x", "i32"), ir.Var("u__x", "i32")
    body = (ir.Assign(v1, ir.Const(1, "i32")), ir.Assign(v2, ir.Const(2, "i32")),
            ir.Store(a, v1, ir.Cast("f32", v2)))
    src = emit_cuda(ir.Kernel("min", (a,), (1,), 1, body)).code
    assert "void __launch_bounds__(1) min_(float* __restrict__ class_)" in src
    assert "u__x = 1;" in src and "u__x_1 = 2;" in src
    compile_cuda(src, "sm_80")


@pytest.mark.nvrtc
def test_half_types_need_no_headers_and_round_like_the_cpu():
    x = ir.Buffer("x", "bf16", 4)
    y = ir.Buffer("y", "f16", 4)
    t = ir.ThreadIdx("tx")
    body = (ir.Store(y, t, ir.Cast("f16", ir.BinOp("*", ir.Load(x, t), ir.Const(3.0, "bf16")))),)
    src = emit_cuda(ir.Kernel("h", (x, y), (1,), 4, body)).code
    assert "#include" not in src and "axe_f2b(" in src and "axe_f2h(" in src
    compile_cuda(src, "sm_80")


def test_unknown_intrinsic_is_an_error():
    a = ir.Buffer("a", "f32", 4)
    body = (ir.Store(a, ir.Const(0, "i32"), ir.Call("erfinv", (ir.Const(0.5, "f32"),), "f32")),)
    with pytest.raises(dsl.DslError, match="unknown intrinsic 'erfinv'"):
        emit_cuda(ir.Kernel("k", (a,), (1,), 1, body))


@pytest.mark.nvrtc
def test_cli_writes_cu_ptx_cubin(tmp_path, capsys):
    from dsl.cli import main
    assert main(["compile", str(EXAMPLES / "vector_add.py"), "-o", str(tmp_path), "--arch", "sm_80"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"vector_add.cu", "vector_add.ptx", "vector_add.cubin"}
    out = capsys.readouterr().out
    assert "vector_add [sm_80]" in out and "registers" in out and "spills 0/0 B" in out
    assert main(["compile", str(EXAMPLES / "vector_add.py"), "--kernel", "nope"]) == 2
    assert "have ['vector_add']" in capsys.readouterr().err


def test_cli_checks_the_example_against_the_stated_multiples(tmp_path, capsys):
    from dsl.cli import main
    src = tmp_path / "bad_example.py"
    src.write_text("import dsl\n\n"
                   "@dsl.kernel(grid=lambda n: (n // 32,), threads=32, example={'n': 48}, multiple_of={'n': 32})\n"
                   "def k(a: dsl.Tensor[(dsl.dim('n'),), dsl.f32], n: dsl.i32):\n"
                   "    a[dsl.cta_id() * 32 + dsl.thread_id()] = 1.0\n")
    assert main(["compile", str(src), "-o", str(tmp_path / "out"), "--arch", "sm_80"]) == 2
    assert "n = 48 must be a positive multiple of 32" in capsys.readouterr().err
