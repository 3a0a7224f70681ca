"""Mesh, shard and to_spec: placements, local blocks, errors."""

from __future__ import annotations

import itertools
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axe


def placements(layout, mesh, shape):
    """rank -> {global coordinate: local offset} by brute force over the layout."""
    out: dict = {r: {} for r in range(mesh.size)}
    for coord in itertools.product(*[range(s) for s in shape]):
        for c in layout.apply(*coord, shape=shape):
            out[mesh.device_of(c)][coord] = c["m"]
    return out


@st.composite
def mesh_shape_spec(draw):
    sizes = draw(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=1, max_size=3))
    names = ["a", "b", "c"][: len(sizes)]
    mesh = axe.Mesh(**dict(zip(names, sizes)))
    rank = draw(st.integers(1, 3))
    free = list(names)
    spec, shape = [], []
    for _ in range(rank):
        k = draw(st.integers(0, min(2, len(free))))
        chosen = draw(st.permutations(free))[:k]
        for n in chosen:
            free.remove(n)
        parts = 1
        for n in chosen:
            parts *= mesh.sizes[n]
        shape.append(parts * draw(st.integers(1, 3)))
        spec.append(None if not chosen else chosen[0] if k == 1 else tuple(chosen))
    return mesh, tuple(shape), tuple(spec)


@settings(max_examples=80, deadline=None)
@given(mesh_shape_spec())
def test_shard_places_compact_blocks(args):
    mesh, shape, spec = args
    L = axe.shard(shape, mesh, spec)
    got = placements(L, mesh, shape)
    for r in range(mesh.size):
        coords = mesh.coords(r)
        block = []
        for d, n in enumerate(shape):
            entry = spec[d]
            names = () if entry is None else (entry,) if isinstance(entry, str) else entry
            parts, idx = 1, 0
            for a in names:
                parts *= mesh.sizes[a]
                idx = idx * mesh.sizes[a] + coords[a]
            size = n // parts
            block.append(range(idx * size, (idx + 1) * size))
        want = set(itertools.product(*block))
        assert set(got[r]) == want
        local_shape = [len(b) for b in block]
        for coord, off in got[r].items():
            flat = 0
            for u, b, s in zip(coord, block, local_shape):
                flat = flat * s + (u - b.start)
            assert off == flat
    assert axe.to_spec(L, mesh, shape) == spec or axe.shard(shape, mesh, axe.to_spec(L, mesh, shape)) == L


def test_mesh_api():
    mesh = axe.Mesh(dp=2, tp=4)
    assert mesh.axis_names == ("dp", "tp") and mesh.shape == (2, 4) and mesh.size == 8
    assert all(mesh.rank(**mesh.coords(r)) == r for r in range(8))
    assert mesh.axis_stride("tp") == 1 and mesh.axis_stride("dp") == 4
    assert eval(repr(mesh), {"Mesh": axe.Mesh}) == mesh and hash(mesh) == hash(axe.Mesh(dp=2, tp=4))
    assert pickle.loads(pickle.dumps(mesh)) == mesh
    assert axe.Axis.get("tp").kind == "device"
    L = axe.shard((8, 16), mesh, ("dp", "tp"))
    G = mesh.to_gpuid(L)
    for x in range(L.size):
        assert {mesh.device_of(c) for c in L.apply(x)} == {c["gpuid"] for c in G.apply(x)}


@pytest.mark.parametrize("bad", [
    lambda: axe.Mesh(),
    lambda: axe.Mesh(tp=0),
    lambda: axe.Mesh(lane=2),
    lambda: axe.Mesh(gpuid=2),
    lambda: axe.Mesh(tp=2).coords(2),
    lambda: axe.Mesh(tp=2).rank(tp=5),
    lambda: axe.Mesh(tp=2).rank(),
    lambda: axe.shard((6,), axe.Mesh(tp=4), ("tp",)),
    lambda: axe.shard((8,), axe.Mesh(tp=4), ("dp_missing",)),
    lambda: axe.shard((8, 8), axe.Mesh(tp=4), ("tp", "tp")),
    lambda: axe.to_spec(axe.Layout.parse("S[(4,2):(1@tp,3)]"), axe.Mesh(tp=4)),
])
def test_mesh_errors(bad):
    with pytest.raises(axe.AxeError):
        bad()


