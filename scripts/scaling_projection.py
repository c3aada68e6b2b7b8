#!/usr/bin/env python3
"""Projected data-parallel step time and scaling efficiency (docs/scaling.md), from the bytes per step that
`histogan-gpu bench-allreduce --json` measured for the real networks and the bandwidths given as flags.

Model (our implementation: the all-reduce starts after the backward pass, nothing overlaps):
  T_step(N)  = T_compute + T_d2h + T_allreduce + T_h2d
  T_d2h      = T_h2d = S / B_pcie                          (each GPU copies over its own PCIe link)
  T_allreduce = 2 (P - 1) / P * S / B                       (ring all-reduce; B = the slowest link of the ring)
  efficiency = T_compute / T_step                           (weak scaling: fixed micro-batch per GPU)
One node: B = B_shm (Open MPI shared memory between the ranks). Several nodes with ranks node-contiguous: each
node has one ring edge leaving it, so the NIC carries 2 (P - 1) / P * S and B = B_nic.
"""
import argparse
import json

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("json", help="output of histogan-gpu bench-allreduce --json")
p.add_argument("--compute-ms", type=float, default=149.0,
               help="compute time of one step on one GPU at the 256 px size (default: ANCHORS.md, official HistoGAN, H100, batch 4)")
p.add_argument("--pcie-gbs", type=float, default=12.0, help="device<->host copy bandwidth, GB/s (pageable host memory)")
p.add_argument("--shm-gbs", type=float, default=8.0, help="ring bus bandwidth of a shared-memory all-reduce inside one node, GB/s")
args = p.parse_args()

results = json.load(open(args.json))
cases = [("8 GPUs, 1 node", 8, args.shm_gbs)]
for nodes, per_node in [(4, 1), (4, 8)]:
    for gbit in (25, 100):
        cases.append((f"{nodes} nodes x {per_node} GPU, {gbit} Gbit/s", nodes * per_node, gbit / 8))

print("| network | parameters | MB per step (S) | " + " | ".join(c[0] for c in cases) + " |")
print("| --- | ---: | ---: | " + " | ".join("---:" for _ in cases) + " |")
for r in results:
    s = r["bytes"] / 1e9  # GB
    pcie = 2 * s / args.pcie_gbs
    cells = []
    for _, ranks, bw in cases:
        ring = 2 * (ranks - 1) / ranks * s / bw
        cells.append(f"{(pcie + ring) * 1e3:.0f} ms")
    print(f"| {r['network']} | {r['parameters']:,} | {r['bytes'] / 1e6:.1f} | " + " | ".join(cells) + " |")

big = next(r for r in results if r["network"].startswith("256px"))
s = big["bytes"] / 1e9
print()
print(f"256 px, T_compute = {args.compute_ms:.0f} ms per step per GPU, S = {big['bytes'] / 1e6:.1f} MB, "
      f"PCIe {args.pcie_gbs} GB/s, shared memory {args.shm_gbs} GB/s:")
print()
print("| setting | P | T_d2h + T_h2d | T_allreduce | T_step | images/s (batch 4 per GPU) | efficiency |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, ranks, bw in [("1 GPU", 1, args.shm_gbs)] + cases:
    pcie = 0 if ranks == 1 else 2 * s / args.pcie_gbs
    ring = 0 if ranks == 1 else 2 * (ranks - 1) / ranks * s / bw
    step = args.compute_ms / 1e3 + pcie + ring
    print(f"| {name} | {ranks} | {pcie * 1e3:.1f} ms | {ring * 1e3:.1f} ms = 2·{ranks - 1}/{ranks}·{s * 1e3:.0f} MB / {bw:g} GB/s "
          f"| {step * 1e3:.0f} ms | {4 * ranks / step:.0f} | {args.compute_ms / 1e3 / step * 100:.0f}% |")
