"""axe.draw (text, SVG, PNG) and the python -m axe command line."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import axe
from axe.cli import main

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


def test_cli_show_and_explain(capsys, tmp_path):
    assert main(["show", TC, "--shape", "8,16", "--svg", str(tmp_path / "x.svg")]) == 0
    assert "w5|9 l0 r0" in capsys.readouterr().out
    assert main(["explain", TC]) == 0
    out = capsys.readouterr().out
    assert "canonical" in out and "held 2 times" in out and "lane (thread axis): values 0..31" in out


def test_cli_errors_exit_2_with_caret():
    res = subprocess.run([sys.executable, "-m", "axe", "show", "S[(4,4):(1,]", "--shape", "4,4"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "^" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([sys.executable, "-m", "axe", "show", "S[4:1]", "--shape", "4,x"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--shape" in res.stderr
