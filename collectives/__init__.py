"""Device meshes bound to processes (MPI) or simulated in one process, and host collectives on mesh axes.

>>> import axe, numpy as np
>>> from collectives import run_simulated
>>> run_simulated(axe.Mesh(dp=2, tp=2), lambda r: r.all_gather(np.array([r.rank]), "tp").tolist())
[[0, 1], [0, 1], [2, 3], [2, 3]]
"""

from .base import MeshRank
from .dtensor import check_shard, distributed_sum, local_shard, redistribute
from .errors import CollectiveError, CollectiveMismatch, CollectiveTimeout
from .groups import group_of, members
from .mpi import ProcessMesh, install_abort_hook
from .simulated import SimulatedRank, run_simulated
from .watchdog import collective_timeout, set_collective_timeout

__all__ = [
    "CollectiveError", "CollectiveMismatch", "CollectiveTimeout", "MeshRank", "ProcessMesh", "SimulatedRank",
    "check_shard", "collective_timeout", "distributed_sum", "group_of", "install_abort_hook", "local_shard", "members",
    "redistribute", "run_simulated", "set_collective_timeout",
]
