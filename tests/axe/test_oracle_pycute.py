"""Differential tests against pycute (nvidia-cutlass==4.2.0.0) on single-axis (m) layouts.

CuTe unflattens colexicographically (first mode fastest) and Axe row-major (last iter fastest), so an
Axe shard ``S[(e0,e1):(s0,s1)]`` is the CuTe layout ``(e1,e0):(s1,s0)``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import axe

from .reference import memory_layouts

pycute = pytest.importorskip("pycute", reason="pycute (nvidia-cutlass==4.2.0.0) not installed")

pytestmark = pytest.mark.oracle


def cute_of(L: axe.Layout):
    shape = tuple(i.extent for i in reversed(L.shard))
    stride = tuple(i.stride for i in reversed(L.shard))
    return pycute.Layout(shape, stride)


@settings(max_examples=100, deadline=None)
@given(memory_layouts())
def test_apply_matches_cute(L):
    c = cute_of(L)
    for x in range(L.size):
        (p,) = L.apply(x)
        assert p["m"] == c(x)


@settings(max_examples=100, deadline=None)
@given(memory_layouts())
def test_canonicalize_is_a_coalesce(L):
    ours = L.canonicalize()
    theirs = pycute.coalesce(cute_of(L))
    assert ours.size == pycute.size(theirs)
    for x in range(L.size):
        (p,) = ours.apply(x)
        assert p["m"] == theirs(x)
    # fully mergeable chains collapse to the same number of modes as CuTe's coalesce
    modes = 1 if pycute.is_int(theirs.shape) else len(theirs.shape)
    if theirs.shape != 1:
        assert len(ours.shard) <= modes
