"""Median latency of ownership and CuTe-style operations, side by side with pycute (nvidia-cutlass 4.2.0.0).

Run: python benchmarks/cute_ops.py   Ratio = ours / pycute (target <= 1.0); '-' where pycute has no such op.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from layout_ops import median_us  # noqa: E402

import axe  # noqa: E402
from axe import cute  # noqa: E402


def main() -> None:
    try:
        import pycute
    except ImportError:
        pycute = None
    A = cute.from_cute((4, 8, 2), (16, 1, 8))
    B = cute.from_cute((2, 4), (1, 8))
    T = cute.from_cute(4, 1)
    tc = axe.Layout.parse("S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp")
    rows = {
        "partition": (lambda: axe.Layout._make(tc.shard, tc.replica, tc.offset).partition(("lane", "warp")), None),
        "owned_by": (lambda: tc.owned_by(lane=7, warp=6), None),
        "coalesce": (lambda: cute.coalesce(A), "coalesce(pA)"),
        "complement": (lambda: cute.complement(B, 64), "complement(pB, 64)"),
        "compose": (lambda: cute.compose(A, B), "composition(pA, pB)"),
        "right_inverse": (lambda: cute.right_inverse(A), "right_inverse(pA)"),
        "logical_divide": (lambda: cute.logical_divide(A, T), "logical_divide(pA, pT)"),
        "logical_product": (lambda: cute.logical_product(B, T), "logical_product(pB, pT)"),
    }
    env = {}
    if pycute is not None:
        env = dict(vars(pycute), pA=pycute.Layout((4, 8, 2), (16, 1, 8)), pB=pycute.Layout((2, 4), (1, 8)),
                   pT=pycute.Layout(4, 1))
    print(f"{'op':<18}{'axe (us)':>10}{'pycute (us)':>13}{'ratio':>8}")
    for op, (fn, theirs) in rows.items():
        ours = median_us(fn, repeat=1000)
        t = median_us(eval(f"lambda: {theirs}", env), repeat=1000) if (theirs and pycute) else None
        print(f"{op:<18}{ours:10.2f}" + (f"{t:13.2f}{ours / t:8.2f}" if t else f"{'-':>13}{'-':>8}"))


if __name__ == "__main__":
    main()
