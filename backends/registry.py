"""The backend registry: one ``Backend`` record per way of running a kernel, looked up by name.

Everything above this layer (``collectives``, ``dsl``, the CLI) asks the registry; no other code tests
backend names. Adding a backend is one package that builds a ``Backend`` and calls ``register``
(see docs/architecture.md, "Adding a backend").

>>> import backends
>>> [b.name for b in backends.all_backends()][:2]
['cpu', 'cuda']
>>> backends.get("cpu").lowering, backends.resolve("cpu").name
('cpu', 'cpu')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lowering.ir.errors import DslError


def _always() -> bool:
    return True


def _no_artifacts(name, final, out_dir, arch, echo) -> list:
    raise DslError("this backend writes no ahead-of-time artifacts")


@dataclass(frozen=True)
class Backend:
    """How one backend compiles and runs kernels.

    - ``name``: what users pass as ``backend=`` (and ``--backend``, ``python -m dsl compile --target``).
    - ``lowering``: the lowering it runs, the schedule target (``"cpu"``: generic thread-level IR;
      ``"cuda"``: CUDA intrinsics too).
    - ``run(kernel, args, *, arch, stream)``: run a thread-level ``ir.Kernel`` on ``args`` (in parameter
      order), updating arrays in place.
    - ``available()``: whether it can run on this machine (``"auto"`` picks the available backend of the
      highest ``auto_priority``).
    - ``default_arch``: the arch it lowers for when none is named and no device is asked (None: the
      lowering has no arch).
    - ``select()``: ``(lowering, arch)`` for a call on this machine (default: ``lowering`` and
      ``default_arch``); the CUDA backend asks the device, the CPU backend honours ``AXE_CPU_LOWERING``.
    - ``run_segment(kernel, args, arch)``: run one kernel segment of a split program (default: ``run``).
    - ``write_artifacts(name, final IR, out_dir, arch, echo) -> [paths]``: ahead-of-time output of
      kernel ``name`` for ``python -m dsl compile``.
    - ``streams``: whether ``run`` takes ``stream=``.
    - ``bind_local_rank(local_rank, local_size, device) -> note or None``: a mesh rank's hook to pick its
      device from its node-local rank, or the ``device`` the user named (the CUDA backend: GPU local_rank mod
      count, unless ``device`` or ``AXE_DEVICE`` chose).
    """

    name: str
    lowering: str
    run: Callable
    available: Callable[[], bool] = _always
    default_arch: str | None = None
    select: Callable[[], tuple] | None = None
    run_segment: Callable | None = None
    write_artifacts: Callable = _no_artifacts
    streams: bool = False
    auto_priority: int = 0
    bind_local_rank: Callable | None = None

    def lowering_and_arch(self) -> tuple:
        """``(lowering, arch)`` a call on this machine uses."""
        return self.select() if self.select is not None else (self.lowering, self.default_arch)

    def run_part(self, kernel, args, arch=None) -> None:
        """Run one kernel segment of a split program."""
        if self.run_segment is not None:
            return self.run_segment(kernel, args, arch)
        return self.run(kernel, args, arch=arch, stream=None)


_BACKENDS: dict = {}


def register(backend: Backend) -> Backend:
    """Add ``backend`` (replacing one of the same name) and return it.

    >>> import backends
    >>> toy = backends.register(backends.Backend("toy_doc", "cpu", backends.get("cpu").run))
    >>> backends.get("toy_doc") is toy
    True
    >>> backends.unregister("toy_doc")
    """
    if backend.name == "auto":
        raise DslError("'auto' names no backend: it picks the best available one")
    _BACKENDS[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    """Remove the backend named ``name`` (if registered)."""
    _BACKENDS.pop(name, None)


def all_backends() -> list:
    """Every registered backend, in registration order."""
    return list(_BACKENDS.values())


def names() -> tuple:
    """The names ``backend=`` accepts: every registered backend and ``"auto"``."""
    return (*_BACKENDS, "auto")


def get(name) -> Backend:
    """The backend named ``name`` (a ``Backend`` is returned as it is); ``DslError`` for an unknown name."""
    if isinstance(name, Backend):
        return name
    b = _BACKENDS.get(name)
    if b is None:
        raise DslError(f"unknown backend {name!r} (have: {', '.join(repr(n) for n in names())})")
    return b


def bind_local_rank(local_rank: int, local_size: int, device: int | None = None) -> list:
    """Let every backend with a device pick it for this node-local rank (``device``: the one the user named,
    e.g. ``ProcessMesh(..., device=)``); the notes they return (say, ranks sharing GPUs) for the caller to
    print once."""
    notes = []
    for b in _BACKENDS.values():
        if b.bind_local_rank is not None:
            note = b.bind_local_rank(local_rank, local_size, device)
            if note:
                notes.append(f"{b.name}: {note}")
    return notes


def resolve(name) -> Backend:
    """``get(name)``, with ``"auto"`` the available backend of the highest ``auto_priority``."""
    if name != "auto":
        return get(name)
    ready = [b for b in _BACKENDS.values() if b.available()]
    if not ready:
        raise DslError("backend 'auto': no registered backend is available on this machine")
    return max(ready, key=lambda b: b.auto_priority)
