"""Property tests: every operation against a brute-force evaluation of the definition."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import axe

from .reference import brute, layouts, lib, shape_for, vec

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(layouts())
def test_apply_is_the_definition(L):
    assert lib(L) == brute(L)


@FAST
@given(layouts())
def test_apply_base_is_D_plus_O(L):
    bare = axe.Layout(L.shard, (), L.offset)
    for x in range(L.size):
        assert vec(L.apply_base(x)) == next(iter(brute(bare)[x]))


@FAST
@given(layouts(), st.data())
def test_apply_multidim_is_row_major_flattening(L, data):
    shape = shape_for(data.draw, L.size)
    for coord in itertools.product(*[range(s) for s in shape]):
        flat = 0
        for u, s in zip(coord, shape):
            flat = flat * s + u
        assert L.apply(*coord, shape=shape) == L.apply(flat)


@FAST
@given(layouts())
def test_span_closed_form_matches_values(L):
    values: dict = {}
    for pts in brute(L):
        for p in pts:
            d = dict(p)
            for a in L.axes:
                values.setdefault(a, set()).add(d.get(a, 0))
    for a in L.axes:
        uses = any(it.axis.name == a for it in L.shard + L.replica)
        if uses:
            assert L.span(a) == max(values[a]) - min(values[a]) + 1
        else:
            assert L.span(a) == 1
    assert L.span("never_used_axis_xyz") == 1


@FAST
@given(layouts())
def test_canonicalize_same_map_and_idempotent(L):
    C = L.canonicalize()
    assert brute(C) == brute(L)
    assert C.canonicalize().same_as(C)
    assert C == L and hash(C) == hash(L)
    assert all(it.extent != 1 for it in C.shard + C.replica)
    assert all(it.stride > 0 for it in C.replica)
    for a, b in zip(C.shard, C.shard[1:]):
        assert not (a.axis == b.axis and a.stride == b.extent * b.stride)


def _gap_condition(L) -> bool:
    by_axis: dict = {}
    for it in L.canonicalize().replica:
        by_axis.setdefault(it.axis.name, []).append(it)
    for its in by_axis.values():
        its.sort(key=lambda i: i.stride)
        for a, b in zip(its, its[1:]):
            if not b.stride > a.extent * a.stride:
                return False
    return True


@FAST
@given(layouts(negative=False), st.permutations(range(2)), st.data())
def test_canonical_form_unique_for_equal_maps(L, _perm, data):
    # Build a structurally different layout with the same map: split a shard iter, permute
    # replicas, spell a replica with a negative stride; under the gap condition the canonical
    # forms must coincide (Thm A.14).
    shard = list(L.shard)
    i = data.draw(st.integers(0, len(shard) - 1))
    it = shard[i]
    for f in (2, 3):
        if it.extent % f == 0 and it.extent > f:
            shard[i:i + 1] = [axe.Iter(f, it.stride * (it.extent // f), it.axis),
                              axe.Iter(it.extent // f, it.stride, it.axis)]
            break
    off = dict(L.offset)
    rep = []
    for r in reversed(L.replica):
        if data.draw(st.booleans()):
            off[r.axis.name] = off.get(r.axis.name, 0) + (r.extent - 1) * r.stride
            rep.append(axe.Iter(r.extent, -r.stride, r.axis))
        else:
            rep.append(r)
    M = axe.Layout(shard + [axe.Iter(1, 7, "warp")], rep, off)
    assert brute(M) == brute(L)
    assume(_gap_condition(L))
    assert M.canonicalize().same_as(L.canonicalize()) or \
        M.canonicalize()._canonical_key() == L.canonicalize()._canonical_key()
    assert M == L


@FAST
@given(layouts(), st.data())
def test_group_is_a_view(L, data):
    shape = shape_for(data.draw, L.size)
    try:
        G, seps = L.group(shape)
    except axe.AxeError:
        return
    assert brute(G) == brute(L)
    assert len(seps) == len(shape) + 1 and seps[0] == 0 and seps[-1] == len(G.shard)
    for i, s in enumerate(shape):
        prod = 1
        for it in G.shard[seps[i]:seps[i + 1]]:
            prod *= it.extent
        assert prod == s


def test_group_fails_only_when_impossible():
    L = axe.Layout.parse("S[(4,3):(3,1)]")
    with pytest.raises(axe.AxeError, match="does not group"):
        L.group((6, 2))
    with pytest.raises(axe.AxeError, match="size"):
        L.group((5,))


def _interleave(a_shape, b_shape):
    out = []
    for a, b in zip(a_shape, b_shape):
        out += [a, b]
    return tuple(out)


@FAST
@given(layouts(max_shard=3), layouts(max_shard=3, negative=False), st.data())
def test_tile_matches_definition_and_tile_of_recovers(A, B, data):
    rank = data.draw(st.integers(1, 2))
    sa = shape_for(data.draw, A.size, rank)
    sb = shape_for(data.draw, B.size, rank)
    assume(len(sa) == len(sb))
    try:
        T = axe.tile(A, B, sa, sb)
    except axe.AxeError:
        return
    sigma = B.span()
    inter = _interleave(sa, sb)
    for xs in itertools.product(*[range(s) for s in sa]):
        for ys in itertools.product(*[range(s) for s in sb]):
            coord = _interleave(xs, ys)
            want = set()
            for a in A.apply(*xs, shape=sa):
                for b in B.apply(*ys, shape=sb):
                    v = {k: a.get(k, 0) * sigma.get(k, 1) for k in a}
                    for k, x in b.items():
                        v[k] = v.get(k, 0) + x
                    want.add(vec(v))
            assert {vec(c) for c in T.apply(*coord, shape=inter)} == want
    tiled_shape = tuple(a * b for a, b in zip(sa, sb))
    C = axe.tile_of(T, B, tiled_shape, sb)
    if C is not None:
        assert axe.tile(C, B, sa, sb) == T


@FAST
@given(layouts(max_shard=3, offsets=False, max_replica=0), layouts(max_shard=2, negative=False,
                                                                    max_replica=0), st.data())
def test_tile_of_recovers_outer_without_replicas(A, B, data):
    sa = (A.size,)
    sb = (B.size,)
    T = axe.tile(A, B, sa, sb)
    C = axe.tile_of(T, B, (A.size * B.size,), sb)
    assert C is not None
    assert axe.tile(C, B, sa, sb) == T


@FAST
@given(layouts(max_shard=3), st.data())
def test_slice_matches_subregion(L, data):
    shape = shape_for(data.draw, L.size, 2)
    region = []
    for s in shape:
        b = data.draw(st.integers(0, s - 1))
        e = data.draw(st.integers(b + 1, s))
        region.append((b, e))
    Sl = L.slice(shape, region)
    if Sl is None:
        return
    sub = tuple(e - b for b, e in region)
    assert Sl.size == eval("*".join(map(str, sub)) or "1")
    for u in itertools.product(*[range(s) for s in sub]):
        full = tuple(b + x for (b, _), x in zip(region, u))
        assert Sl.apply(*u, shape=sub) == L.apply(*full, shape=shape)


def test_slice_not_representable_is_none():
    L = axe.Layout.parse("S[(4,4):(8,1)]")
    assert L.slice((16,), [(1, 10)]) is None  # {1,2,3, 8..11, 16,17}: no single layout
    assert axe.Layout.parse("S[(4,4):(4,1)]").slice((16,), [(1, 10)]).same_as(axe.Layout.parse("S[9:1] + 1"))
    with pytest.raises(axe.AxeError, match="out of bounds"):
        L.slice((4, 4), [(0, 5), (0, 4)])


@FAST
@given(layouts(max_shard=3), layouts(max_shard=3), st.data())
def test_direct_sum_is_minkowski(A, B, data):
    sa, sb = (A.size,), (B.size,)
    S = axe.direct_sum(A, B, sa, sb)
    for x in range(A.size):
        for y in range(B.size):
            want = {vec({k: a.get(k, 0) + b.get(k, 0) for k in set(a) | set(b)})
                    for a in A.apply(x) for b in B.apply(y)}
            assert {vec(c) for c in S.apply(x, y, shape=(A.size, B.size))} == want


@FAST
@given(layouts())
def test_parse_roundtrip(L):
    text = str(L)
    P = axe.Layout.parse(text)
    assert P.same_as(L) and P == L and str(P) == text
    assert eval(repr(L), {"Layout": axe.Layout}).same_as(L)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="SR[]():,@+-*/%0123456789 lanewarpgmidxn_é\x00", max_size=40))
def test_parse_garbage_raises_only_axe_error(text):
    try:
        axe.Layout.parse(text)
    except axe.AxeError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_parse_random_unicode_raises_only_axe_error(text):
    try:
        axe.Layout.parse(text)
    except axe.AxeError:
        pass
