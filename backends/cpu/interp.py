"""Run an ``ir.Kernel`` on numpy: every IR value is an array over all threads of the grid.

Divergent control flow runs under boolean masks; a thread inactive under the mask neither stores nor
updates its locals. All threads advance statement by statement, so barriers order everything; a barrier
reached by part of a CTA, a shared-memory race between barriers, an out-of-bounds access and (optionally)
a read of never-written memory are reported with the kernel, source line, thread and address.

>>> import numpy as np
>>> from lowering import ir
>>> a = ir.Buffer("a", "i32", 4)
>>> k = ir.Kernel("k", (a,), (1,), 4, (ir.Store(a, ir.ThreadIdx("tx"), ir.ThreadIdx("tx")),))
>>> x = np.zeros(4, np.int32); run(k, [x]); x.tolist()
[0, 1, 2, 3]
"""

from __future__ import annotations

import os

import numpy as np

from lowering import ir
from lowering.ir.errors import KernelRuntimeError, at, where
from lowering.irutil import calls, written_tensors
from lowering.verify import WARPGROUP, wait_divergence

from . import dtypes
from .args import bind_tensor, called_at
from .inflight import ReleasedReads, WgmmaGroups
from .sync import BarrierCounter, Mbarriers
from .warp_ops import WarpOpsMixin

_np = dtypes.compute


_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "&": np.bitwise_and, "|": np.bitwise_or,
        "^": np.bitwise_xor, "<<": np.left_shift, ">>": np.right_shift, "min": np.minimum, "max": np.maximum}
_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
        "!=": np.not_equal}
_MATH = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin, "cos": np.cos,
         "tanh": np.tanh}


MAX_THREADS = 2**24      # threads of a launch the CPU backend simulates at once (every value is an array over them)
_MBAR_OPS = ("mbar_init", "mbar_expect_tx", "mbar_wait", "mbar_inval", "mbar_arrive")


