"""Run a split kernel (``ir.Program``) on one rank of a mesh: entry checks, kernel segments on a backend,
host collectives between them, as the layouts imply.

``rank`` is a ``ProcessMesh`` (one MPI process per device) or a simulated rank (``run_simulated``).
On entry every tensor with a device layout must be exactly this rank's shard (shape and dtype); the error
names the rank, its mesh coordinates, the tensor and the expected block. Collectives: a ``copy`` runs
the plan of ``axe.transitions.plan_copy`` (all-gather, slice, all-to-all), or, when the two layouts
only place the same blocks on different devices, one ``permute``; a ``sum`` runs ``plan_sum`` (local sum,
then reduce-scatter or all-reduce).

Ranks must agree: on the first run of each program on a rank, the ranks that its collectives span exchange
a digest of what must match (the mesh, the distributed parameters' layouts, shapes and dtypes, the segment
names, every host call with its plan of collectives; not source paths or segment bodies, which may
differ by rank), one allgather of a short string. On a mismatch every rank raises ``CollectiveMismatch``
naming the ranks that differ and the first thing they differ on. Later runs of the same program object
cost a dict lookup. ``AXE_CHECK_PROGRAMS=0`` (or ``rank.check_programs = False``) turns the check off.

>>> import numpy as np, axe
>>> from collectives import run_simulated
>>> m = axe.Mesh(x=2)
>>> L = axe.shard((4,), m, ("x",))
>>> list(rank_blocks(L, m, (4,)))
[(slice(0, 2, None),), (slice(2, 4, None),)]
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

import axe
import backends
from axe.owner_table import base_coords, replica_vectors
from axe.transitions import plan_copy, plan_sum
from backends.cpu.dtypes import storage
from lowering import ir

from .device import DeviceCollectives
from .dtensor import _run
from .errors import CollectiveError, CollectiveMismatch
from .groups import group_of, members


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


def _copy_steps(src, dst, shape, mesh):
    """The plan of a device-level copy, or None when it is one ``permute`` of blocks."""
    try:
        steps = plan_copy(src, dst, shape, mesh)
    except axe.AxeError:
        return None
    if steps or src == dst or rank_blocks(src, mesh, shape) == rank_blocks(dst, mesh, shape):
        return steps
    return None


def _copy(rank, local, src, dst, shape):
    steps = _copy_steps(src, dst, shape, rank.mesh)
    if steps is not None:
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


def _distributed(p) -> bool:
    return isinstance(p, ir.Buffer) and p.layout is not None and \
        any(axe.Axis.get(x).kind == axe.DEVICE for x in p.layout.axes)


def _plan_text(step: ir.HostCall, mesh: axe.Mesh) -> str:
    a = dict(step.args)
    try:
        if step.name == "copy":
            steps = _copy_steps(a["src_layout"], a["dst_layout"], a["src_shape"], mesh)
            if steps is None:
                return f"permute{mesh.axis_names}"
        else:
            steps = plan_sum(a["src_layout"], a["src_shape"], a["dim"], a["dst_layout"], mesh)
    except axe.AxeError as e:  # the run fails there with this error; agreeing on it is enough here
        return f"no plan ({(str(e).splitlines() or [''])[0]})"
    return ", ".join(map(str, steps)) or "nothing"


def host_call_text(step: ir.HostCall, mesh: axe.Mesh) -> str:
    """``sum 'partial' over dim 0 into 'y' = local_sum(dim 0), reduce_scatter(g, dim 0) (S[..] -> S[..])``."""
    a = dict(step.args)
    what = f"sum {a['src']!r} over dim {a['dim']} into {a['dst']!r}" if step.name == "reduce" else \
        f"{step.name} {a['src']!r} to {a['dst']!r}"
    return (f"{what} = {_plan_text(step, mesh)} ({a['dtype']} {tuple(a['src_shape'])} {a['src_layout']} -> "
            f"{tuple(a['dst_shape'])} {a['dst_layout']})")


def program_summary(program: ir.Program, mesh: axe.Mesh) -> list[tuple[str, str, str]]:
    """What ranks running ``program`` together must agree on: ``(label, text, where)`` per item (``where``,
    the source line, is shown but not compared)."""
    items = [("the mesh", repr(mesh), "")]
    for p in program.params:
        if _distributed(p):
            items.append((f"parameter {p.name!r}", f"{p.dtype} {tuple(p.global_shape)} laid out as {p.layout}", ""))
    calls = 0
    for i, step in enumerate(program.steps):
        if isinstance(step, ir.HostCall):
            calls += 1
            items.append((f"host call {calls}", host_call_text(step, mesh), f"line {dict(step.args).get('line')}"))
        else:
            items.append((f"step {i + 1}", f"{type(step).__name__} {getattr(step, 'kernel', step).name}", ""))
    return items


def program_axes(program: ir.Program, mesh: axe.Mesh) -> tuple[str, ...]:
    """The mesh axes ``program``'s tensors are laid out over (all of them for ``gpuid``): the ranks its
    collectives can span are the group of these axes."""
    layouts = [p.layout for p in program.params if _distributed(p)]
    for step in program.steps:
        if isinstance(step, ir.HostCall):
            a = dict(step.args)
            layouts += [a.get("src_layout"), a.get("dst_layout")]
    used = {x for lay in layouts if lay is not None for x in lay.axes if axe.Axis.get(x).kind == axe.DEVICE}
    if not used or not used <= set(mesh.axis_names):  # gpuid (the rank in the whole mesh) or unknown axes
        return mesh.axis_names
    return tuple(a for a in mesh.axis_names if a in used)


class _Site:
    """Where a host call comes from (``rank.where`` while it runs), formatted only when a message needs it."""

    __slots__ = ("program", "step")

    def __init__(self, program: ir.Program, step: ir.HostCall):
        self.program, self.step = program, step

    def __str__(self) -> str:
        file = next((s.kernel.file for s in self.program.steps if isinstance(s, ir.Launch) and s.kernel.file), "")
        return f"host call {self.step.name} at {file + ':' if file else 'line '}{dict(self.step.args).get('line')}"


def check_agreement(rank, program: ir.Program) -> None:
    """On this program's first run on ``rank``: the ranks its collectives span exchange a digest of
    ``program_summary``; on a mismatch, their summaries, and every one of them raises ``CollectiveMismatch``
    naming the ranks that differ and the first item they differ on.

    A digest this rank already agreed on is not exchanged again: how many exchanges a rank makes depends on
    what it runs, not on how many program objects its compiler made (threads of a simulated mesh can each
    compile the same kernel once)."""
    mesh = rank.mesh
    items = program_summary(program, mesh)
    digest = hashlib.sha256("\n".join(f"{label}: {text}" for label, text, _ in items).encode()).hexdigest()[:32]
    if digest in rank._agreed:
        rank._verified[id(program)] = (program, digest)
        return
    axes = program_axes(program, mesh)
    color, _, _ = group_of(mesh, rank.rank, axes)
    ranks = members(mesh, color, axes)
    first = next((s for s in program.steps if isinstance(s, ir.HostCall)), None)
    rank.where = f"the check that ranks agree on the kernel of {_Site(program, first)}" if first else None
    try:
        digests = rank._gather_objects(axes, digest, "program check")
        if all(d == digest for d in digests):
            rank._agreed.add(digest)
            rank._verified[id(program)] = (program, digest)
            return
        summaries = rank._gather_objects(axes, items, "program check (summaries)")
    finally:
        rank.where = None
    raise CollectiveMismatch(_mismatch_message(ranks, digests, summaries))


def _mismatch_message(ranks: list, digests: list, summaries: list) -> str:
    groups: dict = {}
    for r, d in zip(ranks, digests):
        groups.setdefault(d, []).append(r)
    major = max(groups, key=lambda d: (len(groups[d]), -min(groups[d])))  # most ranks; ties: lowest rank
    base = {label: (text, where) for label, text, where in summaries[ranks.index(groups[major][0])]}
    parts = []
    for d, rs in groups.items():
        if d == major:
            continue
        mine = {label: (text, where) for label, text, where in summaries[ranks.index(rs[0])]}
        labels = list(mine) + [label for label in base if label not in mine]
        diffs = [label for label in labels if mine.get(label, (None,))[0] != base.get(label, (None,))[0]]
        calls = [label for label in diffs if label.startswith("host call")]
        said = []  # the first host call that differs (what runs), then the first difference if it is another
        for label in calls[:1] + diffs[:1 if not calls or diffs[0] != calls[0] else 0]:
            plan = label.startswith("host call")
            where = mine.get(label, (0, None))[1]
            same = where and where == base.get(label, (0, None))[1]  # the same source line: say it once
            said.append(f"{'first difference: ' if said else ''}{label}{f' ({where})' if same else ''}: "
                        f"{_ranks(rs)} {_verb(plan, rs)} {_show(mine, label, same)} where {_ranks(groups[major])} "
                        f"{_verb(plan, groups[major])} {_show(base, label, same)}")
        parts += said or [f"{_ranks(rs)} and {_ranks(groups[major])} differ"]
    return ("ranks disagree on a kernel (checked on its first run; all must compile it with the same layouts, "
            "shapes and dtypes): " + "; ".join(parts))


def _verb(plan: bool, rs: list) -> str:
    return ("plans" if plan else "has") if len(rs) == 1 else ("plan" if plan else "have")


def _show(items: dict, label: str, quiet: bool) -> str:
    if label not in items:
        return "nothing"
    text, where = items[label]
    return text + (f" at {where}" if where and not quiet else "")


def _ranks(rs: list) -> str:
    return f"rank {rs[0]}" if len(rs) == 1 else "ranks " + ", ".join(map(str, rs))


def run_program(program: ir.Program, args, rank, backend="cpu", arch: str | None = None) -> None:
    """Run ``program`` with this rank's arrays (in parameter order) on ``backend`` (a registered name or a
    ``backends.Backend``); arrays are updated in place. ``arch``: what the segments were lowered for
    (None: the backend's choice)."""
    be = backends.get(backend)
    params = program.params
    if len(args) != len(params):
        raise CollectiveError(f"the kernel takes {len(params)} arguments, got {len(args)}")
    hit = rank._verified.get(id(program))
    if (hit is None or hit[0] is not program) and rank.check_programs:
        check_agreement(rank, program)
    arrays = {}
    for p, a in zip(params, args):
        if _distributed(p):
            check_entry(rank, p.name, _host_view(a), p.layout, p.global_shape, storage(p.dtype))
        arrays[p.name] = a
    for step in program.steps:
        if isinstance(step, ir.Launch):
            be.run_part(step.kernel, list(args), arch)
        elif isinstance(step, ir.HostCall):
            rank.where = _Site(program, step)
            try:
                _host_call(rank, step, arrays)
            finally:
                rank.where = None
        else:
            raise CollectiveError(f"unknown program step {type(step).__name__}")