@pytest.mark.parametrize("bad,culprit", [
    (lambda: axe.Mesh(tp=0), "'tp'"),
    (lambda: axe.Mesh(dp=2, tp=2).rank(dp=1, tp=1, pp=0), "'pp'"),
    (lambda: axe.Mesh(dp=2, tp=2).rank(dp=1), "'tp'"),
    (lambda: axe.Mesh(dp=2, tp=2).rank(dp=1, tp=2), "tp=2"),
    (lambda: axe.Mesh(dp=2, tp=2).axis_stride("pp"), "'pp'"),
    (lambda: axe.shard((8,), axe.Mesh(tp=4), "tp"), "'tp'"),
    (lambda: axe.shard((8,), axe.Mesh(tp=4), (3,)), "dim 0"),
    (lambda: axe.shard((8,), axe.Mesh(tp=4), ("tp", None)), "2 entries"),
    (lambda: axe.shard((8, 8), axe.Mesh(tp=4), (None, "pp")), "dim 1 names 'pp'"),
    (lambda: axe.shard(8, axe.Mesh(tp=4), ("tp",)), "shape"),
    (lambda: axe.shard((8, 0), axe.Mesh(tp=4), ()), "dim 1"),
    (lambda: axe.Mesh(dp=2, tp=2).device_of({"tp": 2}), "tp=2"),
    (lambda: axe.Mesh(dp=2, tp=2).device_of({"gpuid": 4}), "outside"),
    (lambda: axe.Mesh(other_ax=3) and axe.Mesh(dp=2, tp=2).device_of({"other_ax": 1}), "'other_ax'"),
    (lambda: axe.to_spec("S[(2,4):(1@dp,1)] + R[2:2@tp]", axe.Mesh(dp=2, tp=2)), "not representable"),
    (lambda: axe.to_spec(5, axe.Mesh(dp=2)), "int"),
])
def test_errors_name_the_culprit(bad, culprit):
    with pytest.raises(axe.AxeError, match=re.escape(culprit)):
        bad()


def test_device_of_agrees_with_gpuid_and_mixed_coords():
    mesh = axe.Mesh(a=3, b=2, c=2)
    for r in range(mesh.size):
        co = mesh.coords(r)
        assert mesh.device_of(co) == r == mesh.device_of({"gpuid": r}) == mesh.device_of({**co, "m": 7, "lane": 3})
        assert mesh.device_of({"a": co["a"], "gpuid": co["b"] * 2 + co["c"]}) == r


def test_uneven_message_names_dim_and_axis():
    with pytest.raises(axe.AxeError, match="dim 0 of size 6.*'tp'.*multiple of 4"):
        axe.shard((6,), axe.Mesh(tp=4), ("tp",))
    with pytest.raises(axe.AxeError, match=r"dim 1 of size 6 .*\('dp', 'tp'\) \(8 parts\).*only \['dp'\] divide 6"):
        axe.shard((8, 6), axe.Mesh(dp=2, tp=4), (None, ("dp", "tp")))


@settings(max_examples=120, deadline=None)
@given(mesh_shape_spec(), st.randoms(use_true_random=False))
def test_to_spec_is_sound_on_perturbed_layouts(args, rnd):
    """On any layout (here: a sharding with its iters shuffled), to_spec either refuses or is exact."""
    mesh, shape, spec = args
    L = axe.shard(shape, mesh, spec)
    iters = list(L.shard)
    rnd.shuffle(iters)
    M = axe.Layout(iters, list(L.replica))
    try:
        back = axe.to_spec(M, mesh, shape)
    except axe.AxeError:
        return
    assert axe.shard(shape, mesh, back) == M


def test_to_spec_shape_matters():
    mesh = axe.Mesh(x=2)
    L = axe.Layout.parse("S[(32,2,128):(128,1@x,1)]")
    assert axe.to_spec(L, mesh) == (None, "x")  # read as a (32, 256) tensor
    with pytest.raises(axe.AxeError, match="closest spec"):
        axe.to_spec(L, mesh, (64, 128))
