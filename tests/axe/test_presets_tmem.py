"""Tensor-memory presets: tcgen05.ld fragments and MMA data-path layouts.

Each layout is checked three ways: against the (lane, register) -> (row, column) formulas written out
here from the PTX ISA figures, for being a bijection, and (oracle) against CUTLASS's own definitions:
the ``Copy_Traits<SM100_TMEM_LOAD_*>`` thread/value layouts read from the installed CUTLASS headers and
the ``tmem_frg`` accumulator atoms, both evaluated with pycute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import axe
from axe.presets import nvidia

ROWS = {"32x32b": 32, "16x64b": 16, "16x128b": 16, "16x256b": 16}
COLS = {"32x32b": 1, "16x64b": 2, "16x128b": 4, "16x256b": 8}  # 32-bit columns per .x1
REGS = {"32x32b": 1, "16x64b": 1, "16x128b": 2, "16x256b": 4}  # registers per thread per .x1


def ptx_cell(shape, lane, r):
    """(row, column) of register ``r`` of ``lane``, from the PTX ISA tcgen05 matrix-fragment figures."""
    g, t = lane // 4, lane % 4
    if shape == "32x32b":
        return lane, r
    if shape == "16x64b":
        return g + 8 * (lane % 2), (lane // 2) % 2 + 2 * r
    if shape == "16x128b":
        return g + 8 * (r % 2), t + 4 * (r // 2)
    return g + 8 * ((r // 2) % 2), 2 * t + r % 2 + 8 * (r // 4)  # 16x256b: like an mma accumulator


def fragment(layout, shape, num):
    rows, cols = ROWS[shape], COLS[shape] * num
    out = {}
    for i in range(rows):
        for j in range(cols):
            (pt,) = layout.apply(i, j, shape=(rows, cols))
            out[(pt["lane"], pt["reg"])] = (i, j)
    return out


@pytest.mark.parametrize("shape", list(ROWS))
@pytest.mark.parametrize("num", [1, 2, 4, 32])
def test_tcgen05_ld_matches_ptx(shape, num):
    got = fragment(nvidia.tcgen05_ld(shape, num), shape, num)
    want = {(lane, r): ptx_cell(shape, lane, r) for lane in range(32) for r in range(REGS[shape] * num)}
    assert got == want  # equal dicts over all (lane, reg): a bijection onto the (rows, cols) block


def test_tcgen05_ld_errors():
    for bad in [lambda: nvidia.tcgen05_ld("16x32bx2"), lambda: nvidia.tcgen05_ld("16x64b", 3),
                lambda: nvidia.tcgen05_ld("16x256b", 64), lambda: nvidia.tcgen05_ld_32x32b(3)]:
        with pytest.raises(axe.AxeError):
            bad()


# ---------------------------------------------------------------- oracle: CUTLASS's own definitions

def _cutlass_header():
    lib = pytest.importorskip("cutlass_library", reason="nvidia-cutlass not installed")
    path = Path(lib.__file__).parent / "source/include/cute/atom/copy_traits_sm100.hpp"
    if not path.exists():
        pytest.skip("CUTLASS headers not shipped with cutlass_library")
    return path.read_text()


def _cute_layout(text):
    """``Layout<Shape <...>, Stride<...>>`` C++ text -> (shape, stride) Python tuples."""
    text = re.sub(r"\s+", "", text)
    text = text.replace("Shape<", "(").replace("Stride<", "(").replace(">", ",)")
    text = re.sub(r"_(\d+)", r"\1", text)
    shape, stride = eval(text, {})  # noqa: S307 - digits, commas and parentheses only
    return shape, stride


def cutlass_tmem_load(header, shape, num):
    """(lane, reg) -> (row, column) from ``Copy_Traits<SM100_TMEM_LOAD_{dp}dp{bits}b{num}x>``."""
    pycute = pytest.importorskip("pycute")
    dp, bits = shape.split("x")
    name = f"SM100_TMEM_LOAD_{dp}dp{bits[:-1]}b{num}x"
    m = re.search(r"struct Copy_Traits<" + name + r">\s*\{(.*?)\};", header, re.S)
    assert m, name
    body = m.group(1)
    val_id = re.search(r"using ValID = Layout<Shape <\s*_(\d+),", body.replace("Shape<", "Shape <"))
    row_bits = int(val_id.group(1))  # bits of one tensor-memory lane covered by the instruction
    dst = re.search(r"using DstLayout = (Layout<.*?>)\s*;", body, re.S).group(1)
    shp, strd = _cute_layout(dst[len("Layout<"):-1])
    layout = pycute.Layout(shp, strd)
    nval = pycute.size(shp[1])
    out = {}
    for lane in range(32):
        for v in range(0, nval, 32):  # one 32-bit register = 32 consecutive value bits
            bit = layout(lane, v)
            assert bit % 32 == 0 and all(layout(lane, v + k) == bit + k for k in range(32))
            out[(lane, v // 32)] = (bit // row_bits, (bit % row_bits) // 32)
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("shape", list(ROWS))
@pytest.mark.parametrize("num", [1, 2, 4, 8, 16, 32])
def test_tcgen05_ld_matches_cutlass(shape, num):
    header = _cutlass_header()
    if REGS[shape] * num > 128:
        pytest.skip("more than 128 registers")
    assert fragment(nvidia.tcgen05_ld(shape, num), shape, num) == cutlass_tmem_load(header, shape, num)


# ---------------------------------------------------------------- MMA data-path layouts

def datapath_cell(letter, i, j, n):
    """(tensor-memory lane, column) of accumulator row i, column j: the PTX data-path layouts."""
    if letter in ("A", "D"):  # every row in its own lane
        return i, j
    if letter in ("B", "E"):  # 64 rows; the second half of the columns folded onto lanes 64..127
        return i + 64 * (j // (n // 2)), j % (n // 2)
    if letter == "F":  # 64 rows in the lower 16 lanes of each 32-lane sub-partition
        return 32 * (i // 16) + i % 16, j
    return i + 32 * (j // (n // 4)), j % (n // 4)  # G: column quarters over the 4 sub-partitions


CASES = [(256, 2, False, "A", 128), (128, 2, False, "B", 64), (128, 1, False, "D", 128),
         (64, 1, True, "E", 64), (64, 1, False, "F", 64), (32, 1, True, "G", 32)]


@pytest.mark.parametrize("m,cta_group,ws,letter,rows", CASES)
@pytest.mark.parametrize("n", [32, 64, 256])
def test_datapath_layouts(m, cta_group, ws, letter, rows, n):
    L = nvidia.tmem_accumulator(m, n, cta_group=cta_group, ws=ws)
    cells = set()
    for i in range(rows):
        for j in range(n):
            (pt,) = L.apply(i, j, shape=(rows, n))
            cell = (pt["tlane"], pt["tcol"])
            assert cell == datapath_cell(letter, i, j, n), (letter, i, j)
            assert 0 <= cell[0] < 128
            cells.add(cell)
    assert len(cells) == rows * n  # no two accumulator elements share a cell


@pytest.mark.oracle
@pytest.mark.parametrize("m_sm,n_sm,atom", [
    # CUTLASS tmem_frg atoms in virtual addressing (lane stride 1, column stride 128): (rows, N) -> address
    (128, 1, lambda n: (((128, n), (1, 128)))),
    (64, 1, lambda n: ((((16, 4), n), ((1, 32), 128)))),
    (64, 2, lambda n: (((64, (n // 2, 2)), (1, (128, 64))))),
    (128, 2, lambda n: (((128, n), (1, 128)))),
])
def test_datapath_matches_cutlass_atoms(m_sm, n_sm, atom):
    pycute = pytest.importorskip("pycute")
    m = m_sm * n_sm
    for n in (64, 256):
        L = nvidia.tmem_accumulator(m, n, cta_group=n_sm)
        ref = pycute.Layout(*atom(n))
        for i in range(m_sm):
            for j in range(n):
                (pt,) = L.apply(i, j, shape=(m_sm, n))
                addr = ref(i, j)
                assert (pt["tlane"], pt["tcol"]) == (addr % 128, addr // 128)


def test_datapath_errors():
    for bad in [lambda: nvidia.tmem_accumulator(32, 64), lambda: nvidia.tmem_accumulator(128, 12),
                lambda: nvidia.tmem_accumulator(128, 512), lambda: nvidia.tmem_accumulator(256, 64),
                lambda: nvidia.tmem_accumulator(32, 40, ws=True)]:
        with pytest.raises(axe.AxeError, match="tmem_accumulator"):
            bad()
