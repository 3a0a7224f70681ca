"""Warp- and warpgroup-collective intrinsics and bulk copies of the CPU backend (``mma_m16n8k16``,
``ldmatrix``, ``wgmma_m64nk16``, ``tma_load``, ``copy_vec``/``cp_async``, ``dsmem_load``): each checks that
the whole warp (warpgroup) takes part where the hardware requires it, then emulates the instruction
from the preset layouts.

>>> tma_box_addresses(__import__("axe").Layout.parse("S[(2,4):(4,1)]"), (2, 4), 0, 2, 2).tolist()
[[0, 1], [4, 5]]
"""

from __future__ import annotations

import numpy as np

from lowering.ir.errors import KernelRuntimeError, at, where

from . import dtypes
from .ldmatrix import ldmatrix as load_matrices
from .ldmatrix import store_table
from .mma import mma_m16n8k16
from .wgmma import operand_addresses as wgmma_addresses
from .wgmma import wgmma as wgmma_mma


def tma_box_addresses(layout, shape, col_off, rows, cols, row_off=0):
    """(rows, cols) element addresses of a box written at (``row_off``, ``col_off``) of a shared tile."""
    key = (layout, shape, col_off, rows, cols, row_off)
    hit = _BOX_CACHE.get(key)
    if hit is None:
        hit = np.array([[layout.apply_base(row_off + r, col_off + c, shape=shape)["m"] for c in range(cols)]
                        for r in range(rows)], np.int64)
        _BOX_CACHE[key] = hit
    return hit


_BOX_CACHE: dict = {}


class _Access:
    """What the race checker needs to know about an access made by an intrinsic."""

    def __init__(self, buffer, loc):
        self.buffer, self.loc = buffer, loc


