"""Any shape, every error: bounded apply/draw, text that round-trips, the 64-bit bound, integer values, axis
suggestions, swizzled operator layouts."""

from __future__ import annotations

import time

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axe
from axe import canonical, replicas
from axe.iter import Iter
from axe.owner_table import replica_vectors

from .reference import brute, lib, vec

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
n = axe.symbol("n")


def _quick(fn, seconds=2.0):
    t0 = time.perf_counter()
    out = fn()
    assert time.perf_counter() - t0 < seconds, f"took {time.perf_counter() - t0:.2f}s"
    return out


def _replicated(k, extent="2", stride="1@lane"):
    return axe.Layout.parse(f"S[2:1] + R[({','.join([extent] * k)}):({','.join([stride] * k)})]")


# ---- apply and draw are bounded by the size of the answer ------------------------------------------------
def test_many_collapsing_replicas_list_the_distinct_vectors_only():
    L = _replicated(40)  # 2**40 digit combinations, 41 distinct vectors
    pts = _quick(lambda: L.apply(1))
    assert sorted(c["lane"] for c in pts) == list(range(41)) and all(c["m"] == 1 for c in pts)
    assert _quick(lambda: axe.draw(L, (2,))).count("l0..40") == 0  # drawn in full, quickly


@pytest.mark.parametrize("text", ["S[2:1] + R[1099511627776:1@lane]", "S[2:1] + R[1000000000000:3@lane]",
                                  "S[2:1] + R[(1024,1024,1024):(1@lane,1@warp,1@cta)]",
                                  "S[2:1] + R[(2**20,2**20,2**20):(n@lane,n@lane,n@lane)]"])
def test_too_many_replica_vectors_is_refused_at_once_naming_layout_and_limit(text):
    L = axe.Layout.parse(text)
    with pytest.raises(axe.AxeError, match="distinct replica vectors") as info:
        _quick(lambda: L.apply(0), 0.5)
    assert str(L) in str(info.value) and ("262144" in str(info.value) or "4096" in str(info.value))
    assert _quick(lambda: L.apply_base(1), 0.5)["m"] == 1  # apply_base never lists replicas
    with pytest.raises(axe.AxeError):  # a second call is refused again (the refusal is remembered)
        _quick(lambda: L.apply(1), 0.5)


def test_stride_zero_replica_iters_add_nothing():
    L = axe.Layout._make((Iter(4, 1),), (Iter._make(2**40, 0, axe.lane), Iter(2, 1, "lane")))
    assert sorted(c["lane"] for c in _quick(lambda: L.apply(3))) == [0, 1]


def test_many_replica_iters_on_an_axis_are_refused_or_listed_in_bounded_time():
    odd = axe.Layout.parse("S[2:1] + R[(" + ",".join(["2"] * 3000) + "):("
                           + ",".join(f"{3 + 2 * i}@lane" for i in range(3000)) + ")]")
    with pytest.raises(axe.AxeError, match="replica"):
        _quick(lambda: odd.apply(0), 5)
    same = _replicated(3000, "2", "n@warp")
    assert len(_quick(lambda: same.apply(0), 5)) == 3001


def test_draw_is_bounded_by_the_drawn_shape():
    with pytest.raises(axe.AxeError, match="coordinates"):
        _quick(lambda: axe.draw("S[(256,256):(256,1)] + R[8:1@lane]", (256, 256)), 1)
    with pytest.raises(axe.AxeError, match="coordinates"):
        _quick(lambda: axe.draw("S[2:1] + R[1000000000000:1@lane]", (2,)), 1)
    sw = axe.SwizzleLayout(axe.Layout.parse("S[(8,64):(64,1)] + R[2:1@warp]"), axe.smem_swizzle(128, 16))
    assert "w0|1" in axe.draw(sw, (8, 64))


