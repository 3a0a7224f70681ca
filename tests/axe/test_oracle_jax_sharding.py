"""axe.shard against JAX's NamedSharding.devices_indices_map on CPU fake devices."""

from __future__ import annotations

import itertools
import os

import pytest

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
jax = pytest.importorskip("jax", reason="jax not installed")
np = pytest.importorskip("numpy")

import axe  # noqa: E402

pytestmark = pytest.mark.oracle

MESHES = [dict(x=8), dict(x=2, y=4), dict(x=4, y=2), dict(x=2, y=2, z=2)]


def specs(names, rank):
    opts = [None] + list(names) + [p for p in itertools.permutations(names, 2)]
    for spec in itertools.product(opts, repeat=rank):
        used = [a for e in spec if e is not None for a in ((e,) if isinstance(e, str) else e)]
        if len(used) == len(set(used)):
            yield spec


@pytest.mark.parametrize("sizes", MESHES, ids=lambda m: "x".join(f"{k}{v}" for k, v in m.items()))
def test_devices_indices_map(sizes):
    if len(jax.devices()) < 8:
        pytest.skip("needs 8 fake CPU devices (XLA_FLAGS set after jax was imported)")
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    names = tuple(sizes)
    jmesh = Mesh(np.array(jax.devices()[:8]).reshape(tuple(sizes.values())), names)
    rank_of = {d.id: r for r, d in enumerate(jmesh.devices.flat)}
    mesh = axe.Mesh(**sizes)
    checked = 0
    for shape in [(8, 16), (16, 8), (8, 4, 8)]:
        for spec in specs(names, len(shape)):
            try:
                L = axe.shard(shape, mesh, spec)
            except axe.AxeError:
                continue
            jspec = PartitionSpec(*[e if e is None or isinstance(e, str) else tuple(e) for e in spec])
            want = {}
            for dev, idx in NamedSharding(jmesh, jspec).devices_indices_map(shape).items():
                ranges = [range(*sl.indices(n)) for sl, n in zip(idx, shape)]
                want[rank_of[dev.id]] = set(itertools.product(*ranges))
            got = {r: set() for r in range(mesh.size)}
            for coord in itertools.product(*[range(n) for n in shape]):
                for c in L.apply(*coord, shape=shape):
                    got[mesh.device_of(c)].add(coord)
            assert got == want, (shape, spec)
            checked += 1
    assert checked >= 9
