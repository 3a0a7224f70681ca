"""What a schedule knows while it lowers one operator: the kernel (launch geometry, parameters), the
lowering target ("cpu": generic thread-level IR; "cuda": CUDA intrinsics too), and facts about integer
values (known divisors of loop variables and of scalar parameters the kernel was specialised on, as
Triton specialises on divisibility by 16).

>>> from lowering import ir
>>> ctx = LowerContext(ir.Kernel("k", (), (1,), 64, ()), "cuda", {"k0": 32})
>>> ctx.threads, ctx.divisor(ir.BinOp("+", ir.Var("k0", "i32"), ir.Const(8, "i32")))
(64, 8)
"""

from __future__ import annotations

import math

from lowering import ir


class LowerContext:
    """Attribute access falls through to the kernel (``threads``, ``cluster``, ``grid``, ``params``...)."""

    def __init__(self, kernel: ir.Kernel, target: str, facts: dict | None = None, assign_counts=None,
                 arch: str | None = None):
        self.kernel = kernel
        self.target = target
        self.facts = dict(facts or {})
        self.assign_counts = assign_counts or {}
        self.arch = arch  # CUDA target, e.g. "sm_80", "sm_90a" (None: any)

    def arch_at_least(self, major: int, suffix: str = "") -> bool:
        """Whether the target is sm_<major>x or newer (and has the arch-specific ``suffix``, e.g. ``"a"``)."""
        if not self.arch or not self.arch.startswith("sm_"):
            return False
        num = self.arch[3:].rstrip("af")
        return int(num) // 10 >= major and (not suffix or self.arch.endswith(suffix))

    def __getattr__(self, name):
        return getattr(self.kernel, name)

    def with_fact(self, var: str, divisor: int | None) -> LowerContext:
        facts = dict(self.facts)
        if divisor:
            facts[var] = divisor
        else:
            facts.pop(var, None)
        return LowerContext(self.kernel, self.target, facts, self.assign_counts, self.arch)

    def divisor(self, e) -> int:
        """A positive integer known to divide ``e`` for every thread (0 stands for the value 0)."""
        if isinstance(e, int):
            return abs(e)
        if isinstance(e, ir.Const) and isinstance(e.value, int) and not isinstance(e.value, bool):
            return abs(e.value)
        if isinstance(e, ir.Var):
            return self.facts.get(e.name, 1)
        if isinstance(e, ir.BinOp):
            a, b = self.divisor(e.a), self.divisor(e.b)
            if e.op in ("+", "-"):
                return math.gcd(a, b)
            if e.op == "*":
                return a * b if a and b else 0
            if e.op == "<<" and isinstance(e.b, ir.Const):
                return a << e.b.value
        return 1

    def multiple_of(self, e, v: int) -> bool:
        d = self.divisor(e)
        return d == 0 or d % v == 0