class Machine(WarpOpsMixin):
    """State of one launch: thread coordinates, locals, memories."""

    def __init__(self, kernel: ir.Kernel, args, check_uninit: bool = False):
        self.k = kernel
        grid = tuple(kernel.grid) + (1,) * (3 - len(kernel.grid))
        T, n_cta = kernel.threads, grid[0] * grid[1] * grid[2]
        self.n = T * n_cta
        most = int(os.environ.get("AXE_CPU_MAX_THREADS", str(MAX_THREADS)))
        if self.n > most:
            raise KernelRuntimeError(called_at(f"kernel {kernel.name!r}: grid {tuple(kernel.grid)} of {T} threads is "
                                               f"{self.n} threads; the CPU backend runs at most {most} at once "
                                               f"(environment AXE_CPU_MAX_THREADS raises the limit)"))
        t = np.arange(self.n, dtype=np.int32)
        cta = t // T
        tx = t % T
        self.ids = {"tx": tx, "lane": tx % 32, "warp": tx // 32, "warpgroup": tx // 128,
                    "cta.x": cta % grid[0], "cta.y": (cta // grid[0]) % grid[1],
                    "cta.z": cta // (grid[0] * grid[1]), "cta": cta}
        self.env: dict = {}
        self.mem: dict = {}
        self.scalars: dict = {}
        if len(args) != len(kernel.params):
            raise KernelRuntimeError(called_at(f"kernel {kernel.name!r} takes {len(kernel.params)} arguments, got "
                                               f"{len(args)}"))
        for p, a in zip(kernel.params, args):
            if isinstance(p, ir.Var):
                self.scalars[p.name] = _scalar_argument(kernel.name, p, a)
        for p, a in zip(kernel.params, args):
            if isinstance(p, ir.Buffer):
                shape = tuple(int(self.scalar(d)) for d in p.shape)
                self.mem[p.name] = bind_tensor(kernel.name, p, a, shape, int(self.scalar_size(p)))
        for name in written_tensors(kernel):
            if name in self.mem and not self.mem[name].flags.writeable:
                raise KernelRuntimeError(f"kernel {kernel.name!r} writes tensor {name!r}, but its array is read-only")
        self.check_uninit = check_uninit
        self.init: dict = {}
        self.bases: dict = {}
        self.writes: dict = {}          # shared word -> last writer since the last barrier (race checks)
        self.steps = 0                  # statements executed (progress, for the hang check)
        self.mbars = Mbarriers(self.ids["cta"], n_cta)
        self.counters: dict = {}        # group size -> BarrierCounter (bar.sync across strands)
        self.exited = np.zeros(self.n, bool)
        self.strands = 1
        self.in_flight = WgmmaGroups()  # wgmma groups a GPU would still be running
        self.released = ReleasedReads(self.n)   # what arrivals released while their wgmma still read it
        self.loc = None                 # the statement running, for faults in expressions without a line

    def scalar_size(self, p: ir.Buffer):
        return self.scalar(p.size) if isinstance(p.size, ir.Expr) else p.size

    def scalar(self, e):
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.Var):
            return self.scalars[e.name]
        if isinstance(e, ir.BinOp) and e.op == "*":
            return self.scalar(e.a) * self.scalar(e.b)
        if isinstance(e, int):
            return e
        raise KernelRuntimeError(f"cannot evaluate tensor dim {e}")

    # -- expressions -------------------------------------------------------------------------------------
    def ev(self, e, mask):
        if isinstance(e, ir.Const):
            try:
                return np.array(e.value, dtype=_np(e.dtype))
            except (OverflowError, ValueError, TypeError):
                raise KernelRuntimeError(at(self.loc, f"kernel {self.k.name!r}: constant {e.value!r} does not fit "
                                                      f"in {e.dtype}")) from None
        if isinstance(e, ir.Var):
            if e.name in self.env:
                return self.env[e.name]
            return self.scalars[e.name]
        if isinstance(e, ir.ThreadIdx):
            return self.ids[e.kind]
        if isinstance(e, ir.BinOp):
            t = _np(e.dtype)
            a, b = self.ev(e.a, mask).astype(t, copy=False), self.ev(e.b, mask).astype(t, copy=False)
            if e.op in ("<<", ">>") and t.kind in "iu" and not _const_in(e.b, 0, t.itemsize * 8):
                self.check_shift(e, b, mask, t.itemsize * 8)
            if e.op in _BIN:
                out = _BIN[e.op](a, b)
                return dtypes.round_bf16(out) if e.dtype == "bf16" else out
            if e.op == "/":
                with np.errstate(divide="ignore", invalid="ignore"):    # IEEE: inf and nan, as on a GPU
                    out = np.divide(a, b)
                return dtypes.round_bf16(out) if e.dtype == "bf16" else out
            if t.kind in "iu" and not _const_in(e.b, 1, None) and not _const_in(e.b, None, 0):
                self.check_divisor(e, b, mask)
            with np.errstate(divide="ignore", invalid="ignore"):
                if e.op == "//":
                    return np.floor_divide(a, b) if t.kind == "f" else _cdiv(a, b)
                if e.op == "%":
                    return np.fmod(a, b) if t.kind == "f" else a - _cdiv(a, b) * b
        if isinstance(e, ir.UnOp):
            a = self.ev(e.a, mask)
            return {"neg": np.negative, "not": np.logical_not, "~": np.invert}[e.op](a)
        if isinstance(e, ir.Cmp):
            return _CMP[e.op](self.ev(e.a, mask), self.ev(e.b, mask))
        if isinstance(e, ir.Logic):
            f = np.logical_and if e.op == "and" else np.logical_or
            return f(self.ev(e.a, mask), self.ev(e.b, mask))
        if isinstance(e, ir.Select):
            t = _np(e.dtype)
            return np.where(self.ev(e.cond, mask), self.ev(e.a, mask).astype(t), self.ev(e.b, mask).astype(t))
        if isinstance(e, ir.Cast):
            return dtypes.convert(self.ev(e.a, mask), e.dtype)
        if isinstance(e, ir.Load):
            flat, idx = self.address(e.buffer, self.ev(e.index, mask), mask, e.loc or self.loc, "read")
            if self.in_flight and e.buffer.scope == "local":
                self.check_accumulator(e.buffer.name, mask, e.loc)
            if e.buffer.scope == "shared":
                self.check_race(e, idx, mask, False)
            if self.check_uninit and e.buffer.scope != "global":
                self.uninit_read(e.buffer, idx, mask, e.loc)
            return dtypes.from_storage(flat[idx], e.buffer.dtype)
        if isinstance(e, ir.Call) and e.name == "mma_m16n8k16":
            if self.check_uninit:
                self.uninit_fragments(e, mask)
            return self.mma(e, mask)
        if isinstance(e, ir.Call) and e.name == "dsmem_load":
            return self.dsmem_load(e, mask)
        if isinstance(e, ir.Call) and e.name in ("copy_vec", "cp_async"):
            if self.check_uninit and e.args[2].scope != "global":
                self.uninit_vector(e, mask)
            return self.vector_copy(e, mask)
        if isinstance(e, ir.Call) and e.name == "cp_async_wait_all":
            return None
        if isinstance(e, ir.Call) and e.name == "ldmatrix":
            return self.ldmatrix(e, mask)
        if isinstance(e, ir.Call) and e.name == "stmatrix":
            return self.stmatrix(e, mask)
        if isinstance(e, ir.Call) and e.name == "wgmma_m64nk16":
            return self.wgmma(e, mask)
        if isinstance(e, ir.Call) and e.name in ("wgmma_commit", "wgmma_wait"):
            return self.wgmma_group(e, mask)      # computed at issue; groups tracked for the race checks
        if isinstance(e, ir.Call) and e.name in ("wgmma_fence", "fence_proxy_async", "setmaxnreg"):
            return None      # registers are unlimited
        if isinstance(e, ir.Call) and e.name in _MBAR_OPS:
            raise KernelRuntimeError(at(e.loc, f"{e.name} is a statement, not a value"))
        if isinstance(e, ir.Call) and e.name == "tma_load":
            return self.tma_load(e, mask)
        if isinstance(e, ir.Call):
            args = [self.ev(a, mask) for a in e.args]
            if e.name in _MATH:
                with np.errstate(all="ignore"):
                    out = _MATH[e.name](args[0].astype(_np(e.dtype), copy=False))
                return dtypes.round_bf16(out) if e.dtype == "bf16" else out
            if e.name == "rsqrt":
                with np.errstate(all="ignore"):
                    out = 1 / np.sqrt(args[0].astype(_np(e.dtype), copy=False))
                return dtypes.round_bf16(out) if e.dtype == "bf16" else out
            if e.name == "shfl_idx":
                v = np.broadcast_to(args[0], (self.n,))
                lane = np.broadcast_to(args[1], (self.n,)).astype(np.int64) % 32
                return v[(np.arange(self.n) // 32) * 32 + lane]
            if e.name == "shfl_xor":
                v = np.broadcast_to(args[0], (self.n,))
                src = (np.arange(self.n) ^ np.broadcast_to(args[1], (self.n,)).astype(np.int64))
                return v[src]
        raise KernelRuntimeError(f"CPU backend cannot evaluate {type(e).__name__}")

    def fault_thread(self, bad) -> str:
        """``thread (cta=c, tx=t)`` of the first thread where ``bad`` holds."""
        t = int(np.argmax(np.broadcast_to(bad, (self.n,))))
        return f"thread (cta={int(self.ids['cta'][t])}, tx={int(self.ids['tx'][t])})"

    def check_divisor(self, e, b, mask):
        """Integer ``//`` and ``%`` by zero are undefined in C++ (a GPU gives garbage or traps): an error here
        for any active thread."""
        zero = np.broadcast_to(b == 0, (self.n,)) & mask
        if zero.any():
            raise KernelRuntimeError(at(e.loc or self.loc, f"integer {'division' if e.op == '//' else 'modulo'} by "
                                                           f"zero in kernel {self.k.name!r}: "
                                                           f"{self.fault_thread(zero)} (undefined on a GPU)"))

    def check_shift(self, e, b, mask, bits: int):
        """A shift by a negative amount or by the width of the type or more is undefined in C++."""
        bad = np.broadcast_to((b < 0) | (b >= bits), (self.n,)) & mask
        if bad.any():
            amount = int(np.broadcast_to(b, (self.n,))[int(np.argmax(bad))])
            raise KernelRuntimeError(at(e.loc or self.loc, f"shift by {amount} of a {bits}-bit integer in kernel "
                                                           f"{self.k.name!r}: {self.fault_thread(bad)} (undefined "
                                                           f"on a GPU: the amount must be 0..{bits - 1})"))

    def address(self, buf, index, mask, loc, what):
        """Per-thread flat positions into ``buf``'s storage; bounds-checked for active threads."""
        flat = self.mem[buf.name]
        size = flat.size if buf.scope == "global" else int(buf.size)
        if np.ndim(index) == 0 and buf.scope != "global" and 0 <= int(index) < size:
            # the same slot in every thread (register slots, fixed shared words): no per-thread checks
            key = (buf.scope, size)
            base = self.bases.get(key)
            if base is None:
                owner = self.ids["cta"] if buf.scope == "shared" else np.arange(self.n)
                base = self.bases[key] = owner.astype(np.int64) * size
            return flat, base + int(index)
        index = np.broadcast_to(index, (self.n,)).astype(np.int64)
        safe = np.where(mask, index, 0)
        bad = mask & ((index < 0) | (index >= size))
        if bad.any():
            t = int(np.argmax(bad))
            raise KernelRuntimeError(at(loc, f"out-of-bounds {what} of {buf.scope} tensor {buf.name!r} in kernel "
                                             f"{self.k.name!r}: thread (cta={int(self.ids['cta'][t])}, "
                                             f"tx={int(self.ids['tx'][t])}) address {int(index[t])}, size {size}"))
        if buf.scope == "shared":
            safe = self.ids["cta"].astype(np.int64) * size + safe
        elif buf.scope == "local":
            safe = np.arange(self.n, dtype=np.int64) * size + safe
        return flat, safe

    # -- statements --------------------------------------------------------------------------------------
    def block(self, stmts, mask, loop):
        """Run ``stmts`` under ``mask`` (a generator: it yields where its threads wait, see ``run``); returns
        the threads still running (not broken/continued)."""
        for s in stmts:
            if not mask.any():
                return mask
            mask = yield from self.stmt(s, mask, loop)
        return mask

    def stmt(self, s, mask, loop):
        self.steps += 1
        self.loc = s.loc or self.loc
        if isinstance(s, ir.Assign):
            v = dtypes.convert(np.broadcast_to(self.ev(s.value, mask), (self.n,)), s.var.dtype)
            old = self.env.get(s.var.name)
            self.env[s.var.name] = v.copy() if old is None or mask.all() else np.where(mask, v, old)
            return mask
        if isinstance(s, ir.Store):
            flat, idx = self.address(s.buffer, self.ev(s.index, mask), mask, s.loc, "write")
            v = dtypes.to_storage(np.broadcast_to(self.ev(s.value, mask), (self.n,)), s.buffer.dtype)
            if s.buffer.scope == "shared":
                self.check_race(s, idx, mask, True)
            if self.in_flight or self.released:
                if s.buffer.scope == "shared":
                    self.check_not_in_flight(s.buffer.name, idx[mask], s.loc, "a store overwrites", mask)
                elif s.buffer.scope == "local" and self.in_flight:
                    self.check_accumulator(s.buffer.name, mask, s.loc)
            flat[idx[mask]] = v[mask]
            if self.check_uninit and s.buffer.scope != "global":
                self.init[s.buffer.name][idx[mask]] = True
            return mask
        if isinstance(s, ir.If):
            c = np.broadcast_to(self.ev(s.cond, mask), (self.n,)) & mask
            m1 = (yield from self.block(s.then, c, loop)) if c.any() else c
            rest = mask & ~c
            m2 = (yield from self.block(s.orelse, rest, loop)) if s.orelse and rest.any() else rest
            return m1 | m2
        if isinstance(s, ir.For):
            start = np.broadcast_to(self.ev(s.start, mask), (self.n,)).astype(np.int32)
            stop = self.ev(s.stop, mask)
            step = self.ev(s.step, mask)
            self.assign(s.var, start, mask)
            return (yield from self.loop(s.body, mask, lambda m: _lt(self.env[s.var.name], stop, step),
                                         lambda m: self.assign(s.var, self.env[s.var.name] + step, m)))
        if isinstance(s, ir.While):
            return (yield from self.loop(s.body, mask, lambda m: self.ev(s.cond, m), None))
        if isinstance(s, ir.Break):
            loop["brk"] |= mask
            return np.zeros_like(mask)
        if isinstance(s, ir.Continue):
            return np.zeros_like(mask)
        if isinstance(s, ir.Barrier):
            yield from self.barrier(s, mask)
            return mask
        if isinstance(s, ir.Alloc):
            self.allocate(s.buffer, mask)
            return mask
        if isinstance(s, ir.Evaluate):
            if isinstance(s.call, ir.Call) and s.call.name in _MBAR_OPS:
                yield from self.mbarrier(s.call, mask, s.loc)
            else:
                self.ev(s.call, mask)
            return mask
        raise KernelRuntimeError(f"CPU backend cannot run {type(s).__name__}")

    def mbarrier(self, e, mask, loc):
        """mbarrier init / arrive / expect_tx / wait / inval on the per-CTA model of ``sync.Mbarriers``."""
        buf, idx = e.args[0], self.ev(e.args[1], mask)
        try:
            if e.name == "mbar_wait":
                parity = self.ev(e.args[2], mask)
                while not self.mbars.ready(buf, idx, parity, mask):
                    yield ("mbarrier", buf.name, idx, parity, loc, mask)
                self.writes = {}          # what the phase's arrivals wrote before arriving is visible now
                self.hold_released(buf, idx, mask)
            elif e.name == "mbar_init":
                self.mbars.init(buf, idx, self.ev(e.args[2], mask), mask)
                if self.released:         # phases count from 0 again: what older ones released is gone
                    self.released.reset(buf.name)
            elif e.name == "mbar_arrive":
                self.release_reads(buf, idx, mask, loc)
                self.mbars.arrive(buf, idx, mask)
            elif e.name == "mbar_expect_tx":    # a producer announcing bytes releases nothing it reads
                self.mbars.arrive(buf, idx, mask, int(self.ev(e.args[2], mask)))
            else:
                self.mbars.inval(buf, idx, mask)
        except KernelRuntimeError as err:
            raise KernelRuntimeError(at(loc, f"kernel {self.k.name!r}: {err}")) from None

    def allocate(self, b: ir.Buffer, mask):
        """Zero-filled storage for ``b``. A strand (some warpgroups of the CTA, see ``run``) that reaches an
        allocation after another did keeps what the others hold: it zeroes only its own threads' registers,
        and shared memory, which exists once per CTA, not at all."""
        size, shared = int(b.size), b.scope == "shared"
        owners = self.n // self.k.threads if shared else self.n
        have = self.mem.get(b.name)
        if have is None or have.size != owners * size or mask.all():
            try:
                self.mem[b.name] = np.zeros(owners * size, dtypes.storage(b.dtype))
            except (MemoryError, ValueError):
                raise KernelRuntimeError(at(self.loc, f"kernel {self.k.name!r}: {b.scope} tensor {b.name!r} of "
                                                      f"{size} elements per {'CTA' if shared else 'thread'} does "
                                                      f"not fit in this machine's memory")) from None
            self.writes.pop(b.name, None)
            if self.check_uninit:
                self.init[b.name] = np.zeros(owners * size, bool)
        elif not shared:
            have.reshape(self.n, size)[mask] = 0
            if self.check_uninit:
                self.init[b.name].reshape(self.n, size)[mask] = False

    def release_reads(self, buf, idx, mask, loc):
        """An arrival by warpgroups with wgmma groups in flight: remember what those groups read, under the
        phase the arrival completes (``inflight.ReleasedReads``)."""
        if not self.in_flight:
            return
        idx = np.broadcast_to(np.asarray(idx, np.int64), mask.shape)
        done = self.mbars.phases(buf)
        seen = set()
        for t in np.flatnonzero(mask):
            c, i, wg = int(self.ids["cta"][t]), int(idx[t]), int(t) // 128
            if (wg, i) in seen:        # 128 threads arriving for one warpgroup record its reads once
                continue
            seen.add((wg, i))
            reads = self.in_flight.unretired_reads(wg)
            if reads:
                self.released.release((buf.name, c, i, int(done[c, i])), reads, loc, wg)

    def hold_released(self, buf, idx, mask):
        """Threads that waited for a phase hold what its arrivals released (after ``Mbarriers.ready`` the
        phase waited for is the last completed one: -1 for a wait on parity 1 of a fresh barrier)."""
        if not self.released:
            self.released.held[mask] = -1
            return
        cta = self.ids["cta"][mask]
        idx = np.broadcast_to(np.asarray(idx, np.int64), mask.shape)[mask]
        self.released.acquire(buf.name, cta, idx, self.mbars.phases(buf)[cta, idx] - 1, mask)

    def barrier(self, s, mask):
        """All threads of each CTA (warpgroup, warp) must arrive together; then shared accesses are ordered.
        When the kernel runs as several strands (``run``), a strand waits at a CTA or warpgroup barrier until
        the other strands' threads of its group arrive."""
        cl = tuple(getattr(self.k, "cluster", (1,)))
        if s.scope == "cluster" and cl != (1,) * len(cl):
            self.cluster_barrier(s, mask, cl)
            return
        group = {"cta": self.k.threads, "warpgroup": 128, "warp": 32, "cluster": self.k.threads}[s.scope]
        group = min(group, self.k.threads)
        if self.strands > 1 and group > 32:
            counter = self.counters.setdefault(group, BarrierCounter(self.n))
            want = counter.arrive(mask, group, self.exited)
            if s.scope == "cta" and self.released and counter.passed(mask, want):
                # the last to arrive completes it: the groups retired by now are ordered before everyone's
                # next statement (a strand resuming later must not forget what was released meanwhile)
                self.released.forget(self.in_flight.retired)
            while not counter.passed(mask, want):
                yield ("barrier", s.scope, s.loc, mask)
            self.writes = {}
            return
        m = mask.reshape(-1, group)
        part = m.any(axis=1) & ~m.all(axis=1)
        if part.any():
            g = int(np.argmax(part))
            missing = np.flatnonzero(~m[g])[:4] + (g * group) % self.k.threads
            raise KernelRuntimeError(at(s.loc, f"barrier in kernel {self.k.name!r} reached by only part of "
                                               f"{s.scope} {g} (threads tx={missing.tolist()}... are not there): "
                                               f"on a GPU this hangs or is undefined"))
        self.writes = {}
        if s.scope == "cta" and self.released:
            self.released.forget(self.in_flight.retired)

    def cluster_barrier(self, s, mask, cl):
        """Every thread of each cluster arrives together."""
        cl = tuple(cl) + (1,) * (3 - len(cl))
        key = ((self.ids["cta.x"] // cl[0]) * 1_000_000 + (self.ids["cta.y"] // cl[1]) * 1000
               + self.ids["cta.z"] // cl[2])
        for c in np.unique(key):
            m = mask[key == c]
            if m.any() and not m.all():
                raise KernelRuntimeError(at(s.loc, f"cluster barrier in kernel {self.k.name!r} reached by only part "
                                                   f"of a cluster: on a GPU this hangs"))
        self.writes = {}

    def uninit_read(self, buf, idx, mask, loc):
        """A read of words of ``buf`` (positions ``idx`` in its storage over all owners) never written."""
        init = self.init.get(buf.name)
        if init is None:
            return
        bad = mask & ~init[np.broadcast_to(idx, (self.n,))]
        if bad.any():
            t = int(np.argmax(bad))
            T = self.k.threads
            size = int(buf.size)
            raise KernelRuntimeError(at(loc or self.loc, f"read of uninitialised {buf.scope} tensor {buf.name!r} in "
                                                         f"kernel {self.k.name!r}: thread (cta={t // T}, tx={t % T}) "
                                                         f"element {int(np.broadcast_to(idx, (self.n,))[t]) % size} "
                                                         f"was never written"))

    def uninit_fragments(self, e, mask):
        """``mma_m16n8k16(d, d_off, a, a_off, b, b_off)`` reads registers ``off..off + n`` of each fragment
        (D accumulates): each must have been written, wherever the offset (a tile of a register tensor's
        layout) puts them."""
        for (buf, off), regs in zip(zip(e.args[0::2], e.args[1::2]), (4, 8, 4)):
            if not isinstance(buf, ir.Buffer) or buf.name not in self.init:
                continue
            o = np.broadcast_to(self.ev(off, mask), (self.n,)).astype(np.int64)
            for j in range(regs):
                idx = np.where(mask, o + j, 0)
                if (mask & ((idx < 0) | (idx >= int(buf.size)))).any():
                    return              # the intrinsic reports offsets out of bounds
                self.uninit_read(buf, np.arange(self.n, dtype=np.int64) * int(buf.size) + idx, mask, e.loc)

    def uninit_vector(self, e, mask):
        """``copy_vec`` / ``cp_async`` reads ``n`` consecutive elements of its source: each must have been
        written."""
        _, _, src, si, n = e.args
        si = np.broadcast_to(self.ev(si, mask), (self.n,)).astype(np.int64)
        for j in range(int(n.value)):
            _, idx = self.address(src, si + j, mask, e.loc or self.loc, "read")
            self.uninit_read(src, idx, mask, e.loc)

    def assign(self, var, value, mask):
        old = self.env.get(var.name)
        value = dtypes.convert(np.broadcast_to(value, (self.n,)), var.dtype)
        self.env[var.name] = value.copy() if old is None else np.where(mask, value, old)

    def loop(self, body, mask, cond, advance):
        state = {"brk": np.zeros_like(mask)}
        live = mask.copy()
        while True:
            live = live & ~state["brk"] & np.broadcast_to(cond(live), (self.n,))
            if not live.any():
                return mask
            yield from self.block(body, live, state)
            live = live & ~state["brk"]
            if advance is not None:
                advance(live)

    def check_race(self, s, idx, mask, write: bool):
        """A shared word touched by two threads with no barrier between, at least one writing, is a race."""
        owner = self.writes.get(s.buffer.name)
        if owner is None:
            owner = self.writes[s.buffer.name] = np.full(self.mem[s.buffer.name].size, -1, np.int64)
        t = np.arange(self.n)
        prev = owner[idx]
        bad = mask & (prev >= 0) & (prev != t)
        if write and not bad.any():
            u, first, counts = np.unique(idx[mask], return_index=True, return_counts=True)
            if (counts > 1).any():
                w = u[np.argmax(counts > 1)]
                ts = np.flatnonzero(mask & (idx == w))
                bad = np.zeros_like(mask)
                bad[ts[1]] = True
                prev = np.full(self.n, ts[0])
        if bad.any():
            k = int(np.argmax(bad))
            T = self.k.threads
            kind = "write" if write else "read"
            raise KernelRuntimeError(at(s.loc, f"shared-memory race on {s.buffer.name!r} in kernel {self.k.name!r}: "
                                               f"thread tx={k % T} of cta {k // T} {kind}s word "
                                               f"{int(idx[k]) % int(s.buffer.size)} written by tx={int(prev[k]) % T} "
                                               f"with no barrier between"))
        if write:
            owner[idx[mask]] = t[mask]





def _const_in(e, lo, hi) -> bool:
    """Whether ``e`` is an integer constant in ``lo <= e < hi`` (None: unbounded), so needs no run-time check."""
    return isinstance(e, ir.Const) and isinstance(e.value, int) and (lo is None or e.value >= lo) \
        and (hi is None or e.value < hi)


def _scalar_argument(kname: str, p: ir.Var, a):
    """The value of scalar parameter ``p`` from the argument ``a``: a number that ``p``'s dtype holds."""
    arr = a if isinstance(a, np.ndarray) else np.asarray(a) if isinstance(a, (int, float, bool, np.generic)) \
        else None
    if arr is None and hasattr(a, "__array__"):
        arr = np.asarray(a)
    if arr is None or arr.ndim or arr.dtype.kind not in "biuf":
        what = "an array" if arr is not None and arr.ndim else f"{type(a).__name__} {a!r}"[:80]
        raise KernelRuntimeError(called_at(f"kernel {kname!r}: scalar parameter {p.name!r} ({p.dtype}) needs a "
                                           f"number, got {what}"))
    if not ir.is_float(p.dtype) and p.dtype != "bool":
        v = arr.item()
        info = np.iinfo(dtypes.compute(p.dtype))
        if isinstance(v, float) and not v.is_integer() or not info.min <= v <= info.max:
            raise KernelRuntimeError(called_at(f"kernel {kname!r}: scalar parameter {p.name!r} is {p.dtype}; "
                                               f"{v!r} is not an integer in {info.min}..{info.max}"))
    return dtypes.convert(arr, p.dtype)


def _cdiv(a, b):
    """C-style (truncating) integer division."""
    q = np.floor_divide(a, b)
    return q + ((q < 0) & (q * b != a))


def _lt(i, stop, step):
    return np.where(np.asarray(step) > 0, i < stop, i > stop)


def run(kernel: ir.Kernel, args, check_uninit: bool | None = None) -> None:
    """Run ``kernel`` once over its grid; numpy arrays (and DLPack CPU tensors) in ``args`` are updated in
    place. ``check_uninit`` (default: environment ``AXE_CHECK_UNINIT=1``) reports reads of shared or register
    memory never written.

    All threads run in lockstep, except in a kernel whose threads wait on mbarriers inside thread-dependent
    code (warp specialisation: producer warps fill buffers that consumer warps drain): there each warpgroup
    (each warp, where the roles are per warp) of the CTA is a strand of its own (warpgroup w of every CTA in
    lockstep), the strands take turns, and a strand runs until it waits for a barrier phase or a
    ``bar.sync`` that has not completed. When every strand waits and
    none can make progress, the kernel would hang on a GPU: that is reported with each strand's wait."""
    if check_uninit is None:
        check_uninit = os.environ.get("AXE_CHECK_UNINIT", "") not in ("", "0")
    m = Machine(kernel, args, check_uninit)
    level = wait_divergence(kernel)
    if level is None or kernel.threads <= 32:
        masks = [np.ones(m.n, bool)]
    elif kernel.threads > 128 and (level >= WARPGROUP or calls(kernel.body, "wgmma_m64nk16")):
        # roles by warpgroup, and wgmma stays whole: a producer of one warp runs in its warpgroup's strand
        # (warps of one warpgroup that waited for each other would be reported as a hang)
        masks = [m.ids["warpgroup"] == w for w in range(-(-kernel.threads // 128))]
    else:
        masks = [m.ids["warp"] == w for w in range(-(-kernel.threads // 32))]
    m.strands = len(masks)
    strands = [(mask, m.block(kernel.body, mask, None)) for mask in masks]
    while strands:
        before = (m.steps, m.mbars.epoch, sum(c.epoch for c in m.counters.values()))
        waiting, running = [], []
        for mask, gen in strands:
            try:
                waiting.append(next(gen))
                running.append((mask, gen))
            except StopIteration:
                m.exited |= mask
                for group, counter in m.counters.items():     # threads that exit no longer hold a barrier up
                    counter.arrive(np.zeros(m.n, bool), group, m.exited)
        strands = running
        if strands and before == (m.steps, m.mbars.epoch, sum(c.epoch for c in m.counters.values())):
            raise KernelRuntimeError(_hang_report(m, waiting))


def _hang_report(m: Machine, waiting) -> str:
    """Why no strand can go on: what each waits for, at the user's line."""
    parts = []
    for w in waiting:
        t = int(np.argmax(w[-1]))
        who = f"warp {int(m.ids['warp'][t])} (cta {int(m.ids['cta'][t])})"
        if w[0] == "mbarrier":
            _, name, idx, parity, loc, mask = w
            i = int(np.broadcast_to(idx, (m.n,))[t])
            par = int(np.broadcast_to(parity, (m.n,))[t])
            done = m.mbars.completed(name, int(m.ids["cta"][t]), i)
            parts.append(f"{who} waits on mbarrier {name!r}[{i}] for a phase of parity {par} "
                         f"({done} phase(s) completed) at {where(loc)}")
        else:
            parts.append(f"{who} waits at a {w[1]} barrier at {where(w[2])} that other threads of its "
                         f"{w[1]} never reach")
    return (f"kernel {m.k.name!r} hangs: every thread waits and none can go on (on a GPU this never "
            f"finishes): " + "; ".join(parts))

