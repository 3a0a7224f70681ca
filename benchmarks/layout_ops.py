"""Median latency of the layout operations, side by side with TIRx (the Axe authors' release).

Run: python benchmarks/layout_ops.py   (TIRx columns appear when apache-tvm-tirx is installed)
Prints one row per op: our median, TIRx's median and the ratio ours/TIRx (target <= 1.0).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import axe  # noqa: E402

TC_TEXT = "S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp"


def median_us(fn, repeat: int = 2000) -> float:
    for _ in range(50):
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples) / 1000


def ours() -> dict:
    from axe import R, S, lane, reg, warp

    L = axe.Layout.parse(TC_TEXT)
    T = axe.Layout.parse("S[(2,8,3,8):(192,8,64,1)]")
    A, B = axe.Layout.parse("S[(2,3):(3,1)]"), axe.Layout.parse("S[(8,8):(8,1)]")
    M = axe.Layout.parse("S[(4,8,16):(128,16,1)]")
    texts = [TC_TEXT.replace("5@warp", f"{k}@warp") for k in range(1, 2000)]
    it = iter(texts * 10)

    from axe.layout import _SET_CANON

    def canonicalize_uncached():  # the result is cached per instance: clear the cache each time
        _SET_CANON(M, None)
        return M.canonicalize()

    return {
        "construct": median_us(lambda: S[(8, 2, 4, 2):(4 @ lane, 1 @ warp, 1 @ lane, 1 @ reg)]
                               + R[2:4 @ warp] + 5 @ warp),
        "parse (uncached)": median_us(lambda: axe.parser.parse_layout.__wrapped__(next(it)), repeat=500),
        "apply": median_us(lambda: L.apply(77)),
        "canonicalize": median_us(canonicalize_uncached),
        "group": median_us(lambda: axe.Layout.parse("S[512:1]").group((4, 8, 16))),
        "tile": median_us(lambda: axe.tile(A, B, (2, 3), (8, 8))),
        "slice": median_us(lambda: T.slice((16, 24), [(0, 8), (8, 24)])),
    }


TIRX_SCRIPT = r'''
import json, statistics, time
from tvm_tirx.script import tirx as T
ax = T.Axis.get
def median_us(fn, repeat=2000):
    for _ in range(50): fn()
    s = []
    for _ in range(repeat):
        t = time.perf_counter_ns(); fn(); s.append(time.perf_counter_ns() - t)
    return statistics.median(s) / 1000
L = T.TileLayout(T.S[(8,2,4,2):(4@ax("laneid"),1@ax("warpid"),1@ax("laneid"),1)] + T.R[2:4@ax("warpid")]
                 + 5@ax("warpid"))
M = T.TileLayout(T.S[(4,8,16):(128,16,1)])
A, B = T.TileLayout(T.S[(2,3):(3,1)]), T.TileLayout(T.S[(8,8):(8,1)])
out = {
  "construct": median_us(lambda: T.TileLayout(T.S[(8,2,4,2):(4@ax("laneid"),1@ax("warpid"),1@ax("laneid"),1)]
                                              + T.R[2:4@ax("warpid")] + 5@ax("warpid"))),
  "apply": median_us(lambda: L.apply(77)),
  "canonicalize": median_us(lambda: M.canonicalize()),
  "group": median_us(lambda: T.TileLayout(T.S[512]).group([4, 8, 16])),
  "tile": median_us(lambda: B.tile(A, [2, 3], [8, 8])),
}
print(json.dumps(out))
'''


def tirx() -> dict:
    try:
        import tvm_tirx  # noqa: F401
    except ImportError:
        return {}
    import json

    res = subprocess.run([sys.executable, "-c", TIRX_SCRIPT], capture_output=True, text=True, timeout=600)
    if res.returncode:
        print("TIRx benchmark failed:", res.stderr.strip().splitlines()[-1:], file=sys.stderr)
        return {}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    a, b = ours(), tirx()
    print(f"{'op':<18}{'axe (us)':>10}{'TIRx (us)':>11}{'ratio':>8}")
    for op, v in a.items():
        t = b.get(op)
        tv = f"{t:11.2f}" if t else f"{'-':>11}"
        ratio = f"{v / t:8.2f}" if t else f"{'-':>8}"
        print(f"{op:<18}{v:10.2f}{tv}{ratio}")


if __name__ == "__main__":
    main()
