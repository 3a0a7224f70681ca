"""Blackwell tensor memory (``tcgen05``): MMA data-path layouts and the ``tcgen05.ld``/``st`` fragments.

Tensor memory is 128 lanes x 512 columns of 32-bit cells per CTA, on the memory axes ``tlane`` and
``tcol``. A warp may only touch its own 32-lane sub-partition (warp ``w % 4`` of a warpgroup owns lanes
``32w .. 32w+31``).

* :func:`tmem_accumulator` gives the PTX ISA's data-path layouts (tcgen05 "Data path layout
  organization", Layouts A, B, D, E, F, G): where row ``i``, column ``j`` of the per-CTA accumulator
  tile lives in tensor memory.
* :func:`tcgen05_ld` gives, for one warp, which (lane, register) a ``tcgen05.ld``/``st`` of shape
  ``.32x32b``, ``.16x64b``, ``.16x128b`` or ``.16x256b`` with ``.x{num}`` maps each 32-bit cell of the
  accessed (rows, cols) block to (rows relative to the first lane accessed).
"""

from __future__ import annotations

from ..errors import AxeError
from ..layout import Layout

_POW2 = (1, 2, 4, 8, 16, 32, 64, 128)

# (instruction M, cta_group, .ws) -> (per-CTA rows, text builder for n columns, PTX layout letter)
_DATAPATH = {
    (256, 2, False): (128, lambda n: f"S[(128,{n}):(1@tlane,1@tcol)]", "A"),
    (128, 2, False): (64, lambda n: f"S[(64,2,{n // 2}):(1@tlane,64@tlane,1@tcol)]", "B"),
    (128, 1, False): (128, lambda n: f"S[(128,{n}):(1@tlane,1@tcol)]", "D"),
    (64, 1, True): (64, lambda n: f"S[(64,2,{n // 2}):(1@tlane,64@tlane,1@tcol)]", "E"),
    (64, 1, False): (64, lambda n: f"S[(4,16,{n}):(32@tlane,1@tlane,1@tcol)]", "F"),
    (32, 1, True): (32, lambda n: f"S[(32,4,{n // 4}):(1@tlane,32@tlane,1@tcol)]", "G"),
}


def tmem_accumulator(m: int, n: int, cta_group: int = 1, ws: bool = False) -> Layout:
    """The f32 accumulator of a dense ``tcgen05.mma`` with instruction shape M=``m``, N=``n``, per CTA.

    The logical shape is (rows per CTA, ``n``): ``m`` rows for ``cta_group=1`` and ``m // 2`` for
    ``cta_group=2``. Data-path layouts (PTX letters): M=256/cta_group::2 (A) and M=128/cta_group::1
    (D): row ``i`` in lane ``i``, column ``j`` in column ``j``; M=128/cta_group::2 (B) and M=64 ``.ws``
    (E): 64 rows, column halves folded onto lanes ``+64``; M=64 (F): rows in the first 16 lanes of
    each 32-lane sub-partition; M=32 ``.ws`` (G): column quarters folded onto the four sub-partitions.

    >>> str(tmem_accumulator(128, 256))
    'S[(128,256):(1@tlane,1@tcol)]'
    >>> sorted((c["tlane"], c["tcol"]) for c in tmem_accumulator(64, 64).apply(17, 3, shape=(64, 64)))
    [(33, 3)]
    """
    key = (m, cta_group, bool(ws))
    if key not in _DATAPATH:
        known = ", ".join(f"M={a} cta_group::{b}{' .ws' if w else ''}" for a, b, w in _DATAPATH)
        raise AxeError(f"tmem_accumulator: no data-path layout for M={m!r}, cta_group={cta_group!r}, ws={ws!r} "
                       f"(provided: {known})")
    _rows, build, _letter = _DATAPATH[key]
    step = 8 * _folds(key)
    if type(n) is not int or not step <= n <= 256 or n % step:
        raise AxeError(f"tmem_accumulator: N must be a multiple of {step} in [{step}, 256] for this data path, "
                       f"got n={n!r}")
    return Layout.parse(build(n))


def _folds(key) -> int:
    """How many lane groups the columns are folded onto (tensor-memory columns used: n / folds)."""
    return {"B": 2, "E": 2, "G": 4}.get(_DATAPATH[key][2], 1)


def tcgen05_ld(shape: str, num: int = 1) -> Layout:
    """One warp's ``tcgen05.ld``/``tcgen05.st`` ``.{shape}.x{num}`` fragment over (lane, reg).

    The logical shape is (rows, cols) of 32-bit tensor-memory cells, rows counted from the first lane
    accessed: ``.32x32b`` is (32, num), ``.16x64b`` (16, 2 num), ``.16x128b`` (16, 4 num), ``.16x256b``
    (16, 8 num). Register ``r`` is the ``r``-th 32-bit register of the destination vector.

    >>> str(tcgen05_ld("16x256b"))
    'S[(2,8,4,2):(2@reg,4@lane,1@lane,1@reg)]'
    """
    if num not in _POW2:
        raise AxeError(f"tcgen05_ld: num must be a power of two in [1, 128], got {num!r}")
    texts = {
        # lane l, register r -> row l, column r
        "32x32b": f"S[(32,{num}):(1@lane,1@reg)]",
        # row l//4 + 8*(l%2), column (l//2)%2 + 2r
        "16x64b": f"S[(2,8,{num},2):(1@lane,4@lane,1@reg,2@lane)]",
        # row l//4 + 8*(r%2), column l%4 + 4*(r//2)
        "16x128b": f"S[(2,8,{num},4):(1@reg,4@lane,2@reg,1@lane)]",
        # row l//4 + 8*((r//2)%2), column 2*(l%4) + r%2 + 8*(r//4)
        "16x256b": f"S[(2,8,{num},4,2):(2@reg,4@lane,4@reg,1@lane,1@reg)]",
    }
    if shape not in texts:
        raise AxeError(f"tcgen05_ld: shape must be one of {', '.join(texts)}, got {shape!r}")
    regs = {"32x32b": 1, "16x64b": 1, "16x128b": 2, "16x256b": 4}[shape] * num
    if regs > 128:
        raise AxeError(f"tcgen05_ld: .{shape}.x{num} would need {regs} registers per thread (at most 128)")
    plain = Layout.parse(texts[shape])
    return Layout([it for it in plain.shard if it.extent != 1])


def tcgen05_ld_32x32b(n: int) -> Layout:
    """Registers of ``tcgen05.ld.32x32b.x{n}`` over a warpgroup: a (128, n) tile of 32-bit words.

    Warp ``w`` reads tensor-memory lanes ``32w..32w+31``: thread ``lane`` holds row ``32w + lane`` and
    register ``i`` column ``i``.

    >>> str(tcgen05_ld_32x32b(16))
    'S[(4,32,16):(1@warp,1@lane,1@reg)]'
    """
    if n not in _POW2:
        raise AxeError(f"tcgen05_ld_32x32b: n must be a power of two in [1, 128], got {n!r}")
    return Layout.parse(f"S[(4,32,{n}):(1@warp,1@lane,1@reg)]")
