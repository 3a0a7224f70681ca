"""Bad input of any kind gets axe.AxeError naming the culprit."""

import numpy as np
import pytest
import sympy

import axe

L4 = "S[4:1]"

BAD = {
    "extent not a number": lambda: axe.Iter("a", 1),
    "float extent": lambda: axe.Iter(2.5, 1),
    "bool extent": lambda: axe.Iter(True, 1),
    "zero extent": lambda: axe.Iter(0, 1),
    "zero stride": lambda: axe.Iter(2, 0),
    "bad axis name": lambda: axe.Iter(2, 1, "bad name"),
    "axis not a name": lambda: axe.Iter(2, 1, 3),
    "shard None": lambda: axe.Layout(None),
    "shard of ints": lambda: axe.Layout([1, 2]),
    "float offset": lambda: axe.Layout([axe.Iter(2, 1)], offset={"m": 1.5}),
    "text not str": lambda: axe.Layout.parse(5),
    "huge power": lambda: axe.Layout.parse("S[2**99999999:1]"),
    "huge literal": lambda: axe.Layout.parse("S[99999999999999999999999:1]"),
    "index out of range": lambda: axe.Layout.parse(L4).apply(4),
    "no index": lambda: axe.Layout.parse(L4).apply(),
    "shape not admitted": lambda: axe.Layout.parse(L4).apply(1, 1, shape=(3, 2)),
    "index not a number": lambda: axe.Layout.parse(L4).apply("a"),
    "float index": lambda: axe.Layout.parse(L4).apply(1.5),
    "group by string": lambda: axe.Layout.parse(L4).group("x"),
    "group zero dim": lambda: axe.Layout.parse(L4).group((0, 4)),
    "tile non-layouts": lambda: axe.tile(1, 2, (1,), (1,)),
    "slice region not pairs": lambda: axe.Layout.parse(L4).slice((4,), 5),
    "span of non-axis": lambda: axe.Layout.parse(L4).span(5),
    "layouts do not add": lambda: axe.Layout.parse(L4) + axe.Layout.parse(L4),
    "builder step": lambda: axe.S[1:2:3],
    "division by zero in text": lambda: axe.Layout.parse("S[x/0:1]"),
    "extents and strides differ": lambda: axe.Layout.parse("S[(4,4):(1,2,3)]"),
    "two shard parts": lambda: axe.Layout.parse("S[4:1] + S[4:1]"),
    "no shard part": lambda: axe.Layout.parse("R[4:1]"),
    "unknown function": lambda: axe.Layout.parse("S[foo(3):1]"),
    "negative extent": lambda: axe.Layout.parse("S[-3:1]"),
    "two axes": lambda: axe.Layout.parse("S[4:1@lane@warp]"),
    "negative symbolic extent": lambda: axe.Iter(sympy.Symbol("x", negative=True), 1),
    "numpy index out of range": lambda: axe.Layout.parse(L4).apply(np.int64(9)),
    "re-register builtin with another kind": lambda: axe.register_axis("lane", "memory"),
    "unknown kind": lambda: axe.register_axis("zz", "gpu"),
    "symbolic group with no common factor": lambda: axe.Layout.parse("S[(n,4):(4,1)]").group((3, 5)),
    "replica without strides": lambda: axe.Layout.parse("S[4:1] + R[4]"),
    "subtracting a shard": lambda: axe.Layout.parse("S[4:1] - S[4:1]"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_axe_error(name):
    with pytest.raises(axe.AxeError):
        BAD[name]()


def test_axe_error_is_value_error():
    assert issubclass(axe.AxeError, ValueError)
    assert issubclass(axe.UnprovableError, axe.AxeError)


def test_zero_stride_message_points_to_replicas():
    with pytest.raises(axe.AxeError, match="R\\["):
        axe.Iter(4, 0, "lane")


def test_syntax_error_shows_caret():
    with pytest.raises(axe.LayoutSyntaxError) as info:
        axe.Layout.parse("S[(4,8):(1,]")
    assert "^" in str(info.value) and "S[(4,8):(1,]" in str(info.value)


def test_unprovable_fact_is_named():
    n = axe.symbol("n")
    L = axe.Layout([axe.Iter(n, 1)])
    with pytest.raises(axe.UnprovableError, match="cannot prove"):
        L.group((4, axe.symbol("k")))


def test_immutable():
    L = axe.Layout.parse(L4)
    with pytest.raises(AttributeError):
        L.shard = ()
    it = axe.Iter(2, 1)
    with pytest.raises(AttributeError):
        it.extent = 3


def test_coord_is_a_total_vector_with_mentioned_keys():
    c = axe.Coord({"lane": 3, "warp": 0})
    assert c["m"] == 0 and "m" not in c and "warp" in c and list(c) == ["lane", "warp"]
    assert c == {"lane": 3} and hash(c) == hash(axe.Coord(lane=3))
    with pytest.raises(KeyError):
        c[3]
