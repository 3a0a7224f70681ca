"""Run an ``ir.Kernel`` on numpy: every IR value is an array over all threads of the grid.

Divergent control flow runs under boolean masks; a thread inactive under the mask neither stores nor
updates its locals. All threads advance statement by statement, so barriers order everything; a barrier
reached by part of a CTA, a shared-memory race between barriers, an out-of-bounds access and (optionally)
a read of never-written memory are reported with the kernel, source line, thread and address.

>>> import numpy as np
>>> from dsl import ir
>>> a = ir.Buffer("a", "i32", 4)
>>> k = ir.Kernel("k", (a,), (1,), 4, (ir.Store(a, ir.ThreadIdx("tx"), ir.ThreadIdx("tx")),))
>>> x = np.zeros(4, np.int32); run(k, [x]); x.tolist()
[0, 1, 2, 3]
"""

from __future__ import annotations

import os

import numpy as np

from dsl import ir
from dsl.errors import KernelRuntimeError, at

from . import dtypes as D
from .args import bind_tensor
from .ldmatrix import ldmatrix as load_matrices
from .mma import mma_m16n8k16
from .wgmma import operand_addresses as wgmma_addresses
from .wgmma import wgmma as wgmma_mma

_np = D.compute


_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "&": np.bitwise_and, "|": np.bitwise_or,
        "^": np.bitwise_xor, "<<": np.left_shift, ">>": np.right_shift, "min": np.minimum, "max": np.maximum}
_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
        "!=": np.not_equal}
_MATH = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin, "cos": np.cos,
         "tanh": np.tanh}


class _Break(Exception):
    pass


