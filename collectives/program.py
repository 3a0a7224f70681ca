"""Run a split kernel (``ir.Program``) on one rank of a mesh: entry checks, kernel segments on a backend,
host collectives between them, as the layouts imply.

``rank`` is a ``ProcessMesh`` (one MPI process per device) or a simulated rank (``run_simulated``).
On entry every tensor with a device layout must be exactly this rank's shard (shape and dtype); the error
names the rank, its mesh coordinates, the tensor and the expected block. Collectives: a ``copy`` runs
the plan of ``axe.transitions.plan_copy`` (all-gather, slice, all-to-all), or, when the two layouts
only place the same blocks on different devices, one ``permute``; a ``sum`` runs ``plan_sum`` (local sum,
then reduce-scatter or all-reduce).

>>> import numpy as np, axe
>>> from collectives import run_simulated
>>> m = axe.Mesh(x=2)
>>> L = axe.shard((4,), m, ("x",))
>>> list(rank_blocks(L, m, (4,)))
[(slice(0, 2, None),), (slice(2, 4, None),)]
"""

from __future__ import annotations

import functools

import numpy as np

import axe
import backends
from axe.owner_table import base_coords, replica_vectors
from axe.transitions import plan_copy, plan_sum
from backends.cpu.dtypes import storage
from lowering import ir

from .device import DeviceCollectives
from .dtensor import _run
from .errors import CollectiveError


def rank_blocks(layout: axe.Layout, mesh: axe.Mesh, shape) -> tuple:
    """For every rank, the block (tuple of slices) of the global tensor it holds under ``layout``
    (``gpuid`` is the rank, row-major over the mesh; mesh axes are its coordinates). Cached: the entry
    checks ask for it on every call of a kernel."""
    return _rank_blocks(layout, mesh, tuple(int(d) for d in shape))


@functools.lru_cache(maxsize=256)
def _rank_blocks(layout, mesh, shape: tuple) -> tuple:
    names = tuple(a for a in layout.axes if axe.Axis.get(a).kind == axe.DEVICE)
    shape = tuple(shape)
    base = base_coords(layout, names)
    reps = replica_vectors(layout, names)
    idx = np.indices(shape).reshape(len(shape), -1)
    out = []
    for r in range(mesh.size):
        c = mesh.coords(r)
        want = np.array([r if a == "gpuid" else c[a] for a in names], np.int64)
        held = np.zeros(base.shape[0], bool)
        for rep in reps:
            held |= ((base + rep) == want).all(axis=1)
        if not held.any():
            raise CollectiveError(f"rank {r} holds nothing of a {shape} tensor laid out as {layout}")
        lo, hi = idx[:, held].min(axis=1), idx[:, held].max(axis=1) + 1
        if int(np.prod(hi - lo)) != int(held.sum()):
            raise CollectiveError(f"under {layout} rank {r} does not hold a rectangular block of the {shape} tensor")
        out.append(tuple(slice(int(a), int(b)) for a, b in zip(lo, hi)))
    return tuple(out)


def check_entry(rank, name: str, local, layout, shape, dtype) -> None:
    """This rank's array must be its shard of the declared layout (shape and dtype)."""
    block = rank_blocks(layout, rank.mesh, shape)[rank.rank]
    want = tuple(s.stop - s.start for s in block)
    arr = np.asarray(local)
    if arr.shape != want or arr.dtype != np.dtype(dtype):
        rows = ", ".join(f"{s.start}:{s.stop}" for s in block)
        raise CollectiveError(f"rank {rank.rank} {rank.mesh.coords(rank.rank)}: tensor {name!r} should be the shard "
                              f"[{rows}] of the {tuple(shape)} tensor laid out as {layout}, i.e. shape {want} dtype "
                              f"{np.dtype(dtype)}; got shape {arr.shape} dtype {arr.dtype}")


