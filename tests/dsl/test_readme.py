"""The README's python snippets run as written, each on its own; the kernel snippet computes a softmax, the
distributed one a reduce-scatter, and the values the comments of "Beyond the paper" show are the real ones."""

import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parents[2]


def test_readme_kernel_snippet(tmp_path):
    code = re.search(r"### Kernels\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    path = tmp_path / "readme_kernel.py"
    path.write_text(code)
    ns = {"__name__": "readme_kernel", "__file__": str(path)}
    exec(compile(code, str(path), "exec"), ns)
    x = np.random.default_rng(0).standard_normal((8, 1024)).astype(np.float32)
    y = np.zeros_like(x)
    ns["softmax"](x, y, 8)
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-8)


def _snippets() -> dict[str, str]:
    """Each python snippet of the README under the heading above it (numbered when a heading has several)."""
    out, heading, lines = {}, "", (ROOT / "README.md").read_text().splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("#").strip()
        elif lines[i].rstrip() == "```python":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```")
            key = heading if heading not in out else f"{heading} ({sum(k.startswith(heading) for k in out) + 1})"
            out[key] = "".join(lines[i + 1:end])
            i = end
        i += 1
    return out


def _run(name: str, tmp_path) -> dict:
    """Run one snippet alone, from a file (the DSL reads a kernel's source), and return its namespace."""
    code = _snippets()[name]
    path = tmp_path / "readme_snippet.py"
    path.write_text(code)
    ns = {"__name__": "readme_snippet", "__file__": str(path)}
    exec(compile(code, str(path), "exec"), ns)
    return ns


def test_snippets_are_found():
    assert len(_snippets()) >= 4 and any(k.startswith("Beyond the paper") for k in _snippets())


@pytest.mark.parametrize("name", list(_snippets()))
def test_every_python_snippet_runs_as_written(name, tmp_path, capsys):
    _run(name, tmp_path)


def test_beyond_the_paper_shows_the_real_values(tmp_path, capsys):
    name = next(k for k in _snippets() if k.startswith("Beyond the paper"))
    ns = _run(name, tmp_path)
    axe, p, a, b, t = (ns[k] for k in ("axe", "p", "a", "b", "t"))
    assert (str(p.local), p.owns(lane=31, warp=10), p.logical_index(1, lane=31, warp=10)) == ("S[2:1@reg]", True, 127)
    assert [str(x) for x in (axe.compose(a, b), axe.complement(a, 64), axe.logical_divide(a, t))] == [
        "S[8:1]", "S[2:32]", "S[(4,2,2,2):(2,8,1,16)]"]
    assert "w5|9" in capsys.readouterr().out


def test_distributed_snippet_reduce_scatters(tmp_path):
    name = next(k for k in _snippets() if k.startswith("Distributed"))
    ns = _run(name, tmp_path)
    np.testing.assert_allclose(np.concatenate(ns["shards"]), ns["x"].sum(0), rtol=1e-5, atol=1e-5)