@st.composite
def _replica_heavy(draw):
    axes = ["lane", "warp", "m"]
    shard = [Iter(draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.sampled_from(axes)))
             for _ in range(draw(st.integers(1, 2)))]
    strides = st.sampled_from([1, 2, 3, 4, 6, -1, -2, -3])
    rep = [Iter(draw(st.integers(1, 4)), draw(strides), draw(st.sampled_from(axes)))
           for _ in range(draw(st.integers(0, 6)))]
    return axe.Layout(shard, rep, {draw(st.sampled_from(axes)): draw(st.integers(-3, 3))})


@FAST
@given(_replica_heavy())
def test_apply_with_colliding_replicas_is_the_definition(L):
    assert lib(L) == brute(L)
    want = {frozenset((a, v) for a, v in r if a in ("lane", "warp")) for r in
            (vec({a: sum(d * it.stride for d, it in zip(digits, L.replica) if it.axis.name == a)
                  for a in ("lane", "warp")}) for digits in _digits(L))}
    got = {vec(dict(zip(("lane", "warp"), map(int, row)))) for row in replica_vectors(L, ("lane", "warp"))}
    assert got == want and not replica_vectors(L, ("lane", "warp"))[0].any()


def _digits(L):
    out = [()]
    for it in L.replica:
        out = [d + (k,) for d in out for k in range(it.extent)]
    return out


def test_symbolic_replicas_are_summed_per_symbolic_factor():
    L = axe.Layout.parse("S[4:1] + R[(3,2,2):(n@lane,2*n@lane,-1@lane)]")
    (got,) = {frozenset(c["lane"] for c in L.apply(0))}
    want = {a * n + b * 2 * n - c for a in range(3) for b in range(2) for c in range(2)}
    assert {sympy.expand(g) for g in got} == {sympy.expand(w) for w in want}


# ---- text round trips; the 64-bit bound; integer values -------------------------------------------------
@pytest.mark.parametrize("text, match", [
    ("S[4:n**-40]", "integer"),
    ("S[4:n/2]", "integer"),
    ("S[4:(n+1)/3]", "integer"),
    ("S[4:2**-1]", "integer"),
    ("S[4:n**65]", "exponent"),
    ("S[4:n*2**62*4]", "64 bits"),
    ("S[(2**40,2**40):(2**40,1)]", "size"),
    ("S[2**62:3]", "64 bits"),
    ("S[2:1] + R[2**62:3@lane]", "64 bits"),
    ("S[7/2:1]", "integer"),
    ("S[4:1/0]", "zero"),
    ("S[2:2**62] + 2**62", "64 bits"),
    ("S[4:9223372036854775808]", "64 bits"),
])
def test_text_that_could_not_round_trip_is_refused(text, match):
    with pytest.raises(axe.AxeError, match=match):
        axe.Layout.parse(text)


def test_python_spellings_get_the_same_checks():
    with pytest.raises(axe.AxeError, match="size"):
        axe.S[(2**40, 2**40):(2**40, 1)]
    with pytest.raises(axe.AxeError, match="64 bits"):
        axe.S[4:1] + axe.R[2**62:3 @ axe.lane]
    with pytest.raises(axe.AxeError, match="64 bits"):
        axe.S[2:2**62] + 2**62 @ axe.m
    with pytest.raises(axe.AxeError, match="integer"):
        axe.Iter(4, n / 2)
    with pytest.raises(axe.AxeError, match="axe.symbol"):
        axe.Iter(sympy.Symbol("k", integer=True), 1)
    with pytest.raises(axe.AxeError, match="64 bits"):
        axe.tile(axe.Layout.parse("S[2**31:2**31]"), axe.Layout.parse("S[2**31:2**31]"), (2**31,), (2**31,))
    assert str(axe.Layout.parse("S[4:floor(n/2)]")) == "S[4:(floor(n/2))]"