class Machine:
    """State of one launch: thread coordinates, locals, memories."""

    def __init__(self, kernel: ir.Kernel, args, check_uninit: bool = False):
        self.k = kernel
        grid = tuple(kernel.grid) + (1,) * (3 - len(kernel.grid))
        T, n_cta = kernel.threads, grid[0] * grid[1] * grid[2]
        self.n = T * n_cta
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
            raise KernelRuntimeError(f"kernel {kernel.name!r} takes {len(kernel.params)} arguments, got {len(args)}")
        for p, a in zip(kernel.params, args):
            if isinstance(p, ir.Var):
                if isinstance(a, (np.ndarray, list)) or hasattr(a, "__array__") and np.ndim(a):
                    raise KernelRuntimeError(f"kernel {kernel.name!r}: scalar parameter {p.name!r} got an array")
                self.scalars[p.name] = D.convert(np.asarray(a), p.dtype)
        for p, a in zip(kernel.params, args):
            if isinstance(p, ir.Buffer):
                shape = tuple(int(self.scalar(d)) for d in p.shape)
                self.mem[p.name] = bind_tensor(kernel.name, p, a, shape, int(self.scalar_size(p)))
        self.check_uninit = check_uninit
        self.init: dict = {}
        self.bases: dict = {}

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
            return np.array(e.value, dtype=_np(e.dtype))
        if isinstance(e, ir.Var):
            if e.name in self.env:
                return self.env[e.name]
            return self.scalars[e.name]
        if isinstance(e, ir.ThreadIdx):
            return self.ids[e.kind]
        if isinstance(e, ir.BinOp):
            t = _np(e.dtype)
            a, b = self.ev(e.a, mask).astype(t, copy=False), self.ev(e.b, mask).astype(t, copy=False)
            if e.op in _BIN:
                out = _BIN[e.op](a, b)
                return D.round_bf16(out) if e.dtype == "bf16" else out
            if e.op == "/":
                out = np.divide(a, b)
                return D.round_bf16(out) if e.dtype == "bf16" else out
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
            return D.convert(self.ev(e.a, mask), e.dtype)
        if isinstance(e, ir.Load):
            flat, idx = self.address(e.buffer, self.ev(e.index, mask), mask, e.loc, "read")
            if e.buffer.scope == "shared":
                self.check_race(e, idx, mask, False)
            if self.check_uninit and e.buffer.scope != "global":
                self.uninit_read(e, idx, mask)
            return D.from_storage(flat[idx], e.buffer.dtype)
        if isinstance(e, ir.Call) and e.name == "mma_m16n8k16":
            return self.mma(e, mask)
        if isinstance(e, ir.Call) and e.name == "dsmem_load":
            return self.dsmem_load(e, mask)
        if isinstance(e, ir.Call) and e.name in ("copy_vec", "cp_async"):
            return self.vector_copy(e, mask)
        if isinstance(e, ir.Call) and e.name == "cp_async_wait_all":
            return None
        if isinstance(e, ir.Call) and e.name == "ldmatrix":
            return self.ldmatrix(e, mask)
        if isinstance(e, ir.Call) and e.name == "wgmma_m64nk16":
            return self.wgmma(e, mask)
        if isinstance(e, ir.Call) and e.name in ("wgmma_fence", "wgmma_commit", "wgmma_wait", "fence_proxy_async",
                                                 "mbar_init", "mbar_expect_tx", "mbar_wait", "mbar_inval",
                                                 "mbar_arrive"):
            return None      # completion mechanisms: the CPU backend finishes every copy when it is issued
        if isinstance(e, ir.Call) and e.name == "tma_load":
            return self.tma_load(e, mask)
        if isinstance(e, ir.Call):
            args = [self.ev(a, mask) for a in e.args]
            if e.name in _MATH:
                with np.errstate(all="ignore"):
                    out = _MATH[e.name](args[0].astype(_np(e.dtype), copy=False))
                return D.round_bf16(out) if e.dtype == "bf16" else out
            if e.name == "rsqrt":
                with np.errstate(all="ignore"):
                    out = 1 / np.sqrt(args[0].astype(_np(e.dtype), copy=False))
                return D.round_bf16(out) if e.dtype == "bf16" else out
            if e.name == "shfl_idx":
                v = np.broadcast_to(args[0], (self.n,))
                lane = np.broadcast_to(args[1], (self.n,)).astype(np.int64) % 32
                return v[(np.arange(self.n) // 32) * 32 + lane]
            if e.name == "shfl_xor":
                v = np.broadcast_to(args[0], (self.n,))
                src = (np.arange(self.n) ^ np.broadcast_to(args[1], (self.n,)).astype(np.int64))
                return v[src]
        raise KernelRuntimeError(f"CPU backend cannot evaluate {type(e).__name__}")

    def mma(self, e, mask):
        """Warp-collective m16n8k16: every lane of each participating warp must be active."""
        warps = mask.reshape(-1, 32)
        part = warps.any(axis=1)
        if (warps.any(axis=1) != warps.all(axis=1)).any():
            raise KernelRuntimeError(at(e.loc, f"mma_m16n8k16 in kernel {self.k.name!r} reached by part of a warp"))
        frags = []
        for (buf, off), regs in zip(zip(e.args[0::2], e.args[1::2]), (4, 8, 4)):
            o = np.broadcast_to(self.ev(off, mask), (self.n,))[mask]
            if o.size and (o != o[0]).any() or o.size and not 0 <= int(o[0]) <= int(buf.size) - regs:
                raise KernelRuntimeError(at(e.loc, f"mma_m16n8k16 offset into {buf.name!r} must be uniform and in "
                                                   f"bounds, got {sorted(set(o.tolist()))[:4]}"))
            o = int(o[0]) if o.size else 0
            view = self.mem[buf.name].reshape(self.n // 32, 32, int(buf.size))
            frags.append((view, o, regs))
        (dv, do, _), (av, ao, _), (bv, bo, _) = frags
        dv[part, :, do:do + 4] = mma_m16n8k16(dv[part, :, do:do + 4], av[part, :, ao:ao + 8], bv[part, :, bo:bo + 4])
        d_init = self.init.get(e.args[0].name) if self.check_uninit else None
        if d_init is not None:
            d_init.reshape(self.n // 32, 32, -1)[part, :, do:do + 4] = True
        return None

    def ldmatrix(self, e, mask):
        """Warp-collective ldmatrix: lane 8j+i addresses row i of matrix j in shared memory."""
        dst, off, buf, row, num, trans = e.args
        num, trans = int(num.value), bool(trans.value)
        warps = mask.reshape(-1, 32)
        part = warps.any(axis=1)
        if (part != warps.all(axis=1)).any():
            raise KernelRuntimeError(at(e.loc, f"ldmatrix in kernel {self.k.name!r} reached by part of a warp"))
        size = int(buf.size)
        rows = np.broadcast_to(self.ev(row, mask), (self.n,)).astype(np.int64)
        used = (np.arange(self.n) % 32 < 8 * num) & mask
        bad = used & ((rows < 0) | (rows + 8 > size))
        if bad.any():
            t = int(np.argmax(bad))
            raise KernelRuntimeError(at(e.loc, f"ldmatrix row address {int(rows[t])} out of bounds of shared tensor "
                                               f"{buf.name!r} (size {size}) in kernel {self.k.name!r}, lane {t % 32}"))
        o = np.broadcast_to(self.ev(off, mask), (self.n,))[mask]
        if o.size and ((o != o[0]).any() or not 0 <= int(o[0]) <= int(dst.size) - 2 * num):
            raise KernelRuntimeError(at(e.loc, f"ldmatrix offset into {dst.name!r} must be uniform and in bounds"))
        o = int(o[0]) if o.size else 0
        addr = self.ids["cta"].astype(np.int64) * size + np.where(used, rows, 0)
        regs = load_matrices(self.mem[buf.name], addr.reshape(-1, 32)[part], num, trans)
        view = self.mem[dst.name].reshape(self.n // 32, 32, int(dst.size))
        view[part, :, o:o + 2 * num] = regs.astype(view.dtype)
        if self.check_uninit and dst.name in self.init:
            self.init[dst.name].reshape(self.n // 32, 32, -1)[part, :, o:o + 2 * num] = True
        return None

    def wgmma(self, e, mask):
        """Warpgroup-collective m64nNk16: every thread of each participating warpgroup must be active."""
        acc, a, ak, b, bk, n = e.args
        n, ak, bk = int(n.value), int(ak.value), int(bk.value)
        groups = mask.reshape(-1, 128) if self.n % 128 == 0 else None
        if groups is None or (groups.any(axis=1) != groups.all(axis=1)).any():
            raise KernelRuntimeError(at(e.loc, f"wgmma in kernel {self.k.name!r} needs whole warpgroups of 128 "
                                               f"threads, all active"))
        part = groups.any(axis=1)
        gcta = (np.arange(self.n // 128) * 128) // self.k.threads                 # CTA of each warpgroup
        ops = []
        for buf, k0, rows in ((a, ak, 64), (b, bk, n)):
            shape = tuple(int(d.value) for d in buf.shape)
            addr = wgmma_addresses(buf.layout, shape, k0, rows)
            flat = self.mem[buf.name].reshape(-1, int(buf.size))                   # per CTA
            ops.append(D.from_storage(flat[gcta[part]][:, addr], buf.dtype))
        view = self.mem[acc.name].reshape(self.n // 128, 4, 32, int(acc.size))
        view[part, :, :, :n // 2] = wgmma_mma(view[part, :, :, :n // 2], ops[0], ops[1])
        if self.check_uninit and acc.name in self.init:
            self.init[acc.name].reshape(self.n // 128, 4, 32, -1)[part, :, :, :n // 2] = True
        return None

    def tma_load(self, e, mask):
        """The box at (row c1, column c0) of a 2-d global tensor into a column block of a shared tile, through
        the tile's (swizzled) layout; elements past the tensor's edge are zeros, as the TMA fills them."""
        dst, col_off, src, c0, c1, bw, bh, _, _, _ = e.args
        col_off, bw, bh = int(col_off.value), int(bw.value), int(bh.value)
        shape = tuple(int(d.value) for d in dst.shape)
        addr = tma_box_addresses(dst.layout, shape, col_off, bh, bw)
        rows_g, cols_g = (int(self.scalar(d)) for d in src.shape)
        c0 = np.broadcast_to(self.ev(c0, mask), (self.n,))
        c1 = np.broadcast_to(self.ev(c1, mask), (self.n,))
        size = int(dst.size)
        gsrc = self.mem[src.name].reshape(rows_g, cols_g)
        for t in np.flatnonzero(mask):
            r = int(c1[t]) + np.arange(bh)[:, None]
            c = int(c0[t]) + np.arange(bw)[None, :]
            inside = (r >= 0) & (r < rows_g) & (c >= 0) & (c < cols_g)
            box = np.where(inside, gsrc[np.clip(r, 0, rows_g - 1), np.clip(c, 0, cols_g - 1)], 0)
            cta = int(self.ids["cta"][t])
            self.mem[dst.name][cta * size + addr] = box
            if self.check_uninit and dst.name in self.init:
                self.init[dst.name][cta * size + addr] = True
        return None

    def vector_copy(self, e, mask):
        """``copy_vec`` / ``cp_async``: n consecutive elements, checked element by element like stores."""
        dst, di, src, si, n = e.args
        di = np.broadcast_to(self.ev(di, mask), (self.n,)).astype(np.int64)
        si = np.broadcast_to(self.ev(si, mask), (self.n,)).astype(np.int64)
        width = int(n.value)
        if (np.where(mask, di, 0) % width).any() or (np.where(mask, si, 0) % width).any():
            t = int(np.argmax(mask & ((di % width != 0) | (si % width != 0))))
            raise KernelRuntimeError(at(e.loc, f"misaligned {e.name} of {width} elements in kernel {self.k.name!r}: "
                                               f"thread tx={int(self.ids['tx'][t])} copies {src.name}[{int(si[t])}] "
                                               f"to {dst.name}[{int(di[t])}]"))
        for j in range(width):
            flat_s, idx_s = self.address(src, si + j, mask, e.loc, "read")
            if src.scope == "shared":
                self.check_race(_Access(src, e.loc), idx_s, mask, False)
            vals = flat_s[idx_s]
            flat_d, idx_d = self.address(dst, di + j, mask, e.loc, "write")
            if dst.scope == "shared":
                self.check_race(_Access(dst, e.loc), idx_d, mask, True)
            flat_d[idx_d[mask]] = vals[mask]
            if self.check_uninit and dst.scope != "global" and dst.name in self.init:
                self.init[dst.name][idx_d[mask]] = True
        return None

    def dsmem_load(self, e, mask):
        """Element ``index`` of shared buffer ``buf`` in CTA ``rank`` of the running thread's (1-d) cluster."""
        buf, rank, index = e.args
        cl = int(tuple(getattr(self.k, "cluster", (1,)))[0])
        rank = np.broadcast_to(self.ev(rank, mask), (self.n,)).astype(np.int64)
        index = np.broadcast_to(self.ev(index, mask), (self.n,)).astype(np.int64)
        size = int(buf.size)
        bad = mask & ((rank < 0) | (rank >= cl) | (index < 0) | (index >= size))
        if bad.any():
            t = int(np.argmax(bad))
            raise KernelRuntimeError(at(e.loc, f"distributed shared memory read out of bounds in kernel "
                                               f"{self.k.name!r}: thread (cta={int(self.ids['cta'][t])}, "
                                               f"tx={int(self.ids['tx'][t])}) reads CTA rank {int(rank[t])} of a "
                                               f"cluster of {cl}, element {int(index[t])} of {size}"))
        cta = self.ids["cta"].astype(np.int64)
        target = cta - self.ids["cta.x"].astype(np.int64) % cl + rank        # same cluster, CTA x = base + rank
        flat = np.where(mask, target * size + index, 0)
        return D.from_storage(self.mem[buf.name][flat], buf.dtype)

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
        """Run ``stmts`` under ``mask``; returns the threads still running (not broken/continued)."""
        for s in stmts:
            if not mask.any():
                return mask
            mask = self.stmt(s, mask, loop)
        return mask

    def stmt(self, s, mask, loop):
        if isinstance(s, ir.Assign):
            v = D.convert(np.broadcast_to(self.ev(s.value, mask), (self.n,)), s.var.dtype)
            old = self.env.get(s.var.name)
            self.env[s.var.name] = v.copy() if old is None or mask.all() else np.where(mask, v, old)
            return mask
        if isinstance(s, ir.Store):
            flat, idx = self.address(s.buffer, self.ev(s.index, mask), mask, s.loc, "write")
            v = D.to_storage(np.broadcast_to(self.ev(s.value, mask), (self.n,)), s.buffer.dtype)
            if s.buffer.scope == "shared":
                self.check_race(s, idx, mask, True)
            flat[idx[mask]] = v[mask]
            if self.check_uninit and s.buffer.scope != "global":
                self.init[s.buffer.name][idx[mask]] = True
            return mask
        if isinstance(s, ir.If):
            c = np.broadcast_to(self.ev(s.cond, mask), (self.n,)) & mask
            m1 = self.block(s.then, c, loop)
            m2 = self.block(s.orelse, mask & ~c, loop) if s.orelse else mask & ~c
            return m1 | m2
        if isinstance(s, ir.For):
            start = np.broadcast_to(self.ev(s.start, mask), (self.n,)).astype(np.int32)
            stop = self.ev(s.stop, mask)
            step = self.ev(s.step, mask)
            self.assign(s.var, start, mask)
            return self.loop(s.body, mask, lambda m: _lt(self.env[s.var.name], stop, step),
                             lambda m: self.assign(s.var, self.env[s.var.name] + step, m))
        if isinstance(s, ir.While):
            return self.loop(s.body, mask, lambda m: self.ev(s.cond, m), None)
        if isinstance(s, ir.Break):
            loop["brk"] |= mask
            return np.zeros_like(mask)
        if isinstance(s, ir.Continue):
            return np.zeros_like(mask)
        if isinstance(s, ir.Barrier):
            self.barrier(s, mask)
            return mask
        if isinstance(s, ir.Alloc):
            owners = self.n // self.k.threads if s.buffer.scope == "shared" else self.n
            self.mem[s.buffer.name] = np.zeros(owners * int(s.buffer.size), D.storage(s.buffer.dtype))
            self.writes.pop(s.buffer.name, None)
            if self.check_uninit:
                self.init[s.buffer.name] = np.zeros(owners * int(s.buffer.size), bool)
            return mask
        if isinstance(s, ir.Evaluate):
            self.ev(s.call, mask)
            return mask
        raise KernelRuntimeError(f"CPU backend cannot run {type(s).__name__}")

    def barrier(self, s, mask):
        """All threads of each CTA (warpgroup, warp) must arrive together; then shared accesses are ordered."""
        cl = tuple(getattr(self.k, "cluster", (1,)))
        if s.scope == "cluster" and cl != (1,) * len(cl):
            self.cluster_barrier(s, mask, cl)
            return
        group = {"cta": self.k.threads, "warpgroup": 128, "warp": 32, "cluster": self.k.threads}[s.scope]
        group = min(group, self.k.threads)
        m = mask.reshape(-1, group)
        part = m.any(axis=1) & ~m.all(axis=1)
        if part.any():
            g = int(np.argmax(part))
            missing = np.flatnonzero(~m[g])[:4] + (g * group) % self.k.threads
            raise KernelRuntimeError(at(s.loc, f"barrier in kernel {self.k.name!r} reached by only part of "
                                               f"{s.scope} {g} (threads tx={missing.tolist()}... are not there): "
                                               f"on a GPU this hangs or is undefined"))
        self.writes = {}

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

    def uninit_read(self, e, idx, mask):
        init = self.init.get(e.buffer.name)
        if init is None:
            return
        bad = mask & ~init[idx]
        if bad.any():
            t = int(np.argmax(bad))
            T = self.k.threads
            size = int(e.buffer.size)
            raise KernelRuntimeError(at(e.loc, f"read of uninitialised {e.buffer.scope} tensor {e.buffer.name!r} in "
                                               f"kernel {self.k.name!r}: thread (cta={t // T}, tx={t % T}) "
                                               f"element {int(idx[t]) % size} was never written"))

    def assign(self, var, value, mask):
        old = self.env.get(var.name)
        value = D.convert(np.broadcast_to(value, (self.n,)), var.dtype)
        self.env[var.name] = value.copy() if old is None else np.where(mask, value, old)

    def loop(self, body, mask, cond, advance):
        state = {"brk": np.zeros_like(mask)}
        live = mask.copy()
        while True:
            live = live & ~state["brk"] & np.broadcast_to(cond(live), (self.n,))
            if not live.any():
                return mask
            self.block(body, live, state)
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


def tma_box_addresses(layout, shape, col_off, rows, cols):
    """(rows, cols) element addresses of a box written at column ``col_off`` of a shared tile."""
    key = (layout, shape, col_off, rows, cols)
    hit = _BOX_CACHE.get(key)
    if hit is None:
        hit = np.array([[layout.apply_base(r, col_off + c, shape=shape)["m"] for c in range(cols)]
                        for r in range(rows)], np.int64)
        _BOX_CACHE[key] = hit
    return hit


_BOX_CACHE: dict = {}


class _Access:
    """What the race checker needs to know about an access made by an intrinsic."""

    def __init__(self, buffer, loc):
        self.buffer, self.loc = buffer, loc


def _cdiv(a, b):
    """C-style (truncating) integer division."""
    q = np.floor_divide(a, b)
    return q + ((q < 0) & (q * b != a))


def _lt(i, stop, step):
    return np.where(np.asarray(step) > 0, i < stop, i > stop)


def run(kernel: ir.Kernel, args, check_uninit: bool | None = None) -> None:
    """Run ``kernel`` once over its grid; numpy arrays (and DLPack CPU tensors) in ``args`` are updated in
    place. ``check_uninit`` (default: environment ``AXE_CHECK_UNINIT=1``) reports reads of shared or register
    memory never written."""
    if check_uninit is None:
        check_uninit = os.environ.get("AXE_CHECK_UNINIT", "") not in ("", "0")
    m = Machine(kernel, args, check_uninit)
    m.writes = {}
    m.block(kernel.body, np.ones(m.n, bool), None)
