"""axe.shard against JAX's NamedSharding.devices_indices_map on fake CPU devices.

JAX runs in a subprocess (XLA_FLAGS must be set before jax is imported, and other test modules may import
jax with a different device count); it writes, for every (mesh, shape, spec), each device's index ranges.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap

import pytest

import axe

pytest.importorskip("jax", reason="jax not installed")
pytestmark = pytest.mark.oracle

MESHES = [dict(x=8), dict(x=2, y=4), dict(x=4, y=2), dict(x=2, y=2, z=2), dict(x=3, y=2), dict(x=1, y=4)]
SHAPES = [(8,), (24,), (8, 16), (16, 8), (12, 6), (6, 4), (8, 4, 8), (4, 6, 2)]

JAX_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    cases = json.load(sys.stdin)
    out = []
    for sizes, shape, spec in cases:
        n = int(np.prod(list(sizes.values())))
        mesh = Mesh(np.array(jax.devices()[:n]).reshape(tuple(sizes.values())), tuple(sizes))
        rank_of = {d.id: r for r, d in enumerate(mesh.devices.flat)}
        jspec = PartitionSpec(*[e if e is None or isinstance(e, str) else tuple(e) for e in spec])
        try:
            m = NamedSharding(mesh, jspec).devices_indices_map(tuple(shape))
        except ValueError as e:  # IndivisibleError: JAX refuses uneven shardings here too
            out.append(type(e).__name__)
            continue
        out.append({rank_of[d.id]: [list(sl.indices(k)[:2]) for sl, k in zip(idx, shape)] for d, idx in m.items()})
    json.dump(out, sys.stdout)
""")


def specs(names, rank):
    """Every spec over ``names`` for a tensor of ``rank`` dims using each mesh axis at most once."""
    opts = [None] + list(names) + [p for k in (2, 3) for p in itertools.permutations(names, k)]
    for spec in itertools.product(opts, repeat=rank):
        used = [a for e in spec if e is not None for a in ((e,) if isinstance(e, str) else e)]
        if len(used) == len(set(used)):
            yield spec


def divides(mesh, shape, spec):
    for n, e in zip(shape, spec):
        parts = 1
        for a in () if e is None else (e,) if isinstance(e, str) else e:
            parts *= mesh.sizes[a]
        if n % parts:
            return False
    return True


@pytest.fixture(scope="module")
def cases_and_jax():
    cases = [(sizes, shape, spec) for sizes in MESHES for shape in SHAPES for spec in specs(tuple(sizes), len(shape))]
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    res = subprocess.run([sys.executable, "-c", JAX_SCRIPT], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return cases, json.loads(res.stdout)


def test_devices_indices_map(cases_and_jax):
    cases, jax_maps = cases_and_jax
    checked = uneven = 0
    for (sizes, shape, spec), jmap in zip(cases, jax_maps):
        mesh = axe.Mesh(**sizes)
        spec = tuple(e if e is None or isinstance(e, str) else tuple(e) for e in spec)
        if not divides(mesh, shape, spec):
            assert isinstance(jmap, str), (sizes, shape, spec, jmap)
            with pytest.raises(axe.AxeError, match="does not divide evenly"):
                axe.shard(shape, mesh, spec)
            uneven += 1
            continue
        assert isinstance(jmap, dict), (sizes, shape, spec, jmap)
        L = axe.shard(shape, mesh, spec)
        want = {int(r): set(itertools.product(*[range(a, b) for a, b in ranges])) for r, ranges in jmap.items()}
        got: dict = {r: set() for r in range(mesh.size)}
        for coord in itertools.product(*[range(n) for n in shape]):
            for c in L.apply(*coord, shape=shape):
                got[mesh.device_of(c)].add(coord)
        assert got == want, (sizes, shape, spec)
        back = axe.to_spec(L, mesh, shape)
        assert axe.shard(shape, mesh, back) == L, (sizes, shape, spec, back)
        if 1 not in mesh.shape:  # with no size-1 mesh axis the spec is recovered exactly
            assert back == tuple(e[0] if isinstance(e, tuple) and len(e) == 1 else e for e in spec), (spec, back)
        checked += 1
    print(f"{checked} even placements equal JAX's, {uneven} uneven specs refused by both")
    assert checked >= 500 and uneven >= 50, (checked, uneven)
