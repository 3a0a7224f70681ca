"""Warp specialisation on the CPU backend: producer and consumer warpgroups (or warps) that wait for each
other on mbarriers run as strands, with mbarrier phases as the hardware keeps them; a protocol that would
hang on a GPU is reported instead of hanging; the warp-specialised Hopper GEMM passes under both lowerings
and compiles for sm_90a with setmaxnreg, TMA and wgmma groups left in flight."""

import pathlib

import numpy as np
import pytest

import dsl
from backends.cpu.sync import Mbarriers
from backends.cuda.nvrtc import compile_cuda
from dsl.cli import load_module
from lowering import ir
from lowering.cuda import emit_cuda
from tests.kernel_source import kernel_from_source

EX = pathlib.Path(__file__).parents[2] / "examples"


def _hopper():
    return load_module(EX / "gemm_hopper.py", "ws_gemm_hopper")


def _inputs(m, n, k):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((m, k)).astype(np.float16)
    bt = rng.standard_normal((n, k)).astype(np.float16)
    return a, bt, a.astype(np.float32) @ bt.astype(np.float32).T


@pytest.mark.parametrize("lowering", ["cpu", "cuda"])
def test_warp_specialised_gemm_on_the_cpu(monkeypatch, lowering):
    """8 K tiles through a 4-stage ring: every stage is refilled once the consumers released it."""
    monkeypatch.setenv("AXE_CPU_LOWERING", lowering)
    h = _hopper()
    m, n, k = 128, 256, 512
    a, bt, want = _inputs(m, n, k)
    c = np.zeros((m, n), np.float32)
    h.gemm_hopper_ws(a, bt, c, m, n, k)
    np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3 * np.sqrt(k))


@pytest.mark.parametrize("lowering", ["cpu", "cuda"])
def test_persistent_gemm_runs_its_ring_across_tiles(monkeypatch, lowering):
    """One CTA walks 2 tiles of 5 K steps each: the 4-stage ring wraps inside a tile and across tiles, and
    the last stage of each tile is released for the next."""
    monkeypatch.setenv("AXE_CPU_LOWERING", lowering)
    h = _hopper()
    m, n, k = 128, 512, 320
    a, bt, want = _inputs(m, n, k)
    c = np.zeros((m, n), np.float32)
    h.gemm_hopper_persistent(a, bt, c, m, n, k, 1)
    np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3 * np.sqrt(k))


@pytest.mark.parametrize("m, ctas", [(384, 4), (1280, 7)])
def test_persistent_gemm_covers_every_tile_in_grouped_order(monkeypatch, m, ctas):
    """3 tile rows (fewer than a band) and 10 (a band of 8 and a partial one), CTAs walking unequal numbers
    of tiles: every tile is computed once (CUDA lowering on the CPU: TMA and wgmma emulated)."""
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    h = _hopper()
    n, k = 512, 128
    a, bt, want = _inputs(m, n, k)
    c = np.zeros((m, n), np.float32)
    h.gemm_hopper_persistent(a, bt, c, m, n, k, ctas)
    np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3 * np.sqrt(k))


@pytest.mark.nvrtc
def test_warp_specialised_gemm_source_for_hopper():
    h = _hopper()
    k = h.gemm_hopper_ws
    src = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", **k.example))
    code = src.code
    assert "__launch_bounds__(384, 1)" in code                      # setmaxnreg needs a register cap
    assert "setmaxnreg.dec.sync.aligned.u32 40;" in code and "setmaxnreg.inc.sync.aligned.u32 232;" in code
    assert code.count("cp.async.bulk.tensor.2d") == 2                # the producer's A and B copies
    assert code.count("wgmma.mma_async.sync.aligned.m64n256k16") == 4
    assert "wgmma.wait_group.sync.aligned 1;" in code                # one wgmma group stays in flight
    assert "mbarrier.try_wait.parity" in code and "mbarrier.arrive.shared::cta.b64" in code
    assert "fence.proxy.async" not in code      # the tiles are written by the TMA alone: no proxy fence needed
    res = compile_cuda(code, "sm_90a", options=("--ptxas-options=-v",))
    assert "0 bytes spill stores" in res.log and "C7508" not in res.log, res.log   # C7508: setmaxnreg ignored
    assert src.shared_bytes <= 227 * 1024


