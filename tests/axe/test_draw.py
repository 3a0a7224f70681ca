"""axe.draw (text, SVG, PNG) and the python -m axe command line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import axe

TC = "S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp"


def test_text_table_shows_every_cell_owner_and_storage():
    L = axe.Layout.parse(TC)
    text = axe.draw(L, (8, 16))
    rows = text.splitlines()
    assert len(rows) == 9
    for i in range(8):
        cells = rows[1 + i].split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        assert cells[0] == str(i)
        for j, cell in enumerate(cells[1:]):
            warps = "|".join(str(w) for w in sorted({j // 8 + 5, j // 8 + 9}))
            assert cell == f"w{warps} l{4 * i + (j // 2) % 4} r{j % 2}"


def test_higher_rank_slice_and_mesh():
    L = axe.shard((2, 4, 4), axe.Mesh(x=2, y=2), ("x", None, "y"))
    text = axe.draw(L, (2, 4, 4), index=(1,))
    assert "x1" in text and "x0" not in text and "y0" in text and "y1" in text


def test_svg_is_valid_and_coloured_by_owner(tmp_path):
    out = tmp_path / "tc.svg"
    axe.draw(axe.Layout.parse("S[(2,4):(1@warp,1@lane)]"), (2, 4), svg=out)
    root = ET.parse(out).getroot()
    rects = [e for e in root.iter() if e.tag.endswith("rect")]
    assert len(rects) == 8 and len({r.get("fill") for r in rects}) == 8


def test_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "tc.png"
    axe.draw(axe.Layout.parse(TC), (8, 16), png=out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draw_errors():
    with pytest.raises(axe.AxeError):
        axe.draw(axe.Layout.parse(TC), (8, 8))
    with pytest.raises(axe.AxeError):
        axe.draw(axe.Layout.parse("S[(2,2,2):(4,2,1)]"), (2, 2, 2), index=(5,))


def test_svg_colours_follow_owners(tmp_path):
    """Cells share a fill exactly when they share an owner (all replicas' thread/device coordinates)."""
    L = axe.Layout.parse(TC)
    out = tmp_path / "tc.svg"
    axe.draw(L, (8, 16), svg=out)
    rects = [e for e in ET.parse(out).getroot().iter() if e.tag.endswith("rect")]
    assert len(rects) == 128
    owners = []
    for r in range(8):
        for c in range(16):
            owners.append(frozenset((p["warp"], p["lane"]) for p in L.apply(r, c, shape=(8, 16))))
    for i in range(128):
        for j in range(128):
            assert (rects[i].get("fill") == rects[j].get("fill")) == (owners[i] == owners[j])


def test_mesh_drawing_shows_gpu_and_local_offset():
    mesh = axe.Mesh(x=2, y=2)
    L = mesh.to_gpuid(axe.shard((4, 4), mesh, ("x", "y")))
    rows = axe.draw(L, (4, 4)).splitlines()
    # row 3: x = 1, local row 1; columns 0-1 on y = 0 and 2-3 on y = 1; gpuid = 2x + y, m = 2 * row + col
    assert rows[4].split() == ["3", "gpu2", "m2", "gpu2", "m3", "gpu3", "m2", "gpu3", "m3"]


def test_text_layout_and_swizzled_tiles():
    assert axe.draw("S[(2,2):(1@lane,2)]", (2, 2)).splitlines()[1].split() == ["0", "l0", "m0", "l0", "m2"]
    from axe.presets import nvidia

    tile = nvidia.tma_smem_tile(8, 64, 16, 128)
    cells = [row.split()[1:] for row in axe.draw(tile, (8, 64)).splitlines()[1:]]
    assert cells[1][:2] == ["m72", "m73"]  # row 1 of a 128-byte swizzle: chunk 0 swapped with chunk 1


def test_too_big_and_unwritable():
    with pytest.raises(axe.AxeError, match="65536"):
        axe.draw(axe.Layout.parse("S[262144:1]"), (512, 512))
    with pytest.raises(axe.AxeError, match="cannot write the SVG"):
        axe.draw(axe.Layout.parse("S[4:1]"), (2, 2), svg="/nonexistent-dir/x.svg")
