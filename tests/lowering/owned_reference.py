import numpy as np, axe, operator
from dsl import ir
from lowering.owned import owned
from lowering.operands import thread_axes
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv, "%": operator.mod,
       "<": operator.lt, "==": operator.eq, ">=": operator.ge}
def ev(e, env):
    if isinstance(e, ir.Const): return e.value
    if isinstance(e, ir.ThreadIdx): return env[e.kind]
    if isinstance(e, (ir.BinOp, ir.Cmp)): return OPS[e.op](ev(e.a, env), ev(e.b, env))
    if isinstance(e, ir.Logic): return ev(e.a, env) and ev(e.b, env)
    raise TypeError(e)
def check(text, shape, T):
    L = axe.Layout.parse(text)
    axes = thread_axes(L)
    env = {a: ir.ThreadIdx(a) for a in axes}
    ext = {"lane": 32, "warp": T//32, "tx": T, "warpgroup": max(1, T//128)}
    owns, slots = owned(L, shape, env, {a: ext[a] for a in axes})
    for t in range(T):
        tc = {"tx": t, "lane": t % 32, "warp": t // 32, "warpgroup": t // 128}
        want = {}
        for x in range(L.size):
            for c in L.apply(x):
                if all(c.get(a, 0) == tc[a] for a in axes):
                    want[c.get("reg", 0)] = tuple(int(v) for v in np.unravel_index(x, shape))
        got = {}
        if ev(owns, tc):
            for reg, coords in slots:
                got[reg] = tuple(ev(c, tc) for c in coords)
        assert want == got, (text, t, want, got)
cases = [("S[(4,8,32):(1@warp,1@reg,1@lane)]", (4,256), 128),
         ("S[(2,8,2,4,2):(2@reg,4@lane,4@reg,1@lane,1@reg)]", (16,16), 32),
         ("S[(4,1):(1@warp,1@reg)] + R[32:1@lane]", (4,1), 128),
         ("S[(16,8,8):(8@tx,1@tx,1@reg)]", (16,64), 128),
         ("S[(2,8):(1@lane,1@reg)] + 3@lane", (2,8), 32),
         ("S[(2,8):(-1@lane,1@reg)] + 3@lane", (2,8), 32),
         ("S[(4,4):(8@lane,1@reg)] + R[2:1@lane]", (4,4), 32),
         ("S[(2,2,2,8,2,4,4,2):(2@warp,16@reg,2@reg,4@lane,1@warp,4@reg,1@lane,1@reg)]", (64,64), 128)]
if __name__ == "__main__":
    for c in cases: check(*c)
    print("owned() agrees with apply on all threads")