class WarpOpsMixin:
    """Methods of ``Machine`` for the collective intrinsics (see module docstring)."""

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
        a_vals = dtypes.from_storage(av[part, :, ao:ao + 8], e.args[2].dtype)      # bf16: raw bits -> values
        b_vals = dtypes.from_storage(bv[part, :, bo:bo + 4], e.args[4].dtype)
        dv[part, :, do:do + 4] = mma_m16n8k16(dv[part, :, do:do + 4], a_vals, b_vals)
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
        o = self._register_offset(e, off, dst, num, mask)
        addr = self.ids["cta"].astype(np.int64) * size + np.where(used, rows, 0)
        regs = load_matrices(self.mem[buf.name], addr.reshape(-1, 32)[part], num, trans)
        view = self.mem[dst.name].reshape(self.n // 32, 32, int(dst.size))
        view[part, :, o:o + 2 * num] = regs.astype(view.dtype)
        if self.check_uninit and dst.name in self.init:
            self.init[dst.name].reshape(self.n // 32, 32, -1)[part, :, o:o + 2 * num] = True
        return None

    def check_not_in_flight(self, buffer: str, words, loc, what: str, mask=None) -> None:
        """A write into shared words that an unretired wgmma still reads is a race on the GPU; so is one by
        threads ``mask`` into words a phase they waited for released while a wgmma still read them."""
        words = np.asarray(words)
        line = self.in_flight.overwritten(buffer, words) if self.in_flight else False
        if line is not False:
            raise KernelRuntimeError(at(loc, f"kernel {self.k.name!r}: {what} shared tensor {buffer!r} that the "
                                             f"wgmma at {where(line)} may still be reading (its group was not "
                                             f"waited for: dsl.gemm_wait before releasing the stage)"))
        hit = self.released.overwritten(buffer, words, mask, self.in_flight.retired) \
            if self.released and mask is not None else False
        if hit is not False:
            raise KernelRuntimeError(at(loc, f"kernel {self.k.name!r}: {what} shared tensor {buffer!r} that the "
                                             f"wgmma at {where(hit[0])} may still be reading: the stage was "
                                             f"released at {where(hit[1])} before that wgmma's group was waited "
                                             f"for (dsl.gemm_wait before dsl.arrive)"))

    def check_accumulator(self, buffer: str, mask, loc) -> None:
        """Registers an unretired wgmma still writes are not to be touched by ordinary code."""
        line = self.in_flight.accumulator_busy(buffer, _warpgroups(mask))
        if line is not False:
            raise KernelRuntimeError(at(loc, f"kernel {self.k.name!r}: accumulator {buffer!r} used while the wgmma "
                                             f"at {where(line)} may still be writing it (dsl.gemm_wait first)"))

    def wgmma_group(self, e, mask) -> None:
        """``wgmma_commit`` / ``wgmma_wait n`` for the active warpgroups."""
        wgs = _warpgroups(mask)
        if e.name == "wgmma_commit":
            self.in_flight.commit(wgs)
        else:
            self.in_flight.wait(wgs, int(e.args[0].value))

    def _register_offset(self, e, off, regs, num, mask) -> int:
        """The first of the ``2 * num`` registers of ``regs`` an ldmatrix/stmatrix uses: the same in every
        thread, in bounds."""
        o = np.broadcast_to(self.ev(off, mask), (self.n,))[mask]
        if o.size and ((o != o[0]).any() or not 0 <= int(o[0]) <= int(regs.size) - 2 * num):
            raise KernelRuntimeError(at(e.loc, f"{e.name} offset into {regs.name!r} must be uniform and in bounds"))
        return int(o[0]) if o.size else 0

    def stmatrix(self, e, mask):
        """Warp-collective stmatrix (sm_90): lane 8j+i gives the (16-byte aligned) address of row i of matrix j
        in shared memory; each lane's registers go where ldmatrix would have loaded them from. Every store is
        checked like a thread's own (bounds, races; the register that holds it is the writer)."""
        buf, row, src, off, num, trans = e.args
        num, trans = int(num.value), bool(trans.value)
        warps = mask.reshape(-1, 32)
        if (warps.any(axis=1) != warps.all(axis=1)).any():
            raise KernelRuntimeError(at(e.loc, f"stmatrix in kernel {self.k.name!r} reached by part of a warp"))
        size = int(buf.size)
        rows = np.broadcast_to(self.ev(row, mask), (self.n,)).astype(np.int64)
        used = (self.ids["lane"] < 8 * num) & mask
        bad = used & ((rows < 0) | (rows + 8 > size) | (rows % 8 != 0))
        if bad.any():
            t = int(np.argmax(bad))
            what = "out of bounds of" if rows[t] < 0 or rows[t] + 8 > size else "not 16-byte aligned in"
            raise KernelRuntimeError(at(e.loc, f"stmatrix row address {int(rows[t])} {what} shared tensor "
                                               f"{buf.name!r} (size {size}) in kernel {self.k.name!r}, lane {t % 32}"))
        o = self._register_offset(e, off, src, num, mask)
        rows = np.where(mask, rows, 0)
        j, r, c = store_table(num, trans)
        lane = self.ids["lane"]
        first = np.arange(self.n) - lane                                   # thread index of lane 0 of the warp
        if self.in_flight:
            self.check_accumulator(src.name, mask, e.loc)
        regs = self.mem[src.name].reshape(self.n, int(src.size))
        init = self.init.get(src.name) if self.check_uninit else None
        flat = self.mem[buf.name]
        cta = self.ids["cta"].astype(np.int64) * size
        for k in range(2 * num):
            if init is not None and (mask & ~init.reshape(self.n, -1)[:, o + k]).any():
                t = int(np.argmax(mask & ~init.reshape(self.n, -1)[:, o + k]))
                raise KernelRuntimeError(at(e.loc, f"stmatrix in kernel {self.k.name!r} stores register {o + k} of "
                                                   f"{src.name!r}, never written, from tx={int(self.ids['tx'][t])}"))
            dest = np.where(mask, cta + rows[first + 8 * j[lane, k] + r[lane, k]] + c[lane, k], 0)
            self.check_race(_Access(buf, e.loc), dest, mask, True)
            flat[dest[mask]] = regs[mask, o + k]
            if self.check_uninit and buf.name in self.init:
                self.init[buf.name][dest[mask]] = True
        return None

    def wgmma(self, e, mask):
        """Warpgroup-collective m64nNk16: every thread of each participating warpgroup must be active; each
        warpgroup reads its own 64 rows of A (``a_row``, the same for all its threads)."""
        acc, a, a_row, ak, b, b_row, bk, n = e.args
        n, ak, bk = int(n.value), int(ak.value), int(bk.value)
        groups = mask.reshape(-1, 128) if self.n % 128 == 0 else None
        if groups is None or (groups.any(axis=1) != groups.all(axis=1)).any():
            raise KernelRuntimeError(at(e.loc, f"wgmma in kernel {self.k.name!r} needs whole warpgroups of 128 "
                                               f"threads, all active"))
        part = np.flatnonzero(groups.any(axis=1))
        rows = np.broadcast_to(self.ev(a_row, mask), (self.n,)).reshape(-1, 128)
        if (rows[part] != rows[part][:, :1]).any():
            raise KernelRuntimeError(at(e.loc, f"wgmma in kernel {self.k.name!r}: A's row offset differs inside a "
                                               f"warpgroup"))
        view = self.mem[acc.name].reshape(self.n // 128, 4, 32, int(acc.size))
        a_shape = tuple(int(d.value) for d in a.shape)
        b_shape = tuple(int(d.value) for d in b.shape)
        b_rows = np.broadcast_to(self.ev(b_row, mask), (self.n,)).reshape(-1, 128)
        if (b_rows[part] != b_rows[part][:, :1]).any():
            raise KernelRuntimeError(at(e.loc, f"wgmma in kernel {self.k.name!r}: B's row offset differs inside a "
                                               f"warpgroup"))
        fa = self.mem[a.name].reshape(-1, int(a.size))
        fb = self.mem[b.name].reshape(-1, int(b.size))
        for g in part:
            cta = (g * 128) // self.k.threads
            a_addr = wgmma_addresses(a.layout, a_shape, ak, 64, int(rows[g, 0]))
            b_addr = wgmma_addresses(b.layout, b_shape, bk, n, int(b_rows[g, 0]))
            self.in_flight.issue(int(g), {a.name: cta * int(a.size) + a_addr, b.name: cta * int(b.size) + b_addr},
                                 acc.name, e.loc)
            ops = (dtypes.from_storage(fa[cta][a_addr], a.dtype)[None],
                   dtypes.from_storage(fb[cta][b_addr], b.dtype)[None])
            view[g:g + 1, :, :, :n // 2] = wgmma_mma(view[g:g + 1, :, :, :n // 2], *ops)
        if self.check_uninit and acc.name in self.init:
            self.init[acc.name].reshape(self.n // 128, 4, 32, -1)[part, :, :, :n // 2] = True
        return None

    def tma_load(self, e, mask):
        """The box at (row c1, column c0) of a 2-d global tensor into a column block of a shared tile, through
        the tile's (swizzled) layout; elements past the tensor's edge are zeros, as the TMA fills them."""
        dst, row_off, col_off, src, c0, c1, bw, bh, mbar, midx, _ = e.args
        col_off, bw, bh = int(col_off.value), int(bw.value), int(bh.value)
        shape = tuple(int(d.value) for d in dst.shape)
        row_off = np.broadcast_to(self.ev(row_off, mask), (self.n,))
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
            addr = tma_box_addresses(dst.layout, shape, col_off, bh, bw, int(row_off[t]))
            if self.in_flight or self.released:
                one = np.zeros(self.n, bool)
                one[t] = True
                self.check_not_in_flight(dst.name, cta * size + addr, e.loc, "a TMA copy overwrites", one)
            self.mem[dst.name][cta * size + addr] = box
            if self.check_uninit and dst.name in self.init:
                self.init[dst.name][cta * size + addr] = True
        try:   # the copy has landed: its bytes count down on the mbarrier
            nbytes = bw * bh * np.dtype(dtypes.storage(dst.dtype)).itemsize
            self.mbars.complete_tx(mbar, self.ev(midx, mask), mask, nbytes)
        except KernelRuntimeError as err:
            raise KernelRuntimeError(at(e.loc, f"kernel {self.k.name!r}: {err}")) from None
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
        if self.in_flight:
            for buf in (src, dst):
                if buf.scope == "local":
                    self.check_accumulator(buf.name, mask, e.loc)
        for j in range(width):
            flat_s, idx_s = self.address(src, si + j, mask, e.loc, "read")
            if src.scope == "shared":
                self.check_race(_Access(src, e.loc), idx_s, mask, False)
            vals = flat_s[idx_s]
            flat_d, idx_d = self.address(dst, di + j, mask, e.loc, "write")
            if dst.scope == "shared":
                self.check_race(_Access(dst, e.loc), idx_d, mask, True)
                if self.in_flight or self.released:
                    self.check_not_in_flight(dst.name, idx_d[mask], e.loc, "a copy overwrites", mask)
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
        return dtypes.from_storage(self.mem[buf.name][flat], buf.dtype)


def _warpgroups(mask) -> list:
    """Global indices (thread // 128) of the warpgroups with an active thread."""
    return np.unique(np.flatnonzero(mask) // 128).tolist()
