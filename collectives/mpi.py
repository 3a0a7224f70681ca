"""A mesh bound to MPI processes: under ``mpiexec -n N`` each rank is one device coordinate.

numpy buffers go through mpi4py's buffer-protocol (zero-copy) calls on per-axis sub-communicators.
"""

from __future__ import annotations

import sys

import numpy as np

import axe
import backends

from . import semantics
from .base import MeshRank
from .errors import CollectiveError
from .groups import group_of
from .watchdog import WATCH as _WATCH  # its slot holds (rank, (what, axes)) during each blocking MPI call
from .watchdog import as_seconds, collective_timeout
from .watchdog import start as start_watchdog

_ndarray = np.ndarray


def _mpi():
    try:
        from mpi4py import MPI  # optional dependency: mpi4py (the [mpi] extra)
    except ImportError:  # pragma: no cover - mpi4py is a dependency of the mpi extra
        raise CollectiveError("the MPI mesh needs mpi4py (pip install 'axe-dsl[mpi]')") from None
    return MPI


def _node_local(MPI, comm) -> tuple:
    """``(rank, size)`` of this process among the ranks of ``comm`` on its node (shared-memory split)."""
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return local.Get_rank(), local.Get_size()
    finally:
        local.Free()


class ProcessMesh(MeshRank):
    """This process's rank of ``mesh`` over ``comm`` (default ``MPI.COMM_WORLD``); sizes must match.

    Run with ``mpiexec -n <mesh.size> python script.py``. ``timeout``: seconds a blocking collective may wait
    before the watchdog aborts the job (None: ``collectives.collective_timeout()``, i.e.
    ``AXE_COLLECTIVE_TIMEOUT`` or 300; 0: no limit).
    """

    def __init__(self, mesh: axe.Mesh, comm=None, debug: bool | None = None, abort_on_error: bool = True,
                 timeout: float | None = None, device: int | None = None):
        MPI = _mpi()
        comm = MPI.COMM_WORLD if comm is None else comm
        if comm.Get_size() != mesh.size:
            raise CollectiveError(f"{mesh!r} has {mesh.size} devices but the job has {comm.Get_size()} ranks; "
                                  f"run with mpiexec -n {mesh.size}")
        super().__init__(mesh, comm.Get_rank(), debug)
        self.comm = comm
        self._subs: dict = {}
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}
        self.timeout = None if timeout is None else as_seconds(timeout, "ProcessMesh(timeout=)")
        collective_timeout()  # a bad AXE_COLLECTIVE_TIMEOUT fails here, not in the watchdog
        if abort_on_error:
            install_abort_hook(comm)
        start_watchdog(self)
        self.local_rank, self.local_size = _node_local(MPI, comm)
        for note in backends.bind_local_rank(self.local_rank, self.local_size, device):
            if self.local_rank == 0:       # once per node
                print(f"[axe] {note}", file=sys.stderr, flush=True)

    def sub_comm(self, axes: tuple[str, ...]):
        """The communicator of this rank's group along ``axes`` (cached; rank = group index)."""
        sub = self._subs.get(axes)
        if sub is None:
            color, index, size = group_of(self.mesh, self.rank, axes)
            if size == self.comm.Get_size() and index == self.comm.Get_rank():
                sub = self._subs[axes] = self.comm  # the group is the whole job, in order: no new communicator
            else:  # collective over the whole mesh
                what = f"creating the communicator for axes {axes} (MPI_Comm_split)"
                _WATCH.slot = (self, (what, self.mesh.axis_names))
                try:
                    sub = self._subs[axes] = self.comm.Split(color, index)
                finally:
                    _WATCH.slot = None
        return sub

    def _gather_objects(self, axes, obj, what: str = "debug check") -> list:
        comm = self.sub_comm(axes)
        _WATCH.slot = (self, (what, axes))
        try:
            return comm.allgather(obj)
        finally:
            _WATCH.slot = None

    # ---- fast paths. The common case (dim 0, C-contiguous numpy buffers of one dtype, out= of the result's
    # shape, debug off) goes straight to the mpi4py call cached for (collective, axes). Right after a large
    # collective the interpreter runs with cold caches: each numpy attribute read before the call costs ~1 us
    # there (not the ~0.05 us a warm loop shows), so the fast paths read as few as correctness allows and
    # leave to mpi4py what it checks itself before sending anything: it refuses a buffer that is not
    # contiguous (for a 1-D buffer that is C-contiguity) or not writable (BufferError), and Allreduce /
    # Reduce_scatter_block refuse two different datatypes (ValueError). Such calls go the general way.
    @property
    def debug(self) -> bool:
        return self._debug

    @debug.setter
    def debug(self, on: bool) -> None:
        self._debug = bool(on)  # the signature check runs on the general path only: forget the fast entries
        self._fast_ar: dict = {}
        self._fast_ag: dict = {}
        self._fast_rs: dict = {}
        self._fast_a2a: dict = {}

    def _remember(self, table: dict, axes, method: str, kind: str) -> None:
        """Cache ``(comm.<method>, group size, what the watchdog names)`` for ``axes`` after a general-path
        call over them succeeded."""
        if not self._debug:
            names = self._axes(axes)[0]
            comm = self.sub_comm(names)
            try:
                table[axes] = (getattr(comm, method), comm.Get_size(), (kind, names))
            except TypeError:  # unhashable axes (a list): those calls keep to the general path
                pass

    def all_reduce(self, x, axes=None, op="sum", out=None):
        try:
            call, _, what = self._fast_ar[axes]
            mpi_op = self._ops[op]
        except (KeyError, TypeError):
            pass
        else:
            if type(x) is _ndarray and type(out) is _ndarray:
                s = x.shape  # not 0-d: the general path gives those shape (1,), as before
                if s and s == out.shape and (len(s) == 1 or x.flags.c_contiguous and out.flags.c_contiguous):
                    _WATCH.slot = (self, what)
                    try:
                        call(x, out, mpi_op)
                        return out
                    except (BufferError, ValueError):  # refused by mpi4py (see above): nothing was sent
                        pass
                    finally:
                        _WATCH.slot = None
        res = super().all_reduce(x, axes, op=op, out=out)
        self._remember(self._fast_ar, axes, "Allreduce", "all_reduce")
        return res

    def all_gather(self, x, axes=None, dim=0, out=None):
        try:
            call, n, what = self._fast_ag[axes]
        except (KeyError, TypeError):
            pass
        else:
            if type(x) is _ndarray and type(out) is _ndarray and not dim:
                s = x.shape
                if s and out.shape == (n * s[0],) + s[1:] and (x.dtype is out.dtype or x.dtype == out.dtype) \
                        and (len(s) == 1 or x.flags.c_contiguous and out.flags.c_contiguous):
                    _WATCH.slot = (self, what)
                    try:
                        call(x, out)
                        return out
                    except BufferError:
                        pass
                    finally:
                        _WATCH.slot = None
        res = super().all_gather(x, axes, dim=dim, out=out)
        self._remember(self._fast_ag, axes, "Allgather", "all_gather")
        return res

    def reduce_scatter(self, x, axes=None, op="sum", dim=0, out=None):
        try:
            call, n, what = self._fast_rs[axes]
            mpi_op = self._ops[op]
        except (KeyError, TypeError):
            pass
        else:
            if type(x) is _ndarray and type(out) is _ndarray and not dim:
                s = x.shape
                if s and not s[0] % n and out.shape == (s[0] // n,) + s[1:] \
                        and (len(s) == 1 or x.flags.c_contiguous and out.flags.c_contiguous):
                    _WATCH.slot = (self, what)
                    try:
                        call(x, out, mpi_op)
                        return out
                    except (BufferError, ValueError):
                        pass
                    finally:
                        _WATCH.slot = None
        res = super().reduce_scatter(x, axes, op=op, dim=dim, out=out)
        self._remember(self._fast_rs, axes, "Reduce_scatter_block", "reduce_scatter")
        return res

    def all_to_all(self, x, axes=None, split_dim=0, concat_dim=0, out=None):
        try:
            call, n, what = self._fast_a2a[axes]
        except (KeyError, TypeError):
            pass
        else:
            if type(x) is _ndarray and type(out) is _ndarray and not (split_dim or concat_dim):
                s = x.shape
                if s and not s[0] % n and s == out.shape and (x.dtype is out.dtype or x.dtype == out.dtype) \
                        and (len(s) == 1 or x.flags.c_contiguous and out.flags.c_contiguous):
                    _WATCH.slot = (self, what)
                    try:
                        call(x, out)
                        return out
                    except BufferError:
                        pass
                    finally:
                        _WATCH.slot = None
        res = super().all_to_all(x, axes, split_dim=split_dim, concat_dim=concat_dim, out=out)
        self._remember(self._fast_a2a, axes, "Alltoall", "all_to_all")
        return res

    def _exchange(self, axes, kind, buf, out=None, **params):
        comm = self.sub_comm(axes)
        _WATCH.slot = (self, (kind, axes))
        try:
            return self._run(comm, kind, buf, out, params)
        finally:
            _WATCH.slot = None

    def _run(self, comm, kind, buf, out, params):
        n = comm.Get_size()
        if kind == "all_reduce":
            res = _target(out, buf.shape, buf.dtype)
            comm.Allreduce(buf, res, op=self._ops[params["op"]])
            return res
        if kind == "all_gather":
            if params["dim"] == 0 and buf.ndim:
                res = _target(out, (n * buf.shape[0],) + buf.shape[1:], buf.dtype)
                comm.Allgather(buf, res)
                return res
            recv = np.empty((n,) + buf.shape, buf.dtype)
            comm.Allgather(buf, recv)
            return np.concatenate(list(recv), axis=params["dim"])
        if kind == "reduce_scatter":
            send = _chunks(buf, n, params["dim"], "reduce_scatter")
            res = _target(out, send.shape[1:], buf.dtype)
            comm.Reduce_scatter_block(send, res, op=self._ops[params["op"]])
            return res
        if kind == "all_to_all":
            send = _chunks(buf, n, params["split_dim"], "all_to_all")
            if params["concat_dim"] == 0:
                res = _target(out, (n * send.shape[1],) + send.shape[2:], buf.dtype)
                comm.Alltoall(send, res)
                return res
            recv = np.empty_like(send)
            comm.Alltoall(send, recv)
            return np.concatenate(list(recv), axis=params["concat_dim"])
        if kind == "broadcast":
            out = buf.copy()
            comm.Bcast(out, root=params["root"])
            return out
        if kind == "permute":
            out = np.zeros_like(buf)
            me = comm.Get_rank()
            reqs = [comm.Isend(buf, dest=dst, tag=77) for src, dst in params["pairs"] if src == me]
            reqs += [comm.Irecv(out, source=src, tag=77) for src, dst in params["pairs"] if dst == me]
            _mpi().Request.Waitall(reqs)
            return out
        raise CollectiveError(f"unknown collective {kind!r}")  # pragma: no cover


def _target(out, shape, dtype) -> np.ndarray:
    """``out`` when it fits (results are written in place), else a new array. Equal dtypes with different
    type codes (int64 'l' and longlong 'q') are two MPI datatypes to mpi4py: those get a new array too."""
    if out is not None and isinstance(out, np.ndarray) and out.shape == shape and out.dtype == dtype \
            and out.dtype.char == dtype.char and out.flags.c_contiguous:
        return out
    return np.empty(shape, dtype)


def _chunks(buf: np.ndarray, n: int, dim: int, what: str) -> np.ndarray:
    """``buf`` split into ``n`` chunks along ``dim``, stacked contiguously (no copy when dim is 0)."""
    semantics.check_split(buf, n, dim, what)
    if dim % buf.ndim == 0:
        return buf.reshape((n, buf.shape[0] // n) + buf.shape[1:])
    return np.ascontiguousarray(np.stack(np.split(buf, n, axis=dim)))


_HOOKED = False


def install_abort_hook(comm):
    """Make an uncaught exception on any rank print once and abort the whole job (no rank left waiting)."""
    global _HOOKED
    if _HOOKED:
        return
    _HOOKED = True
    previous = sys.excepthook

    def hook(kind, value, tb):
        rank = comm.Get_rank()
        sys.stderr.write(f"[rank {rank}] aborting the job: {kind.__name__}: {value}\n")
        previous(kind, value, tb)
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook
