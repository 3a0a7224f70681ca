"""Swizzles point by point against pycute's Swizzle, and the shared-memory swizzle family."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axe
from axe.swizzle import Swizzle, SwizzleLayout, smem_swizzle

pycute = pytest.importorskip("pycute")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.integers(0, 4), st.integers(1, 5))
def test_matches_cute(b, m, s):
    if s < b:
        return
    ours, theirs = Swizzle(b, m, s), pycute.Swizzle(b, m, s)
    for x in range(1 << (b + m + s + 1)):
        assert ours(x) == theirs(x)
    assert all(ours(ours(x)) == x for x in range(1 << (b + m + s + 1)))  # an involution


@pytest.mark.parametrize("nbytes,bits", [(32, 16), (64, 16), (128, 16), (128, 8), (128, 32), (64, 32)])
def test_smem_swizzles_permute_each_atom(nbytes, bits):
    sw = smem_swizzle(nbytes, bits)
    atom = 8 * nbytes * 8 // bits  # 8 rows of `nbytes`, in elements
    assert sorted(sw(x) for x in range(atom)) == list(range(atom))
    per16 = 128 // bits
    # 16-byte chunks stay contiguous, and a column of 16-byte chunks spreads over distinct chunks
    for x in range(0, atom, per16):
        assert [sw(x + i) for i in range(per16)] == [sw(x) + i for i in range(per16)]
    row_elems = nbytes * 8 // bits
    chunks = {sw(r * row_elems) // per16 % (row_elems // per16) for r in range(8)}
    assert len(chunks) == min(8, row_elems // per16)


def test_swizzle_layout():
    L = SwizzleLayout(axe.Layout.parse("S[(8,64):(64,1)] + R[2:1@warp]"), smem_swizzle(128, 16))
    for r in range(8):
        for c in range(64):
            got = L.apply(r, c, shape=(8, 64))
            assert {p["m"] for p in got} == {smem_swizzle(128, 16)(64 * r + c)}
            assert {p["warp"] for p in got} == {0, 1}
    assert L == SwizzleLayout(axe.Layout.parse("S[512:1] + R[2:1@warp]"), Swizzle(3, 3, 3)) and hash(L)


@pytest.mark.parametrize("bad", [
    lambda: Swizzle(3, 3, 2), lambda: Swizzle(-1, 0, 3), lambda: Swizzle(1.0, 0, 3), lambda: smem_swizzle(48, 16),
    lambda: smem_swizzle(128, 12), lambda: SwizzleLayout(axe.Layout.parse("S[4:1]"), Swizzle(1, 0, 1), "lane"),
    lambda: SwizzleLayout("S[4:1]", Swizzle(1, 0, 1)), lambda: Swizzle(1, 0, 1)(1.5),
])
def test_errors(bad):
    with pytest.raises(axe.AxeError):
        bad()