def test_without_tma_the_producer_fences_its_stores_before_it_arrives():
    """A row pitch the TMA cannot take (k not a multiple of 8): the producer warpgroup copies with ordinary
    stores, makes them visible to the async proxy (wgmma reads through it), then arrives."""
    ws = _hopper().gemm_hopper_ws      # without its multiple_of (k % 64), to see the code for this k
    k = dsl.kernel(ws.fn, grid=ws.grid, threads=ws.threads)
    code = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", m=512, n=512, k=516)).code
    assert "cp.async.bulk.tensor" not in code
    producer = code[code.index("setmaxnreg.dec"):code.index("setmaxnreg.inc")]
    assert producer.index("fence.proxy.async") < producer.index("mbarrier.arrive.shared::cta.b64")


_PRODUCER_CONSUMER = '''
@dsl.kernel(threads=64)
def pc(x: dsl.Tensor[(NT * 32,), dsl.f32], y: dsl.Tensor[(NT * 32,), dsl.f32]):
    """warp 0 copies tile t of x into stage t % 2; warp 1 doubles it into y and releases the stage."""
    buf = dsl.alloc_shared((64,), dsl.f32)
    full = dsl.alloc_barriers(2)
    empty = dsl.alloc_barriers(2)
    with dsl.warp()[0:1]:
        for t in range(NT):
            PRODUCER_WAIT
            dsl.copy_async(buf[t % 2 * 32:t % 2 * 32 + 32], x[t * 32:t * 32 + 32], barrier=full[t % 2])
    with dsl.warp()[1:2]:
        for t in range(NT):
            dsl.wait(full[t % 2], CONSUMER_PHASE)
            y[t * 32 + dsl.lane_id()] = 2.0 * buf[t % 2 * 32 + dsl.lane_id()]
            dsl.arrive(empty[t % 2])
'''


def _pc(tmp_path, producer_wait="dsl.wait(empty[t % 2], t // 2 + 1)", consumer_phase="t // 2", nt=6):
    src = (_PRODUCER_CONSUMER.replace("PRODUCER_WAIT", producer_wait).replace("CONSUMER_PHASE", consumer_phase)
           .replace("NT", str(nt)))
    return kernel_from_source(tmp_path, src, "pc")[0], nt


def test_producer_and_consumer_warps_take_turns(tmp_path):
    k, nt = _pc(tmp_path)
    x = np.arange(nt * 32, dtype=np.float32)
    y = np.zeros_like(x)
    k(x, y)
    np.testing.assert_array_equal(y, 2 * x)


def test_a_wait_for_the_wrong_phase_is_reported_as_a_hang(tmp_path):
    k, nt = _pc(tmp_path, consumer_phase="t // 2 + 1")     # waits for a phase before it starts: never
    x = np.ones(nt * 32, np.float32)
    with pytest.raises(dsl.KernelRuntimeError, match=r"hangs: .*mbarrier 'empty'\[0\].*mbarrier 'full'\[") as e:
        k(x, np.zeros_like(x))
    assert "pc.py" in str(e.value) or "kernel 'pc'" in str(e.value)


def test_a_producer_that_does_not_wait_for_free_stages_is_caught(tmp_path):
    """Without the empty-stage wait the producer laps the consumer: the full barriers run two phases ahead,
    the consumer's parity never matches again, and the kernel would hang on a GPU."""
    k, nt = _pc(tmp_path, producer_wait="pass")
    x = np.ones(nt * 32, np.float32)
    with pytest.raises(dsl.KernelRuntimeError, match="hangs"):
        k(x, np.zeros_like(x))


def test_mbarrier_model_counts_arrivals_and_bytes():
    bars = ir.Buffer("b", "i64", 1, "shared")
    one = np.array([True, False])
    zero = np.zeros(2, np.int64)
    m = Mbarriers(np.zeros(2, np.int64), n_cta=1)
    with pytest.raises(dsl.KernelRuntimeError, match="before it was initialised"):
        m.arrive(bars, zero, one)
    m.init(bars, zero, np.ones(2, np.int64), one)
    assert m.ready(bars, zero, np.ones(2, np.int64), one)            # parity 1 before any phase: passes
    m.arrive(bars, zero, one, tx_bytes=128)                          # the arrival came, the bytes did not
    assert not m.ready(bars, zero, zero, one)
    m.complete_tx(bars, zero, one, 128)
    assert m.ready(bars, zero, zero, one) and not m.ready(bars, zero, np.ones(2, np.int64), one)
    with pytest.raises(dsl.KernelRuntimeError, match="more arrivals than its phase expects"):
        m.arrive(bars, zero, np.array([True, True]))


