"""``lowering.owned`` (ownership as IR) against brute-force ``Layout.apply``, and the simplification pass
against the unsimplified expressions, on every thread of the CTA, for fixed and random layouts."""

import dataclasses
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axe
from lowering import ir
from lowering.operands import thread_axes
from lowering.owned import owned
from lowering.simplify import simplify

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv, "%": operator.mod,
       "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
       "!=": operator.ne, "&": operator.and_, "|": operator.or_}


def ev(e, tc):
    """Evaluate an integer IR expression for the thread with coordinates ``tc`` (non-negative operands)."""
    if isinstance(e, ir.Const):
        return e.value
    if isinstance(e, ir.ThreadIdx):
        return tc[e.kind]
    if isinstance(e, (ir.BinOp, ir.Cmp)):
        return OPS[e.op](ev(e.a, tc), ev(e.b, tc))
    if isinstance(e, ir.Logic):
        return ev(e.a, tc) and ev(e.b, tc) if e.op == "and" else ev(e.a, tc) or ev(e.b, tc)
    raise TypeError(e)


def _threads(T):
    for t in range(T):
        yield {"tx": t, "lane": t % 32, "warp": t // 32, "warpgroup": t // 128, "cta.x": 0, "cta.y": 0, "cta.z": 0}


def check(layout, shape, T):
    axes = thread_axes(layout)
    ext = {"lane": min(32, T), "warp": max(1, T // 32), "tx": T, "warpgroup": max(1, T // 128)}
    owns, slots = owned(layout, shape, {a: ir.ThreadIdx(a) for a in axes}, {a: ext[a] for a in axes})
    # the same expressions after the simplification pass
    body = (ir.Assign(ir.Var("o", "bool"), owns),) + tuple(
        ir.Assign(ir.Var(f"c{k}_{d}", "i32"), c) for k, (_, cs) in enumerate(slots) for d, c in enumerate(cs))
    simple = simplify(ir.Kernel("k", (), (1,), T, body)).body
    for tc in _threads(T):
        want = {}
        for x in range(int(layout.size)):
            for c in layout.apply(x):
                if all(c.get(a, 0) == tc[a] for a in axes):
                    want[c.get("reg", 0)] = tuple(int(v) for v in np.unravel_index(x, shape))
        got = {reg: tuple(ev(c, tc) for c in cs) for reg, cs in slots} if ev(owns, tc) else {}
        assert got == want, (str(layout), tc)
        assert [ev(s.value, tc) for s in simple] == [ev(s.value, tc) for s in body], str(layout)


CASES = [("S[(4,8,32):(1@warp,1@reg,1@lane)]", (4, 256), 128),
         ("S[(2,8,2,4,2):(2@reg,4@lane,4@reg,1@lane,1@reg)]", (16, 16), 32),
         ("S[(4,1):(1@warp,1@reg)] + R[32:1@lane]", (4, 1), 128),
         ("S[(16,8,8):(8@tx,1@tx,1@reg)]", (16, 64), 128),
         ("S[(2,8):(1@lane,1@reg)] + 3@lane", (2, 8), 32),
         ("S[(2,8):(-1@lane,1@reg)] + 3@lane", (2, 8), 32),
         ("S[(4,4):(8@lane,1@reg)] + R[2:1@lane]", (4, 4), 32),
         ("S[(2,2,2,8,2,4,4,2):(2@warp,16@reg,2@reg,4@lane,1@warp,4@reg,1@lane,1@reg)]", (64, 64), 128)]


@pytest.mark.parametrize("text, shape, T", CASES)
def test_owned_matches_apply(text, shape, T):
    check(axe.Layout.parse(text), shape, T)


@st.composite
def layouts(draw):
    """Random register layouts: power-of-two iters on lane/warp/reg, each axis a mixed radix (invertible),
    in a random order, with optional replicas and offsets on lane."""
    n = draw(st.integers(1, 4))
    iters = [(draw(st.sampled_from([2, 4])), draw(st.sampled_from(["lane", "warp", "reg"]))) for _ in range(n)]
    order = draw(st.permutations(list(range(n))))
    stride = {"lane": 1, "warp": 1, "reg": 1}
    shard = [None] * n
    for i in order:                 # strides per axis grow in a random order: any mixed radix
        e, a = iters[i]
        gap = draw(st.sampled_from([1, 1, 2])) if a == "lane" else 1
        shard[i] = axe.Iter(e, stride[a] * gap, a)
        stride[a] *= e * gap
    reps = []
    if stride["lane"] <= 16 and draw(st.booleans()):
        reps.append(axe.Iter(2, stride["lane"], "lane"))
        stride["lane"] *= 2
    off = {}
    if stride["lane"] <= 16 and draw(st.booleans()):
        off["lane"] = draw(st.integers(0, 32 - stride["lane"]))
    if stride["warp"] > 4 or stride["lane"] > 32:
        return None
    layout = axe.Layout(shard, reps, off or None)
    size = layout.size
    shape = draw(st.sampled_from([(size,)] + ([(2, size // 2)] if size % 2 == 0 and size > 2 else [])))
    return layout, shape


@given(layouts())
@settings(max_examples=60, deadline=None)
def test_owned_matches_apply_on_random_layouts(case):
    if case is None:
        return
    layout, shape = case
    check(layout, shape, 128)


def test_simplify_removes_ranges_the_launch_decides():
    lane = ir.ThreadIdx("lane")
    assign = ir.Assign(ir.Var("x", "i32"), ir.BinOp("%", lane, ir.Const(32, "i32")))
    k = ir.Kernel("k", (), (1,), 64, (ir.If(ir.Cmp("<", lane, ir.Const(32, "i32")), (assign,)),))
    out = simplify(k)
    assert out.body == (ir.Assign(ir.Var("x", "i32"), lane),)
    assert dataclasses.replace(out, body=()) == dataclasses.replace(k, body=())
