"""Collectives on GPU buffers: NCCL when it is available (through CuPy's binding; one communicator per
mesh-axis group, its unique id broadcast over that group's MPI communicator), else MPI with host staging
(device -> host, the numpy collective, host -> device).

``DeviceCollectives(rank)`` wraps a mesh rank; ``run_plan(local, steps)`` runs a plan of
``axe.transitions`` on a device array (a CuPy array, or anything with ``__cuda_array_interface__``,
which CuPy wraps without a copy) and returns a device array.

The collective timeout (``collectives.watchdog``) covers the host-staging path and the creation of NCCL
communicators, not NCCL's own collectives: they are queued on a CUDA stream, and a rank that skips one
leaves the others blocked where they next wait for that stream.

>>> class FakeRank:                                  # no GPU here: host staging of numpy "device" arrays
...     mesh, rank = None, 0
>>> DeviceCollectives(FakeRank(), use_nccl=False).transport
'host-staging'
"""

from __future__ import annotations

import numpy as np

from .dtensor import _run
from .errors import CollectiveError
from .watchdog import WATCH


def _cupy():
    try:
        import cupy  # optional dependency: CuPy (device arrays, NCCL)
    except ImportError:
        return None
    return cupy


class DeviceCollectives:
    """Collectives of one rank on device arrays (NCCL, or MPI with host staging)."""

    def __init__(self, rank, use_nccl: bool | None = None):
        self.rank = rank
        self.cp = _cupy()
        nccl = None
        if use_nccl is not False and self.cp is not None and hasattr(rank, "sub_comm"):
            try:
                from cupy.cuda import nccl  # optional dependency: CuPy's NCCL
            except ImportError:
                nccl = None
        if use_nccl and nccl is None:
            raise CollectiveError("NCCL was asked for but CuPy's NCCL binding is not available")
        self.nccl = nccl
        self.comms: dict = {}
        self.transport = "nccl" if nccl is not None else "host-staging"

    # -- NCCL ----------------------------------------------------------------------------------------------
    def comm(self, axes: tuple):
        """The NCCL communicator of this rank's group along ``axes`` (created once, id sent over MPI)."""
        hit = self.comms.get(axes)
        if hit is None:
            sub = self.rank.sub_comm(axes)
            uid = self.nccl.get_unique_id() if sub.Get_rank() == 0 else None
            WATCH.slot = (self.rank, ("creating the NCCL communicator", axes))  # blocks until the group joins
            try:
                uid = sub.bcast(uid, root=0)
                hit = self.comms[axes] = self.nccl.NcclCommunicator(sub.Get_size(), uid, sub.Get_rank())
            finally:
                WATCH.slot = None
        return hit

    def _dtype(self, a):
        table = {np.dtype(np.float32): self.nccl.NCCL_FLOAT32, np.dtype(np.float64): self.nccl.NCCL_FLOAT64,
                 np.dtype(np.float16): self.nccl.NCCL_FLOAT16, np.dtype(np.int32): self.nccl.NCCL_INT32,
                 np.dtype(np.int64): self.nccl.NCCL_INT64}
        try:
            return table[np.dtype(a.dtype)]
        except KeyError:
            raise CollectiveError(f"NCCL has no collective for dtype {a.dtype}") from None

    def _nccl_step(self, st, x):
        cp = self.cp
        stream = cp.cuda.get_current_stream().ptr
        names = self.rank._axes(st.axes)[0]
        comm = self.comm(names)
        n = comm.size()
        x = cp.ascontiguousarray(x)
        if st.kind == "all_reduce":
            out = cp.empty_like(x)
            comm.allReduce(x.data.ptr, out.data.ptr, x.size, self._dtype(x), self.nccl.NCCL_SUM, stream)
            return out
        if st.kind == "all_gather" and st.dim == 0:
            out = cp.empty((n * x.shape[0],) + x.shape[1:], x.dtype)
            comm.allGather(x.data.ptr, out.data.ptr, x.size, self._dtype(x), stream)
            return out
        if st.kind == "reduce_scatter" and st.dim == 0:
            out = cp.empty((x.shape[0] // n,) + x.shape[1:], x.dtype)
            comm.reduceScatter(x.data.ptr, out.data.ptr, out.size, self._dtype(x), self.nccl.NCCL_SUM, stream)
            return out
        if st.kind == "all_to_all" and st.dim == 0 and st.dim2 == 0:
            out = cp.empty_like(x)
            chunk = x.size // n
            item = x.dtype.itemsize
            self.nccl.groupStart()
            for peer in range(n):
                comm.send(x.data.ptr + peer * chunk * item, chunk, self._dtype(x), peer, stream)
                comm.recv(out.data.ptr + peer * chunk * item, chunk, self._dtype(x), peer, stream)
            self.nccl.groupEnd()
            return out
        return None

    # -- plans -----------------------------------------------------------------------------------------
    def run_plan(self, local, steps):
        """Run the plan's steps on a device array; steps NCCL cannot do directly go through the host."""
        if self.nccl is None:
            return self._staged(local, steps)
        cp = self.cp
        x = cp.asarray(local)
        for st in steps:
            if st.kind == "slice":
                i, n = self.rank.group(st.axes)
                x = cp.ascontiguousarray(cp.split(x, n, axis=st.dim)[i])
            elif st.kind == "local_sum":
                x = x.sum(axis=st.dim)
            else:
                y = self._nccl_step(st, x)
                x = y if y is not None else cp.asarray(self._staged(cp.asnumpy(x), (st,)))
        return x

    def _staged(self, local, steps):
        """MPI with host staging: device -> host, the numpy plan, host -> device (same array type)."""
        cp = self.cp
        on_device = cp is not None and not isinstance(local, np.ndarray)
        host = cp.asnumpy(cp.asarray(local)) if on_device else np.asarray(local)
        out = _run(self.rank, host, steps)
        return cp.asarray(out) if on_device else out
