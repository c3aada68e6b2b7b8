#!/usr/bin/env bash
# Run on the lent GPU machine from the repository root (after scripts/gpu-bundle.sh here, carrying .gpu):
#   bash .gpu/gpu-run.sh
# Registers NVIDIA's OpenCL ICD, then writes devices, selftest (every kernel family against the CPU backend,
# before anything is timed), bench, profile, PyTorch reference kernel timings and PyTorch's time for our
# training step (torch_reference.py --step) as JSON into $OUT (or ./gpu-out).
set -uo pipefail
OUT="${OUT:-gpu-out}"; mkdir -p "$OUT"
mkdir -p /tmp/icd && echo /usr/lib/libnvidia-opencl.so.1 > /tmp/icd/nvidia.icd && export OCL_ICD_VENDORS=/tmp/icd
[ -e /usr/lib/libnvidia-opencl.so.1 ] || { f=$(ls /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/local/nvidia/lib64/libnvidia-opencl.so.1 2>/dev/null | head -1); [ -n "$f" ] && echo "$f" > /tmp/icd/nvidia.icd; }
export LD_LIBRARY_PATH="$PWD/.gpu/lib:${LD_LIBRARY_PATH:-}"
B=.gpu/histogan-gpu
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/nvidia-smi.txt"
$B devices --json | tee "$OUT/devices.json"
$B selftest --device opencl --json "$OUT/selftest.json" 2>&1 | tee "$OUT/selftest.txt"
$B bench --device opencl --seconds 1 --json "$OUT/bench-opencl.json" 2>&1 | tee "$OUT/bench-opencl.txt"
$B profile --device opencl --resolution 256 --capacity 1 --batch 4 --steps 3 --plain-steps 16 --json "$OUT/profile-256.json" 2>&1 | tee "$OUT/profile-256.txt"
python3 .gpu/torch_reference.py --json "$OUT/torch.json" 2>&1 | tee "$OUT/torch.txt"
# Our full training step in PyTorch (same network, regularisers, batch; fp32, TF32 off): mean over one 16-step period.
python3 .gpu/torch_reference.py --step --device cuda --resolution 256 --capacity 1 --batch 4 --json "$OUT/torch-step.json" 2>&1 | tee "$OUT/torch-step.txt"
