"""Host collectives on the simulated mesh against JAX shard_map on 4 fake CPU devices (the oracle)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import axe
from collectives import run_simulated

pytest.importorskip("jax")
pytestmark = pytest.mark.oracle

JAX_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, numpy as np
    from jax.sharding import Mesh, PartitionSpec as P
    try:
        from jax import shard_map
    except ImportError:
        from jax.experimental.shard_map import shard_map
    mesh = Mesh(np.array(jax.devices()[:4]).reshape(2, 2), ("dp", "tp"))
    x = np.concatenate([np.arange(24, dtype=np.float32).reshape(4, 6) * (r + 1) + r for r in range(4)])
    ops = {
        "all_gather": lambda a: jax.lax.all_gather(a, "tp", axis=1, tiled=True),
        "reduce_scatter": lambda a: jax.lax.psum_scatter(a, "tp", scatter_dimension=0, tiled=True),
        "all_reduce": lambda a: jax.lax.psum(a, ("dp", "tp")),
        "all_to_all": lambda a: jax.lax.all_to_all(a, "tp", 1, 0, tiled=True),
        "max": lambda a: jax.lax.pmax(a, "dp"),
    }
    out = {k: np.asarray(shard_map(f, mesh=mesh, in_specs=P(("dp", "tp")), out_specs=P(("dp", "tp")))(x))
           for k, f in ops.items()}
    np.savez(sys.argv[1], **out)
""")


def block(rank):
    return np.arange(24, dtype=np.float32).reshape(4, 6) * (rank + 1) + rank


def test_against_jax_shard_map(tmp_path):
    path = tmp_path / "jax.npz"
    res = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    want = np.load(path)
    ours = {
        "all_gather": lambda r: r.all_gather(block(r.rank), ("tp",), dim=1),
        "reduce_scatter": lambda r: r.reduce_scatter(block(r.rank), ("tp",), dim=0),
        "all_reduce": lambda r: r.all_reduce(block(r.rank), ("dp", "tp")),
        "all_to_all": lambda r: r.all_to_all(block(r.rank), ("tp",), split_dim=1, concat_dim=0),
        "max": lambda r: r.all_reduce(block(r.rank), ("dp",), "max"),
    }
    for name, fn in ours.items():
        got = np.concatenate(run_simulated(axe.Mesh(dp=2, tp=2), fn))
        np.testing.assert_allclose(got, want[name], err_msg=name)
