"""``--explain``: dispatch's candidates per operator, in priority order, with their verdicts; priorities are
explicit, so a user's schedule is tried first whatever the import order."""

from __future__ import annotations

import re
from pathlib import Path

import dsl
from dsl.cli import main
from tests.kernel_source import kernel_from_source

EXAMPLES = Path(__file__).parents[2] / "examples"


def _priorities(text: str) -> list:
    blocks, cur = [], None
    for line in text.splitlines():
        m = re.match(r"  (\w+) \(priority (-?\d+)\): (.*)", line)
        if m:
            cur.append((m.group(1), int(m.group(2)), m.group(3)))
        elif re.match(r".*:\d+: \w+ at scope", line):
            cur = []
            blocks.append(cur)
    return blocks


def test_explain_lists_schedules_in_priority_order_and_marks_the_pick(capsys):
    assert main(["compile", str(EXAMPLES / "softmax.py"), "--explain", "--target", "cuda"]) == 0
    blocks = _priorities(capsys.readouterr().out)
    assert len(blocks) == 6                                   # softmax's six operators
    for block in blocks:
        prios = [p for _, p, _ in block]
        assert prios == sorted(prios, reverse=True)
        assert sum(v == "picked" for _, _, v in block) == 1
    first_copy = {n: v for n, _, v in blocks[0]}
    assert first_copy["copy_registers_vectorized"] == "picked" and first_copy["copy_tma"].startswith("the destination")


def test_a_users_schedule_is_tried_first_and_explained(tmp_path):
    k, _ = kernel_from_source(tmp_path, """
    @dsl.kernel(grid=(1,), threads=32)
    def k(a: dsl.Tensor[(32,), dsl.f32]):
        dsl.fill(a, 1.0)
    """)

    @dsl.schedule("fill", scope="cta", target="cpu", name="user_fill_explained", when=lambda op: "not today")
    def _never(op, ctx):
        return ()

    lines = k.explain().splitlines()
    assert lines[1] == "  user_fill_explained (priority 100): not today"
    assert "fill_strided (priority 10): picked" in lines[3]