def test_canonicalize_never_writes_what_the_parser_refuses():
    big = axe.Layout._make((Iter(2**40, 2**40), Iter(2**40, 1)))  # trusted: skips the 64-bit bound
    assert big.canonicalize().same_as(big)  # not fused into an extent of 2**80
    sym = axe.Layout([Iter(2**40, 2**40 * n), Iter(2**40 * n, 1)])  # fusing would make 2**80*n
    C = sym.canonicalize()
    assert C.same_as(sym) and axe.Layout.parse(str(C)).same_as(C)
    assert str(axe.Layout.parse("S[4:1] + floor((n+1)/2)")) == "S[4:1] + (floor(n/2 + 1/2))"
    for text in ("S[4:1] + floor(((n+1)/2**31)**3)", "S[4:1] + floor(((n+1)/2**62*2**2)**64)"):
        L = axe.Layout.parse(text)  # sympy.simplify would print (n + 1)**3/9903520314283042199192993792
        assert axe.Layout.parse(str(L)).same_as(L)
    edge = axe.Layout.parse("S[16:1] + R[9223372036854775807:-1@lane]")  # C1 moves -(2**63 - 2) into O
    assert axe.Layout.parse(str(edge.canonicalize())).same_as(edge.canonicalize())
    assert str(axe.Layout.parse("S[floor(7/2):1]")) == "S[3:1]"


_ATOM = st.one_of(st.integers(1, 9).map(str), st.sampled_from(["n", "k", "(n+1)", "2**40", "2**62", "2**63", "3**40"]))
_VAL = st.recursive(_ATOM, lambda ch: st.one_of(
    st.builds(lambda a, o, b: f"({a}{o}{b})", ch, st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]), ch),
    st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["floor", "ceiling", "Abs", "-"]), ch),
    st.builds(lambda f, a, b: f"{f}({a},{b})", st.sampled_from(["Mod", "Max", "Min"]), ch, ch)), max_leaves=4)
_AXIS = st.sampled_from(["", "@lane", "@warp", "@reg", "@gpuid"])


@st.composite
def _texts(draw):
    k = draw(st.integers(1, 3))
    t = "S[({}):({})]".format(",".join(draw(_VAL) for _ in range(k)),
                              ",".join(draw(st.sampled_from(["", "-"])) + draw(_VAL) + draw(_AXIS) for _ in range(k)))
    if draw(st.booleans()):
        k = draw(st.integers(1, 3))
        t += " + R[({}):({})]".format(",".join(draw(_VAL) for _ in range(k)),
                                      ",".join(draw(st.sampled_from(["", "-"])) + draw(_VAL) + draw(_AXIS)
                                               for _ in range(k)))
    for _ in range(draw(st.integers(0, 2))):
        t += draw(st.sampled_from([" + ", " - "])) + draw(_VAL) + draw(_AXIS)
    return t


@FAST
@given(_texts())
def test_generated_text_round_trips_or_is_refused(text):
    try:
        L = axe.Layout.parse(text)
    except axe.AxeError:
        return
    for M in (L, L.canonicalize()):
        P = axe.Layout.parse(str(M))
        assert P == M and P.same_as(M)


