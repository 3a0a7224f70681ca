"""The worked examples of the paper (notes §1.3, §2) as unit tests."""

import axe
from axe import R, S, lane, reg, warp

TC = "S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp"


def test_tensor_core_tile_closed_form():
    L = axe.Layout.parse(TC)
    for i in range(8):
        for j in range(16):
            want = {frozenset({("lane", 4 * i + (j // 2) % 4), ("warp", j // 8 + 5 + 4 * r), ("reg", j % 2)})
                    for r in (0, 1)}
            got = {frozenset((k, v) for k, v in c.items() if v) for c in L.apply(i, j, shape=(8, 16))}
            want = {frozenset((k, v) for k, v in w if v) for w in want}
            assert got == want


def test_builders_match_text():
    built = S[(8, 2, 4, 2):(4 @ lane, 1 @ warp, 1 @ lane, 1 @ reg)] + R[2:(4 @ warp)] + 5 @ warp
    assert built.same_as(axe.Layout.parse(TC))
    assert str(built) == TC


def test_mesh_s0s1_and_s0r():
    s0s1 = axe.Layout.parse("S[(2,32,2,64):(1@gpuid,128,2@gpuid,1)]")
    gpu = {c: next(iter(s0s1.apply(*c, shape=(64, 128))))["gpuid"] for c in [(0, 0), (32, 0), (0, 64), (63, 127)]}
    assert gpu == {(0, 0): 0, (32, 0): 1, (0, 64): 2, (63, 127): 3}
    s0r = axe.Layout.parse("S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]")
    assert {c["gpuid"] for c in s0r.apply(3, 7, shape=(64, 128))} == {0, 2}
    assert {c["gpuid"] for c in s0r.apply(40, 7, shape=(64, 128))} == {1, 3}


def test_trainium_sbuf():
    L = axe.Layout.parse("S[(2,128,512):(512@F,1@P,1@F)]")
    assert L.apply(130, 7, shape=(256, 512)) == {axe.Coord(P=2, F=519)}


def test_teaching_example_gpuid_xy():
    axe.register_axis("gpuid_x", "device")
    axe.register_axis("gpuid_y", "device")
    L = axe.Layout.parse("S[(2,4,8):(1@gpuid_y,8,1)] + R[2:1@gpuid_x]")
    assert L.apply(1, 2, 3, shape=(2, 4, 8)) == {axe.Coord(gpuid_y=1, m=19, gpuid_x=0),
                                                 axe.Coord(gpuid_y=1, m=19, gpuid_x=1)}
    L2 = axe.Layout.parse("S[(2,4,8):(1@gpuid_y,8,1)] + 1@gpuid_x")
    assert L2.apply(1, 2, 3, shape=(2, 4, 8)) == {axe.Coord(gpuid_y=1, m=19, gpuid_x=1)}


def test_tile_slice_direct_sum_examples():
    A, B = axe.Layout.parse("S[(2,3):(3,1)]"), axe.Layout.parse("S[(8,8):(8,1)]")
    T = axe.tile(A, B, (2, 3), (8, 8))
    assert T.same_as(axe.Layout.parse("S[(2,8,3,8):(192,8,64,1)]"))
    assert axe.tile_of(T, B, (16, 24), (8, 8)).same_as(A)
    assert T.slice((16, 24), [(0, 8), (8, 24)]).same_as(axe.Layout.parse("S[(8,2,8):(8,64,1)] + 64"))
    one_wrap = axe.Layout.parse("S[(3,8):(64,1)]").slice((24,), [(4, 12)])
    assert one_wrap.same_as(axe.Layout.parse("S[(2,4):(60,1)] + 4"))
    ds = axe.direct_sum(axe.Layout.parse("S[(2,2):(8,2)]"), axe.Layout.parse("S[(2,2):(4,1)]"), (2, 2), (2, 2))
    assert ds == axe.Layout.parse("S[16:1]")
    assert axe.tile_of(axe.Layout.parse("S[16:1]"), axe.Layout.parse("S[(2,2):(4,1)]"), (4, 4), (2, 2)) is None


def test_cute_and_triton_views_of_motivating_example():
    # Region [16:32, 64:128] of a (32,128) f32 tensor, 128 threads, [1,8] strip per thread.
    cute = axe.Layout.parse("S[(16,8,2,4):(128,8,4,1)] + 2112")
    triton = axe.Layout.parse("S[(16,8,8):(8@tx,1@tx,1@reg)]")
    C = axe.Layout.parse("S[32,128]")
    region = C.slice((32, 128), [(16, 32), (64, 128)])
    assert region == axe.Layout.parse("S[(16,64):(128,1)] + 2112")
    for i in range(16):
        for j in range(64):
            (addr,) = region.apply(i, j, shape=(16, 64))
            (c,) = cute.apply(i, j // 8, (j % 8) // 4, j % 4, shape=(16, 8, 2, 4))
            assert addr == c
            (t,) = triton.apply(i, j, shape=(16, 64))
            assert t["tx"] == 8 * i + j // 8 and t["reg"] == j % 8