def _copy(rank, local, src, dst, shape):
    steps = None
    try:
        steps = plan_copy(src, dst, shape, rank.mesh)
    except axe.AxeError:
        steps = None
    if steps is not None and (steps or src == dst or rank_blocks(src, rank.mesh, shape) ==
                              rank_blocks(dst, rank.mesh, shape)):
        return _run(rank, local, steps)
    return _permute(rank, local, src, dst, shape)


def _permute(rank, local, src, dst, shape):
    sb, db = rank_blocks(src, rank.mesh, shape), rank_blocks(dst, rank.mesh, shape)
    pairs = []
    for r, want in enumerate(db):
        holders = [q for q, b in enumerate(sb) if b == want]
        if not holders:
            raise CollectiveError(f"moving a {tuple(shape)} tensor from {src} to {dst}: rank {r} needs block {want}, "
                                  f"which no rank holds whole (only copies that are a plan of all-gather/slice/"
                                  f"all-to-all steps or a permutation of blocks are supported)")
        pairs.append((r if r in holders else holders[0], r))
    if all(a == b for a, b in pairs):
        return local
    return rank.permute(local, axes=tuple(rank.mesh.sizes), pairs=tuple(pairs))


def _on_device(x) -> bool:
    return not isinstance(x, np.ndarray) and hasattr(x, "__cuda_array_interface__")


def _host_call(rank, step: ir.HostCall, arrays: dict, device=None):
    a = dict(step.args)
    src, dst = arrays[a["src"]], arrays[a["dst"]]
    if _on_device(src):  # GPU buffers: NCCL, or MPI with host staging
        device = device or DeviceCollectives(rank)
        if step.name == "copy":
            steps = plan_copy(a["src_layout"], a["dst_layout"], a["src_shape"], rank.mesh)
        else:
            steps = plan_sum(a["src_layout"], a["src_shape"], a["dim"], a["dst_layout"], rank.mesh)
        out = device.run_plan(src, steps)
        device.cp.asarray(dst)[...] = out.astype(dst.dtype, copy=False)
        return
    if step.name == "copy":
        out = _copy(rank, np.asarray(src), a["src_layout"], a["dst_layout"], a["src_shape"])
    elif step.name == "reduce":
        out = _run(rank, np.asarray(src), plan_sum(a["src_layout"], a["src_shape"], a["dim"], a["dst_layout"],
                                                   rank.mesh))
    else:
        raise CollectiveError(f"unknown host call {step.name!r}")
    if out.shape != dst.shape:
        raise CollectiveError(f"{step.name} (line {a.get('line')}): result shard {out.shape} does not fit "
                              f"{a['dst']!r} {dst.shape}")
    dst[...] = out.astype(dst.dtype, copy=False)


def _host_view(a):
    """Something with ``shape`` and ``dtype`` for the entry check (device arrays are not copied)."""
    if _on_device(a):
        iface = a.__cuda_array_interface__
        return np.lib.stride_tricks.as_strided(np.zeros(1, np.dtype(iface["typestr"])), tuple(iface["shape"]),
                                               (0,) * len(iface["shape"]))
    return a


def run_program(program: ir.Program, args, rank, backend="cpu", arch: str | None = None) -> None:
    """Run ``program`` with this rank's arrays (in parameter order) on ``backend`` (a registered name or a
    ``backends.Backend``); arrays are updated in place. ``arch``: what the segments were lowered for
    (None: the backend's choice)."""
    be = backends.get(backend)
    params = program.params
    if len(args) != len(params):
        raise CollectiveError(f"the kernel takes {len(params)} arguments, got {len(args)}")
    arrays = {}
    for p, a in zip(params, args):
        if isinstance(p, ir.Buffer) and p.layout is not None and \
                any(axe.Axis.get(x).kind == axe.DEVICE for x in p.layout.axes):
            check_entry(rank, p.name, _host_view(a), p.layout, p.global_shape, storage(p.dtype))
        arrays[p.name] = a
    for step in program.steps:
        if isinstance(step, ir.Launch):
            be.run_part(step.kernel, list(args), arch)
        elif isinstance(step, ir.HostCall):
            _host_call(rank, step, arrays)
        else:
            raise CollectiveError(f"unknown program step {type(step).__name__}")