def _saturate(iters):
    """C2 as the quadratic loop did it: the first mergeable pair in sorted order, until none merges (C2 is
    not confluent in general: the order is part of the definition)."""
    iters = list(iters)
    changed = True
    while changed:
        changed = False
        iters.sort(key=canonical._sort_key)
        for a in iters:
            for b in iters:
                if a is b or b.stride % a.stride or not 1 <= b.stride // a.stride <= a.extent:
                    continue
                merged = Iter(a.extent + b.stride // a.stride * (b.extent - 1), a.stride, a.axis)
                iters = [x for x in iters if x is not a and x is not b] + [merged]
                changed = True
                break
            if changed:
                break
    return sorted(iters, key=canonical._sort_key)


@FAST
@given(st.lists(st.tuples(st.integers(2, 40), st.integers(1, 200)), min_size=1, max_size=10))
def test_c2_in_one_pass_is_the_saturation(pairs):
    its = [Iter(e, s, "lane") for e, s in pairs]
    assert canonical._absorb(its) == _saturate(its)


def test_symbolic_layouts_with_many_iters_stay_quick():
    text = "S[(" + ",".join(["n"] * 300) + "):(" + ",".join(["1"] * 300) + ")] + R[(" \
        + ",".join(["n"] * 300) + "):(" + ",".join(["1@lane"] * 300) + ")]"
    L = _quick(lambda: axe.Layout.parse(text), 5)
    _quick(lambda: axe.Layout.parse(str(L.canonicalize())), 5)


def test_replica_module_limits_are_documented_values():
    assert axe.layout.MAX_POINTS == replicas.MAX_POINTS == 2**18 and replicas.MAX_SYMBOLIC_POINTS == 2**12


# ---- axis names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, close", [("lan", "lane"), ("warpp", "warp"), ("Lane", "lane"), ("regs", "reg"),
                                         ("lnae", "lane"), ("warpgrop", "warpgroup")])
def test_mistyped_axis_names_suggest_the_nearest(name, close):
    with pytest.raises(axe.AxeError, match=f"did you mean '{close}'\\?"):
        axe.Layout.parse(f"S[4:1@{name}]")
    with pytest.raises(axe.AxeError, match=f"did you mean '{close}'\\?"):
        axe.Axis.get(name)


def test_new_axis_names_still_work():
    for name in ("x", "tx", "dp", "gpuid_y", "cta0", "rows_fuzz"):
        assert axe.Axis.get(name).name == name
    axe.register_axis("lanes_fuzz_test", "thread")  # register first, then it is no typo
    assert axe.Layout.parse("S[4:1@lanes_fuzz_test]").axes == ("lanes_fuzz_test",)


# ---- operator layouts on swizzled layouts ---------------------------------------------------------------
SW = axe.SwizzleLayout(axe.Layout.parse("S[(8,64):(64,1)]"), axe.smem_swizzle(128, 16))


def test_transpose_of_a_swizzled_layout_is_the_swizzled_transpose():
    T = axe.transpose_layout(SW, (8, 64))
    assert isinstance(T, axe.SwizzleLayout) and T.swizzle == SW.swizzle
    for i in range(8):
        for j in range(0, 64, 7):
            assert T.apply(j, i, shape=(64, 8)) == SW.apply(i, j, shape=(8, 64))


def test_reduce_and_dim_blocks_of_a_swizzled_layout():
    with pytest.raises(axe.AxeError, match="swizzle") as info:
        axe.reduce_layout(SW, (8, 64), (1,))
    assert str(SW) in str(info.value)
    assert axe.operator_layouts.dim_blocks(SW, (8, 64)) is None


@pytest.mark.parametrize("call", [
    lambda: axe.reduce_layout(axe.Layout.parse("S[(4,8):(8,1)]"), (4, 8), (2,)),
    lambda: axe.reduce_layout(axe.Layout.parse("S[(4,8):(8,1)]"), (4, 8), ("a",)),
    lambda: axe.reduce_layout(3, (4, 8), (0,)),
    lambda: axe.transpose_layout(axe.Layout.parse("S[(4,8):(8,1)]"), None),
    lambda: axe.transpose_layout(axe.Layout.parse("S[(4,8):(8,1)]"), (32,)),
    lambda: axe.transpose_layout("S[(4,8):(8,1)]", (5, 8)),
])
def test_operator_layouts_refuse_bad_input_with_axe_error(call):
    with pytest.raises(axe.AxeError):
        call()


def test_reduce_layout_counts_negative_dims_from_the_end():
    L = axe.Layout.parse("S[(4,8,32):(1@warp,1@reg,1@lane)]")
    assert axe.reduce_layout(L, (4, 256), (-1,)) == axe.reduce_layout(L, (4, 256), (1,))
