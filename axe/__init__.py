"""Axe: a unified layout algebra for memory, threads and devices.

A layout ``L = (D, R, O)`` maps a logical index to a *set* of coordinates on named axes:
``L(x) = { D(x) + r + O : r in R }``.

>>> import axe
>>> L = axe.Layout.parse("S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp")
>>> sorted((c["lane"], c["warp"], c["reg"]) for c in L.apply(7, 15, shape=(8, 16)))
[(31, 6, 1), (31, 10, 1)]
"""

from . import presets
from .axis import (
    DEVICE,
    MEMORY,
    THREAD,
    Axis,
    F,
    P,
    cluster,
    cta,
    gpuid,
    lane,
    laneid,
    m,
    reg,
    register_axis,
    tcol,
    tlane,
    warp,
    warpgroup,
    warpid,
)
from .builders import R, S
from .coord import Coord
from .cute import (
    coalesce,
    complement,
    compose,
    from_cute,
    left_inverse,
    logical_divide,
    logical_product,
    right_inverse,
    to_cute,
)
from .draw import draw
from .errors import AxeError, UnprovableError
from .iter import AxisValue, Iter
from .layout import Layout, Offset, ReplicaSpec
from .mesh import Mesh, shard, to_spec
from .operator_layouts import reduce_layout, transpose_layout
from .ownership import Partition
from .parser import LayoutSyntaxError
from .swizzle import Swizzle, SwizzleLayout, smem_swizzle
from .tile import direct_sum, tile, tile_of
from .values import symbol, symbols

__all__ = [
    "draw",
    "reduce_layout", "transpose_layout",
    "Swizzle", "SwizzleLayout", "smem_swizzle",
    "coalesce",
    "complement",
    "compose",
    "from_cute",
    "left_inverse",
    "logical_divide",
    "logical_product",
    "right_inverse",
    "to_cute",
    "presets",
    "AxeError",
    "Axis",
    "AxisValue",
    "cluster",
    "Coord",
    "cta",
    "DEVICE",
    "direct_sum",
    "F",
    "gpuid",
    "Iter",
    "lane",
    "laneid",
    "Layout",
    "LayoutSyntaxError",
    "m",
    "MEMORY",
    "Mesh",
    "Offset",
    "P",
    "Partition",
    "R",
    "reg",
    "register_axis",
    "ReplicaSpec",
    "S",
    "shard",
    "symbol",
    "symbols",
    "tcol",
    "THREAD",
    "tile",
    "tile_of",
    "tlane",
    "to_spec",
    "UnprovableError",
    "warp",
    "warpgroup",
    "warpid",
]
