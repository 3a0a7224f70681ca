"""Differential tests against the Axe authors' release (apache-tvm-tirx==0.1.0a4).

TIRx's ``apply`` returns only the base coordinate D(x) + O, so it is compared with ``apply_base``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axe

from .reference import layouts, shape_for, vec

T = pytest.importorskip("tvm_tirx.script", reason="apache-tvm-tirx not installed").tirx

pytestmark = pytest.mark.oracle
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = {"lane": "laneid", "warp": "warpid"}
AXES = ["m", "lane", "warp", "F"]  # axes TIRx 0.1.0a4 classifies (it rejects e.g. "reg")
BACK = {v: k for k, v in NAMES.items()}


def to_tirx(L: axe.Layout):
    def it(i):
        return T.Iter(i.extent, i.stride, NAMES.get(i.axis.name, i.axis.name))

    return T.TileLayout.from_iters(shard=[it(i) for i in L.shard], replica=[it(i) for i in L.replica],
                                   offset={NAMES.get(k, k): v for k, v in L.offset.items()})


def from_tirx(t) -> axe.Layout:
    def it(i):
        return axe.Iter(int(i.extent), int(i.stride), BACK.get(str(i.axis.name), str(i.axis.name)))

    return axe.Layout([it(i) for i in t.shard], [it(i) for i in t.replica],
                      {BACK.get(_name(k), _name(k)): int(v) for k, v in t.offset.items()})


def _name(k) -> str:
    return str(k.name) if hasattr(k, "name") else str(k)


def tirx_point(t, x) -> frozenset:
    return vec({BACK.get(str(k), str(k)): int(v) for k, v in t.apply(x).items()})


@SETTINGS
@given(layouts(axes=AXES))
def test_apply_base_matches_tirx(L):
    t = to_tirx(L)
    for x in range(L.size):
        assert vec(L.apply_base(x)) == tirx_point(t, x)


@SETTINGS
@given(layouts(negative=False, axes=AXES))
def test_canonicalize_matches_tirx_as_a_map(L):
    ours = L.canonicalize()
    theirs = from_tirx(to_tirx(L).canonicalize())
    assert ours == theirs
    for x in range(L.size):
        assert ours.apply(x) == theirs.apply(x)
    if not L.replica:  # TIRx keeps one extent-1 iter for a size-1 layout; D0 drops it
        assert ours.shard == tuple(i for i in theirs.shard if i.extent != 1)


@SETTINGS
@given(layouts(offsets=False, axes=AXES), st.data())
def test_group_matches_tirx(L, data):
    shape = shape_for(data.draw, L.size)
    if any(i.extent == 1 for i in L.shard) or 1 in shape:
        return  # where extent-1 iters and blocks go is a convention the two implementations do not share
    try:
        ours, seps = L.group(shape)
    except axe.AxeError:
        with pytest.raises(Exception):  # noqa: B017 - TIRx raises its own error type
            to_tirx(L).group(list(shape))
        return
    theirs, tseps = to_tirx(L).group(list(shape))
    assert tuple(int(s) for s in tseps) == seps
    assert from_tirx(theirs).shard == ours.shard


@SETTINGS
@given(layouts(max_shard=3, max_replica=0, offsets=False, axes=AXES),
       layouts(max_shard=3, negative=False, max_replica=0, offsets=False, axes=AXES))
def test_tile_matches_tirx(A, B):
    ours = axe.tile(A, B, (A.size,), (B.size,))
    theirs = from_tirx(to_tirx(B).tile(to_tirx(A), [A.size], [B.size]))
    assert ours.same_as(theirs) or ours == theirs
