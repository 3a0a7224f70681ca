"""python -m axe show / explain: output, files, and errors (message, caret, exit code 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import axe
from axe.cli import main

TC = "S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp"


def run(*args):
    return subprocess.run([sys.executable, "-m", "axe", *args], capture_output=True, text=True, timeout=120)


def test_show_prints_the_table(capsys):
    assert main(["show", "S[(2,4,2,4):(1@gpuid,4,2@gpuid,1)]", "--shape", "8,8", "--wide"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split()[:5] == ["0", "gpu0", "m0", "gpu0", "m1"]
    assert rows[5].split()[-2:] == ["gpu3", "m3"]  # row 4, col 7 -> device 1 + 2, local 4*0 + 3


def _blocks(out: str) -> list[list[str]]:
    return [block.splitlines() for block in out.rstrip("\n").split("\n\n")]


def test_show_fits_80_columns_by_default(capsys):
    """Not a terminal: lines of at most 80 characters, the columns in blocks of equal size."""
    assert main(["show", TC, "--shape", "8,16"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    blocks = _blocks(out)
    assert len(blocks) == 4 and all(len(b) == 9 for b in blocks)  # a header and 8 rows each
    assert [b[0].split() for b in blocks] == [[str(c) for c in range(k, k + 4)] for k in (0, 4, 8, 12)]
    # block 3 holds columns 12..15 (warps 6|10, lanes 4*row + 2 + col//2 % 2): row 7, col 15
    assert blocks[3][8].split()[-3:] == ["w6|10", "l31", "r1"]


def test_show_wide_is_the_full_table(capsys):
    assert main(["show", TC, "--shape", "8,16", "--wide"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 9 and max(len(line) for line in lines) > 80
    assert lines[0].split() == [str(c) for c in range(16)]
    assert out.rstrip("\n") == axe.draw(TC, (8, 16))  # the library's table, unwrapped


def test_show_width_and_a_table_that_fits(capsys):
    assert main(["show", TC, "--shape", "8,16", "--width", "120"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 120 and len(_blocks(out)) == 2
    small = "S[(2,4):(1@warp,1@lane)]"
    assert main(["show", small, "--shape", "2,4"]) == 0  # fits: the same table as --wide
    assert capsys.readouterr().out.rstrip("\n") == axe.draw(small, (2, 4))


def test_show_shortens_a_cell_wider_than_the_line(capsys):
    """A 64-way replicated value lists every replica: a cell longer than 80 characters."""
    runs = "S[2:1] + R[64:1@lane]"  # lanes 0..63: written as a run
    assert main(["show", runs, "--shape", "1,2"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["0", "l0..63", "m0", "l0..63", "m1"]
    gaps = "S[2:1] + R[64:2@lane]"  # lanes 0, 2, ..., 126: no run, so the cell is cut
    assert main(["show", gaps, "--shape", "1,2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[1].startswith("0  l0|2|4|") and lines[1].endswith("...")
    assert main(["show", gaps, "--shape", "1,2", "--wide"]) == 0
    assert "|126 m0" in capsys.readouterr().out


def test_library_draw_width():
    L = axe.Layout.parse(TC)
    assert axe.draw(L, (8, 16), width=None) == axe.draw(L, (8, 16))
    assert all(len(line) <= 60 for line in axe.draw(L, (8, 16), width=60).splitlines())
    with pytest.raises(axe.AxeError, match="width"):
        axe.draw(L, (8, 16), width=10)


def test_show_slice_of_a_3d_tensor(capsys):
    assert main(["show", "S[(2,4,4):(1@gpuid,4,1)]", "--shape", "2,4,4", "--index", "1"]) == 0
    out = capsys.readouterr().out
    assert "gpu1" in out and "gpu0" not in out


def test_show_writes_svg_and_png(tmp_path):
    svg, png = tmp_path / "a.svg", tmp_path / "a.png"
    assert main(["show", TC, "--shape", "8,16", "--svg", str(svg)]) == 0
    assert svg.read_text().startswith("<svg")
    pytest.importorskip("matplotlib")
    assert main(["show", TC, "--shape", "8,16", "--png", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_explain_in_plain_words(capsys):
    assert main(["explain", TC]) == 0
    out = capsys.readouterr().out
    assert "canonical  S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp" in out
    assert "size       128 logical elements" in out
    assert "span       lane 32, warp 6, reg 2" in out
    assert "owners     warp (thread axis): values 5, 6, 9, 10" in out
    assert "each (lane, warp) holds 2 elements, stored as S[2:1@reg]" in out
    assert "held 2 times (replicated over warp)" in out
    assert main(["explain", "S[(64,128):(128,1)]"]) == 0
    out = capsys.readouterr().out
    assert "canonical  S[8192:1]" in out and "none: each element has one home" in out and "owners" not in out


@pytest.mark.parametrize("args,needle", [
    (("show", "S[(4,4):(1,]", "--shape", "4,4"), "^"),
    (("explain", "S[(8,2):(4@lane,1@lane) + R[2:4@warp]"), "^"),
    (("show", "S[4:1]", "--shape", "4,x"), "--shape"),
    (("show", "S[4:1]", "--shape", "8"), "size 8"),
    (("show", "S[8:1]", "--shape", "2,2,2", "--index", "5"), "index"),
    (("show", "S[4:1]", "--shape", "2,2", "--svg", "/nonexistent-dir/x.svg"), "cannot write"),
    (("show", "S[262144:1]", "--shape", "512,512"), "65536"),
])
def test_errors_exit_2_without_traceback(args, needle):
    res = run(*args)
    assert res.returncode == 2, res
    assert "Traceback" not in res.stderr and res.stderr.startswith("error: ") and needle in res.stderr


def test_caret_points_at_the_bad_text():
    res = run("explain", "S[(4,4):(1,]")
    lines = res.stderr.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    col = lines[caret].index("^")
    assert lines[caret - 1][col] == "]"  # the stride list ends where a stride was expected


def test_usage_errors_are_argparse_exit_2():
    res = run("show", "S[4:1]")  # --shape missing
    assert res.returncode == 2 and "--shape" in res.stderr and "Traceback" not in res.stderr
    for bad in (("--width", "10"), ("--width", "x"), ("--wide", "--width", "100")):
        res = run("show", "S[4:1]", "--shape", "2,2", *bad)
        assert res.returncode == 2 and "--w" in res.stderr and "Traceback" not in res.stderr


def test_help_documents_the_width():
    res = run("show", "--help")
    assert res.returncode == 0 and "--wide" in res.stdout and "80 columns" in res.stdout
