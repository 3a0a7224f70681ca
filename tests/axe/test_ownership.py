"""partition / owned_by / injectivity / image against brute force over the set-valued map."""

from __future__ import annotations

import itertools

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axe

from .reference import layouts

SET = settings(max_examples=150, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
OWNER_AXES = ("lane", "warp")


def brute_owned(L, owner_axes):
    """owner coordinate tuple -> set of (x, storage base coordinate as frozenset)."""
    out: dict = {}
    for x in range(L.size):
        for c in L.apply(x):
            key = tuple(c[a] for a in owner_axes)
            rest = frozenset((k, v) for k, v in c.items() if k not in owner_axes and v != 0)
            out.setdefault(key, set()).add((x, rest))
    return out


@SET
@given(layouts(axes=["m", "lane", "warp", "reg"]), st.sampled_from([("lane",), ("lane", "warp")]))
def test_partition_matches_brute_force(L, axes):
    try:
        p = L.partition(axes)
    except axe.AxeError as e:
        assert "not invertible" in str(e)
        return
    truth = brute_owned(L, axes)
    lo_hi = p.owner_extents
    ranges = [range(lo_hi[a][0] - 2, lo_hi[a][1] + 2) for a in axes]
    for owner in itertools.product(*ranges):
        coords = dict(zip(axes, owner))
        if not p.owns(**coords):
            assert owner not in truth
            continue
        got = set()
        for k in range(p.num_local):
            x = p.logical_index(k, **coords)
            for c in p.local.apply(k):
                got.add((x, frozenset((a, v) for a, v in c.items() if v != 0)))
        assert got == truth[owner], (coords, p)
    for owner in truth:
        assert p.owns(**dict(zip(axes, owner)))


def test_partition_tensor_core_tile():
    L = axe.Layout.parse("S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp")
    p = L.partition(("lane", "warp"))
    assert str(p.local) == "S[2:1@reg]"
    assert p.owner_extents == {"lane": (0, 32), "warp": (5, 11)}
    for lane in range(32):
        for warp in range(5, 11):
            owns = (warp - 5) % 4 < 2
            assert p.owns(lane=lane, warp=warp) == owns
            if owns:
                i, j = lane // 4, 8 * ((warp - 5) % 4) + 2 * (lane % 4)
                assert [p.logical_index(k, lane=lane, warp=warp) for k in (0, 1)] == [16 * i + j, 16 * i + j + 1]


def test_partition_symbolic_owner_gives_expressions():
    L = axe.Layout.parse("S[(8,4,2):(4@lane,1@lane,1@reg)]")
    p = L.partition("lane")
    lane = sympy.Symbol("lane", integer=True, nonnegative=True)
    x = p.logical_index(1, lane=lane)
    for v in range(32):
        assert int(x.subs(lane, v)) == p.logical_index(1, lane=v)
    cond = p.owns(lane=lane)
    assert bool(cond.subs(lane, 3)) and not bool(cond.subs(lane, 32))


def test_partition_not_invertible_names_axis():
    with pytest.raises(axe.AxeError, match="'lane'"):
        axe.Layout.parse("S[(4,4):(3@lane,2@lane)]").partition("lane")


@SET
@given(layouts(axes=["m", "lane", "reg"]), st.integers(0, 12))
def test_owned_by_matches_brute_force(L, lane):
    got = L.owned_by(lane=lane)
    truth = brute_owned(L, ("lane",)).get((lane,), set())
    assert set(got) == {x for x, _ in truth}
    for x, c in got.items():
        assert (x, frozenset((k, v) for k, v in c.items() if v != 0)) in truth


@SET
@given(layouts())
def test_injective_and_image_match_brute_force(L):
    pts = [c for x in range(L.size) for c in L.apply(x)]
    n = L.size * L.replica_size
    assert L.is_injective() == (len(set(pts)) == n)
    assert L.image("lane") == {c["lane"] for c in pts}
    assert L.image() == set(pts)


def test_surjective():
    assert axe.Layout.parse("S[(8,4):(4@lane,1@lane)]").is_surjective_onto({"lane": 32})
    assert not axe.Layout.parse("S[(8,4):(4@lane,2@lane)]").is_surjective_onto({"lane": 32})
    assert axe.Layout.parse("S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]").is_surjective_onto({"gpuid": 4})
