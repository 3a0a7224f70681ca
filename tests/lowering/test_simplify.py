"""The index simplification pass never changes a value: random integer expressions over thread ids and
loop variables, evaluated with C semantics for every value the ranges allow, before and after."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from lowering import ir
from lowering.simplify import simplify


def tdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def ev(e, env):
    if isinstance(e, ir.Const):
        return e.value
    if isinstance(e, ir.ThreadIdx):
        return env[e.kind]
    if isinstance(e, ir.Var):
        return env[e.name]
    a, b = ev(e.a, env), ev(e.b, env)
    if isinstance(e, ir.Cmp):
        return {"<": a < b, "<=": a <= b, "==": a == b, "!=": a != b, ">": a > b, ">=": a >= b}[e.op]
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "//": lambda: tdiv(a, b),
            "%": lambda: a - tdiv(a, b) * b, "&": lambda: a & b, "min": lambda: min(a, b),
            "max": lambda: max(a, b)}[e.op]()


LEAVES = st.one_of(st.builds(ir.ThreadIdx, st.sampled_from(["lane", "warp", "tx"])),
                   st.just(ir.Var("i", "i32")), st.integers(-9, 40).map(lambda v: ir.Const(v, "i32")))
EXPRS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.builds(ir.BinOp, st.sampled_from(["+", "-", "*", "min", "max"]), inner, inner),
    st.builds(ir.BinOp, st.sampled_from(["//", "%"]), inner, st.integers(1, 64).map(lambda v: ir.Const(v, "i32"))),
    st.builds(ir.BinOp, st.just("&"), inner, st.integers(0, 63).map(lambda v: ir.Const(v, "i32")))), max_leaves=8)


@given(e=EXPRS, cmp=st.sampled_from(["<", "==", ">="]), bound=st.integers(0, 80), lo=st.integers(0, 5),
       hi=st.integers(6, 12))
@settings(max_examples=200, deadline=None)
def test_simplify_keeps_every_value(e, cmp, bound, lo, hi):
    _check(e, cmp, bound, lo, hi)


@given(x=EXPRS, d=st.integers(2, 16), k=st.integers(-3, 3), c=st.integers(-5, 5))
@settings(max_examples=150, deadline=None)
def test_quotient_and_remainder_put_back_together_keep_every_value(x, d, k, c):
    """``k*d*(x // d) + k*(x % d) + c``: recombined to ``k*x + c`` only where ``x >= 0``."""
    dd = ir.Const(d, "i32")
    e = ir.BinOp("+", ir.BinOp("+", ir.BinOp("*", ir.BinOp("//", x, dd), ir.Const(k * d, "i32")),
                               ir.BinOp("*", ir.Const(k, "i32"), ir.BinOp("%", x, dd))), ir.Const(c, "i32"))
    _check(e, "<", 7, 0, 8)


def test_quotient_and_remainder_of_a_lane_recombine():
    lane, four = ir.ThreadIdx("lane"), ir.Const(4, "i32")
    e = ir.BinOp("+", ir.BinOp("*", ir.BinOp("//", lane, four), four), ir.BinOp("%", lane, four))
    k = ir.Kernel("k", (), (1,), 64, (ir.Assign(ir.Var("x", "i32"), e),))
    assert simplify(k).body[0].value == lane


def _check(e, cmp, bound, lo, hi):
    i = ir.Var("i", "i32")
    body = (ir.For(i, ir.Const(lo, "i32"), ir.Const(hi, "i32"), ir.Const(1, "i32"), (
        ir.Assign(ir.Var("x", "i32"), e),
        ir.Assign(ir.Var("c", "bool"), ir.Cmp(cmp, e, ir.Const(bound, "i32"))))),)
    k = ir.Kernel("k", (), (1,), 64, body)
    out = simplify(k).body
    if not out:                      # the loop was proven empty
        assert hi <= lo
        return
    (loop,) = out
    for tx, iv in itertools.product(range(64), range(lo, hi)):
        env = {"tx": tx, "lane": tx % 32, "warp": tx // 32, "i": iv}
        want = [ev(s.value, env) for s in body[0].body]
        got = []
        for s in loop.body:
            got.append(ev(s.value, env))
        assert got == want, (e, [s.value for s in loop.body])
