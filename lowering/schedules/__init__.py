"""The built-in schedules, one module per operator family, and the registry that dispatch reads.

Each schedule is registered with an explicit priority (``registry.schedule(..., priority=N)``), so the
order in which dispatch tries them does not depend on the order these modules are imported in:

| module | family | schedules (priority) |
| --- | --- | --- |
| ``elementwise`` | copy, fill, pointwise | ``*_thread`` (20), ``*_strided`` (10), ``*_partition`` (0) |
| ``exchange`` | copy between register layouts | ``copy_shuffle`` (50), ``copy_via_shared`` (40), |
| | | ``copy_via_dsmem`` (30) |
| ``copy_registers`` | copy registers <-> global in vectors (CUDA) | ``copy_registers_vectorized`` (60) |
| ``copy_stmatrix`` | copy registers -> shared with stmatrix (CUDA sm_90) | ``copy_stmatrix`` (70) |
| ``copy_vectorized`` | copy memory <-> memory in vectors, cp.async (CUDA) | ``copy_vectorized`` (80) |
| ``copy_tma`` | copy global -> swizzled shared tile with TMA (CUDA sm_90) | ``copy_tma`` (90) |
| ``reduce`` | reduce: per thread, shuffles + shared memory | ``reduce_thread`` (10), ``reduce_partition`` (0) |
| ``reduce_cluster`` | reduce across a cluster (DSMEM) | ``reduce_cluster`` (20) |
| ``gemm`` | gemm: per thread, mma.sync per warp / CTA | ``gemm_thread`` (20), ``gemm_mma_warp`` (10), |
| | | ``gemm_mma_cta`` (0) |
| ``gemm_wgmma`` | gemm with wgmma (CUDA sm_90a) | ``gemm_wgmma`` (30) |

``predicates`` holds the predicates several families share.

>>> [s.name for s in schedules_for("gemm", "warp", "cuda")]
['gemm_wgmma', 'gemm_thread', 'gemm_mma_warp', 'gemm_mma_cta']
"""

from . import (  # noqa: F401  (each module registers its schedules)
    copy_registers,
    copy_stmatrix,
    copy_tma,
    copy_vectorized,
    elementwise,
    exchange,
    gemm,
    gemm_wgmma,
    reduce,
    reduce_cluster,
)
from .registry import USER_PRIORITY, Schedule, dispatch, explain, schedule, schedules_for

__all__ = ["USER_PRIORITY", "Schedule", "dispatch", "explain", "schedule", "schedules_for"]
