"""python -m axe show / explain: output, files, and errors (message, caret, exit code 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from axe.cli import main

TC = "S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp"


def run(*args):
    return subprocess.run([sys.executable, "-m", "axe", *args], capture_output=True, text=True, timeout=120)


def test_show_prints_the_table(capsys):
    assert main(["show", "S[(2,4,2,4):(1@gpuid,4,2@gpuid,1)]", "--shape", "8,8"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split()[:5] == ["0", "gpu0", "m0", "gpu0", "m1"]
    assert rows[5].split()[-2:] == ["gpu3", "m3"]  # row 4, col 7 -> device 1 + 2, local 4*0 + 3


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