@pytest.mark.nvrtc
def test_wait_limit_turns_a_hung_wait_into_a_trap(monkeypatch):
    from backends.cuda.run import compile_options
    h = _hopper()
    k = h.gemm_hopper_ws
    code = emit_cuda(k.specialise(backend="cuda", arch="sm_90a", **k.example)).code
    assert "#ifdef AXE_WAIT_LIMIT" in code
    assert "trap;" not in compile_cuda(code, "sm_90a").ptx
    monkeypatch.setenv("AXE_CUDA_WAIT_LIMIT", "1000000")
    assert "trap;" in compile_cuda(code, "sm_90a", options=compile_options()).ptx
    monkeypatch.setenv("AXE_CUDA_WAIT_LIMIT", "lots")
    with pytest.raises(dsl.KernelRuntimeError, match="AXE_CUDA_WAIT_LIMIT"):
        compile_options()


def _patched(tmp_path, old: str, new: str):
    """examples/gemm_hopper.py with one protocol line changed."""
    text = (EX / "gemm_hopper.py").read_text()
    assert text.count(old) == 1
    path = tmp_path / "patched_hopper.py"
    path.write_text(text.replace(old, new))
    return load_module(path, f"patched_{abs(hash(new)) % 10**6}")


def _run_ws(module):
    m, n, k = 128, 256, 512
    a, bt, _ = _inputs(m, n, k)
    module.gemm_hopper_ws(a, bt, np.zeros((m, n), np.float32), m, n, k)


def test_releasing_a_stage_before_its_wgmma_retires_is_a_race(tmp_path, monkeypatch):
    """The consumer frees the stage its wgmma group is still reading: the producer's next TMA copy into it
    is reported (the CPU computed the product already; a GPU would read the new tile)."""
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    mod = _patched(tmp_path, "                if kt > 0:\n                    dsl.arrive(empty[(kt - 1) % STAGES])\n",
                   "                dsl.arrive(empty[cs])\n")
    with pytest.raises(dsl.KernelRuntimeError, match=r"a TMA copy overwrites shared tensor 'As' that the wgmma at "
                                                     r".*may still be reading"):
        _run_ws(mod)


def test_reading_the_accumulator_before_the_last_wait_is_a_race(tmp_path, monkeypatch):
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    copy = "            dsl.copy(c[row0 + r:"
    mod = _patched(tmp_path, "            dsl.gemm_wait(0)\n" + copy, copy)        # the epilogue without the wait
    with pytest.raises(dsl.KernelRuntimeError, match="accumulator 'acc' used while the wgmma"):
        _run_ws(mod)


@pytest.mark.parametrize("lowering", ["cpu", "cuda"])
@pytest.mark.parametrize("m, n, k, ctas", [(256, 256, 512, 1), (256, 384, 448, 2), (384, 256, 128, 4)])
def test_pingpong_consumers_take_turns_over_one_ring(monkeypatch, lowering, m, n, k, ctas):
    """Each consumer warpgroup owns every other 128x128 tile of its CTA; the ring wraps inside tiles
    (nk > 6 stages) and across them; CTAs with 1 to 4 tiles."""
    monkeypatch.setenv("AXE_CPU_LOWERING", lowering)
    a, bt, want = _inputs(m, n, k)
    c = np.zeros((m, n), np.float32)
    _hopper().gemm_hopper_pingpong(a, bt, c, m, n, k, ctas)
    np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3 * np.sqrt(k))


def _run_pingpong(module):
    m, n, k = 256, 256, 512
    a, bt, _ = _inputs(m, n, k)
    module.gemm_hopper_pingpong(a, bt, np.zeros((m, n), np.float32), m, n, k, 1)


def test_pingpong_without_its_turns_is_caught(tmp_path, monkeypatch):
    """Without the order barrier the second consumer's first wait is nk = 8 stages into a 6-stage ring: its
    parity already reads as complete on a fresh barrier, it multiplies a stage never filled, and the
    protocol falls apart (a GPU gives wrong products or hangs; the CPU reports where everyone waits)."""
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    mod = _patched(tmp_path, "                if j > 0:\n                    dsl.wait(order[turn], (j - 1) // 2)", "")
    with pytest.raises(dsl.KernelRuntimeError, match="hangs"):
        _run_pingpong(mod)


def test_releasing_a_stage_a_wgmma_still_reads_is_a_race_whatever_the_interleaving(tmp_path, monkeypatch):
    """gemm_wait(3) leaves the previous step's second group in flight when its stage is released. The CPU
    retires it before the producer gets to run, so the overwrite itself finds nothing in flight; the
    release recorded what was still being read, and the producer waited for that release."""
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    mod = _patched(tmp_path, "dsl.gemm_wait(2)  ", "dsl.gemm_wait(3)  ")
    with pytest.raises(dsl.KernelRuntimeError, match=r"a TMA copy overwrites shared tensor 'As' that the wgmma at "
                                                     r".* may still be reading: the stage was released at"):
        _run_pingpong(mod)


