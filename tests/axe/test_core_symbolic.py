"""Symbolic extents, strides and offsets: results agree with the concrete layouts for bound symbols."""

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import axe

n, k = axe.symbols("n k")


def subs(v, env):
    return int(sympy.sympify(v).subs(env)) if not isinstance(v, int) else v


def bind(L: axe.Layout, env) -> axe.Layout:
    def it(i):
        return axe.Iter(subs(i.extent, env), subs(i.stride, env), i.axis)

    return axe.Layout([it(i) for i in L.shard], [it(i) for i in L.replica],
                      {a: subs(v, env) for a, v in L.offset.items()})


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3))
def test_symbolic_apply_size_span_match_concrete(nv, kv):
    env = {n: nv, k: kv}
    L = axe.Layout.parse("S[(n,4,k):(4*k,k,1@lane)] + R[2:(n*4*k)] + k@warp")
    C = bind(L, env)
    assert subs(L.size, env) == C.size
    for a in ("m", "lane", "warp"):
        assert subs(L.span(a), env) == C.span(a)
    for x in range(C.size):
        sym = {frozenset((a, subs(v, env)) for a, v in c.items() if subs(v, env)) for c in L.apply(x)}
        con = {frozenset((a, v) for a, v in c.items() if v) for c in C.apply(x)}
        assert sym == con


def test_symbolic_index_gives_expression():
    L = axe.Layout.parse("S[(n,4):(4,1)]")
    i = sympy.Symbol("i", integer=True, nonnegative=True)
    (c,) = L.apply(i, 3, shape=(n, 4))
    assert sympy.simplify(c["m"] - (4 * i + 3)) == 0


def test_symbolic_canonicalize_group_tile_slice():
    L = axe.Layout.parse("S[(n,4,8):(32,8,1)]")
    assert L.canonicalize().same_as(axe.Layout.parse("S[(32*n):1]"))
    G, seps = L.canonicalize().group((n, 32))
    assert seps == (0, 1, 2) and G.same_as(axe.Layout.parse("S[(n,32):(32,1)]"))
    T = axe.tile(axe.Layout.parse("S[n:1]"), axe.Layout.parse("S[8:1]"), (n,), (8,))
    assert T.same_as(axe.Layout.parse("S[(n,8):(8,1)]"))
    assert axe.tile_of(T, axe.Layout.parse("S[8:1]"), (8 * n,), (8,)).same_as(axe.Layout.parse("S[n:1]"))
    S = axe.Layout.parse("S[(n,64):(64,1)]").slice((n, 64), [(0, n), (16, 48)])
    assert S == axe.Layout.parse("S[(n,32):(64,1)] + 16")


def test_symbolic_roundtrip_and_hash():
    L = axe.Layout.parse("S[(n,(k + 1)):((k + 1),1)] + (n*2)@lane")
    P = axe.Layout.parse(str(L))
    assert P.same_as(L) and hash(P) == hash(L)
    assert L == axe.Layout.parse("S[(n*(k+1)):1] + 2*n@lane")
