"""A tour of the Axe layout algebra: the paper's layouts and where each element lives.

Run: python examples/layouts_tour.py
"""

from __future__ import annotations

import axe


def show(title: str, text: str, shape: tuple, probes: list) -> axe.Layout:
    layout = axe.Layout.parse(text)
    print(f"\n== {title}")
    print(f"   layout     {layout}")
    print(f"   canonical  {layout.canonicalize()}")
    print(f"   size {layout.size}, span {layout.span()}")
    for coord in probes:
        places = sorted(layout.apply(*coord, shape=shape), key=lambda c: sorted(c.items()))
        shown = "  |  ".join(" ".join(f"{k}={v}" for k, v in c.items()) for c in places)
        print(f"   {str(coord):>10} -> {shown}")
    return layout


def main() -> None:
    print("Axe layouts: L(x) = { D(x) + r + O : r in R }")
    show("NVIDIA tensor-core tile (8x16 on 2 warps x 32 lanes x 2 regs, replicated twice, offset 5 warps)",
         "S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp",
         (8, 16), [(0, 0), (0, 8), (7, 15)])
    show("64x128 tensor on a 2x2 GPU mesh, fully sharded (S0S1)",
         "S[(2,32,2,64):(1@gpuid,128,2@gpuid,1)]", (64, 128), [(0, 0), (32, 0), (0, 64), (63, 127)])
    show("64x128 tensor on a 2x2 GPU mesh, rows sharded, replicated across mesh columns (S0R)",
         "S[(2,32,128):(1@gpuid,128,1)] + R[2:2@gpuid]", (64, 128), [(0, 0), (40, 5)])
    show("Trainium SBUF: 256x512 tensor over 128 partitions",
         "S[(2,128,512):(512@F,1@P,1@F)]", (256, 512), [(0, 0), (130, 7), (255, 511)])

    print("\n== Operations")
    outer, inner = axe.Layout.parse("S[(2,3):(3,1)]"), axe.Layout.parse("S[(8,8):(8,1)]")
    tiled = axe.tile(outer, inner, (2, 3), (8, 8))
    print(f"   tile({outer}, {inner})           = {tiled}")
    print(f"   tile_of(tiled, inner)                        = {axe.tile_of(tiled, inner, (16, 24), (8, 8))}")
    print(f"   tiled.slice((16,24), [(0,8),(8,24)])        = {tiled.slice((16, 24), [(0, 8), (8, 24)])}")
    grouped, seps = axe.Layout.parse("S[32:1]").group((4, 8))
    print(f"   S[32:1].group((4,8))                         = {grouped}, separators {seps}")
    a, b = axe.Layout.parse("S[(2,2):(8,2)]"), axe.Layout.parse("S[(2,2):(4,1)]")
    print(f"   direct_sum({a}, {b}).canonicalize() = {axe.direct_sum(a, b, (2, 2), (2, 2)).canonicalize()}")
    n = axe.symbol("n")
    sym = axe.Layout.parse("S[(n,4):(4,1)]")
    print(f"   symbolic {sym}: size {sym.size}, last element -> {dict(sym.apply_base(n - 1, 3, shape=(n, 4)))}")

    print("\n== Hardware presets (axe.presets)")
    from axe.presets import nvidia, trainium

    print(f"   mma.sync m16n8k16 A      {nvidia.mma_m16n8k16('A')}")
    print(f"   mma.sync m16n8k16 C      {nvidia.mma_m16n8k16('C')}")
    print(f"   ldmatrix x4              {nvidia.ldmatrix(4)}")
    print(f"   wgmma m64n128 acc        {nvidia.wgmma_accumulator(128)}")
    print(f"   TMA smem tile 64x64 f16  {nvidia.tma_smem_tile(64, 64)}")
    print(f"   Trainium SBUF 256x512    {trainium.sbuf((256, 512))}")
    print(f"   wgmma A from registers   {nvidia.wgmma_a_fragment('bf16')}")
    print(f"   tcgen05.ld 16x256b.x2    {nvidia.tcgen05_ld('16x256b', 2)}")
    print(f"   tcgen05 M=64 accumulator {nvidia.tmem_accumulator(64, 128)}")
    print(f"   Trainium matmul moving   {trainium.matmul(128, 128, 512)['moving']}")
    print("   the m16n8k16 C fragment (16x8): who holds each element")
    for line in axe.draw(nvidia.mma_m16n8k16("C"), (16, 8)).splitlines()[:5]:
        print(f"     {line}")

    print("\n== A device mesh: 8x8 tensor on Mesh(x=2, y=2), rows sharded over x, replicated over y")
    mesh = axe.Mesh(x=2, y=2)
    L = axe.shard((8, 8), mesh, ("x", None))
    print(f"   shard((8,8), {mesh}, ('x', None)) = {L}")
    print(f"   as gpuid                      = {mesh.to_gpuid(L)}")
    for line in axe.draw(L, (8, 8)).splitlines()[:4]:
        print(f"     {line}")
    p = L.partition(("x", "y"))
    rows = sorted({p.logical_index(k, x=1, y=0) // 8 for k in range(p.num_local)})
    print(f"   device (x=1, y=0) holds logical rows {rows}, stored as {p.local}")

    print("\n== PartitionSpecs on Mesh(dp=2, tp=4): spec -> layout -> spec, and where an element lives")
    mesh = axe.Mesh(dp=2, tp=4)
    for spec in [("dp", "tp"), (("dp", "tp"), None), (None, "tp"), ("tp", "dp")]:
        L = axe.shard((8, 16), mesh, spec)
        (home, *_) = sorted(mesh.device_of(c) for c in L.apply(5, 9, shape=(8, 16)))
        print(f"   {str(spec):<22} {str(L):<44} to_spec {axe.to_spec(L, mesh)}  (5,9) on rank {home}")
    try:
        axe.shard((6, 16), mesh, ("tp", None))
    except axe.AxeError as e:
        print(f"   uneven: {e}")


if __name__ == "__main__":
    main()