_LATE_ALLOC = '''
@dsl.kernel(threads=256)
def late(out: dsl.Tensor[(256,), dsl.f32]):
    ready = dsl.alloc_barriers(1, arrivals=1)
    done = dsl.alloc_barriers(1, arrivals=1)
    with dsl.warpgroup()[0:2]:
        if dsl.warpgroup_id() == 1:
            dsl.wait(ready[0], 0)
        acc = dsl.alloc_local((1,), dsl.f32)
        acc[0] = dsl.f32(dsl.warpgroup_id() + 1)
        if dsl.warpgroup_id() == 0:
            dsl.arrive(ready[0])
            dsl.wait(done[0], 0)
        else:
            dsl.arrive(done[0])
        out[dsl.thread_id()] = acc[0]
'''


def test_a_strand_reaching_an_allocation_late_keeps_the_others_registers(tmp_path):
    """Warpgroup 0 fills its register, then waits while warpgroup 1 (a strand of its own) allocates the
    same register tensor: that zeroes warpgroup 1's registers only (as on a GPU, where each thread has its
    own)."""
    k = kernel_from_source(tmp_path, _LATE_ALLOC, "late")[0]
    out = np.zeros(256, np.float32)
    k(out)
    assert out.tolist() == [1.0] * 128 + [2.0] * 128


_SELF_REFILL = '''
from axe.presets import nvidia
TILE_A, TILE_B, ACC = nvidia.tma_smem_tile(64, 64), nvidia.tma_smem_tile(128, 64), nvidia.wgmma_accumulator(128)

@dsl.kernel(threads=128)
def k(a: dsl.Tensor[(64, 256), dsl.f16], bt: dsl.Tensor[(128, 256), dsl.f16], c: dsl.Tensor[(64, 128), dsl.f32]):
    A0 = dsl.alloc_shared((64, 64), dsl.f16, layout=TILE_A)
    B0 = dsl.alloc_shared((128, 64), dsl.f16, layout=TILE_B)
    A1 = dsl.alloc_shared((64, 64), dsl.f16, layout=TILE_A)
    B1 = dsl.alloc_shared((128, 64), dsl.f16, layout=TILE_B)
    full = dsl.alloc_barriers(2, arrivals=2)
    acc = dsl.alloc_local((64, 128), dsl.f32, layout=ACC)
    dsl.fill(acc, 0.0)
    dsl.copy_async(A0, a[0:64, 0:64], barrier=full[0])
    dsl.copy_async(B0, bt[0:128, 0:64], barrier=full[0])
    for kt in range(4):
        k1 = (kt + 1) * 64
        if kt % 2 == 0:
            dsl.wait(full[0], kt // 2)
            dsl.gemm_async(acc, A0, B0, transpose_b=True)
        else:
            dsl.wait(full[1], kt // 2)
            dsl.gemm_async(acc, A1, B1, transpose_b=True)
        dsl.gemm_wait(1)          # the other stage's group has retired, in this warpgroup
        dsl.barrier()
        if kt + 1 < 4:            # refill the other stage while this step's wgmma runs
            if kt % 2 == 0:
                dsl.copy_async(A1, a[0:64, k1:k1 + 64], barrier=full[1])
                dsl.copy_async(B1, bt[0:128, k1:k1 + 64], barrier=full[1])
            else:
                dsl.copy_async(A0, a[0:64, k1:k1 + 64], barrier=full[0])
                dsl.copy_async(B0, bt[0:128, k1:k1 + 64], barrier=full[0])
    dsl.gemm_wait(0)
    dsl.copy(c, acc)
'''


def test_a_warpgroup_refilling_the_stage_its_own_wait_retired_is_no_race(tmp_path, monkeypatch):
    """The producer's announcement (expect_tx) while a group is in flight releases nothing, and a stage the
    same warpgroup waited for (then a CTA barrier) is free: a correct two-stage pipeline is not reported."""
    monkeypatch.setenv("AXE_CPU_LOWERING", "cuda")
    k = kernel_from_source(tmp_path, _SELF_REFILL, "k")[0]
    a, bt, want = _inputs(64, 128, 256)
    c = np.zeros((64, 128), np.float32)
    k(a, bt, c)
    np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3 * 16)
