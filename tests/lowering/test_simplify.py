"""The index simplification pass never changes a value: random integer expressions over thread ids and
loop variables, evaluated with C semantics for every value the ranges allow, before and after."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import ir
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
