"""The README's kernel snippet runs and computes a softmax."""

import pathlib
import re

import numpy as np

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
