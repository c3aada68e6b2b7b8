#!/usr/bin/env bash
# Run on the lent GPU machine from the repository root (after scripts/gpu-bundle.sh here, carrying .gpu):
#   bash .gpu/gpu-run.sh
# Registers NVIDIA's OpenCL ICD, then runs, each under its own time limit (a hang costs that stage only):
#   devices; selftest (every kernel family against the CPU backend, before anything is timed; with --tf32 also the
#   TF32 GEMMs); bench; PyTorch's kernel timings and its time for our training step (torch_reference.py); profile at
#   256 px; bench's conv rows by the direct kernels (the Winograd gain) and by Winograd F(2x2, 3x3) (F(4x4)'s gain);
#   bench's GEMM and conv rows with --tf32 (reported apart); its GEMM/conv rows single-buffered (the double-buffering
#   gain). On NVIDIA every build logs
#   ptxas' registers and spills (-cl-nv-verbose), summarised under "ptxas". The limits add up to 570 s;
#   the summary and the tarball are rewritten after every stage, so a cut-short call still returns what ran.
# Writes three files to $OUT (the device tool brings back at most 8): summary.json (scripts/gpu_summary.py:
# the ratios of docs/gpu/summary.json), gpu-run.log (everything printed) and gpu-run.tar.gz (every raw file).
#
# Rehearsal on a machine without a GPU (checks the plumbing, not the numbers):
#   GPU_RUN_DEVICE=opencl TORCH_DEVICE=cpu GPU_RUN_QUICK=1 OUT=/tmp/gpu-out bash scripts/gpu-run.sh
set -uo pipefail
OUT="${OUT:-gpu-out}"; mkdir -p "$OUT"
DEVICE="${GPU_RUN_DEVICE:-opencl}"; TORCH_DEVICE="${TORCH_DEVICE:-cuda}"; QUICK="${GPU_RUN_QUICK:-0}"
HERE="$(cd "$(dirname "$0")" && pwd)"
B="${HISTOGAN_BIN:-$HERE/histogan-gpu}"
# gpu-bundle.sh carries the binary gzip'd (62 MB → 24 MB: the carried tree is limited to 64 MiB in all).
if [ ! -x "$B" ] && [ -f "$HERE/histogan-gpu.gz" ]; then
    B="$(mktemp -d)/histogan-gpu" && gunzip -c "$HERE/histogan-gpu.gz" > "$B" && chmod +x "$B"
fi
[ -x "$B" ] || B="$(cd "$HERE/.." && pwd)/.build/release/histogan-gpu"
RUN="$(mktemp -d)"; LOG="$OUT/gpu-run.log"; : > "$LOG"
START=$(date +%s)

# NVIDIA's OpenCL driver: the first libnvidia-opencl.so.1 found, registered through a private ICD directory.
if [ "$TORCH_DEVICE" = cuda ]; then
    icd=$(ls /usr/lib/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 \
             /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/local/nvidia/lib/libnvidia-opencl.so.1 2>/dev/null | head -1)
    [ -n "$icd" ] || icd=$(find /usr /usr/local/nvidia /opt -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
    mkdir -p /tmp/icd && echo "${icd:-libnvidia-opencl.so.1}" > /tmp/icd/nvidia.icd && export OCL_ICD_VENDORS=/tmp/icd
    echo "NVIDIA OpenCL driver: ${icd:-not found, trying the default search path}" | tee -a "$LOG"
fi
[ -d "$HERE/lib" ] && export LD_LIBRARY_PATH="$HERE/lib:${LD_LIBRARY_PATH:-}"

# stage NAME SECONDS COMMAND...: runs COMMAND under `timeout`, output to $RUN/NAME.txt and the log.
stage() {
    local name=$1 limit=$2; shift 2
    local t0=$(date +%s)
    echo "=== $name (limit ${limit}s, at +$((t0 - START))s): $*" | tee -a "$LOG"
    timeout --kill-after=5 "$limit" "$@" > "$RUN/$name.txt" 2>&1
    local rc=$?
    cat "$RUN/$name.txt" >> "$LOG"; tail -n 5 "$RUN/$name.txt"
    echo "=== $name: exit $rc after $(( $(date +%s) - t0 ))s" | tee -a "$LOG"
    snapshot
}

# The summary and the raw files so far, rewritten after every stage: if the device call is cut short, what ran
# still comes back.
snapshot() {
    python3 "$HERE/gpu_summary.py" "$RUN" > "$OUT/summary.json" 2>> "$RUN/summary-errors.txt"
    tar -czf "$OUT/gpu-run.tar.gz" -C "$RUN" .
}

if [ "$QUICK" = 1 ]; then
    BENCH=(--quick --seconds 0.2); PROFILE=(--resolution 32 --capacity 0.25 --batch 4 --steps 1 --plain-steps 4)
    STEP=(--resolution 32 --capacity 0.25 --batch 4 --steps 20)
else
    BENCH=(--seconds 1); PROFILE=(--resolution 256 --capacity 1 --batch 4 --steps 2 --plain-steps 16)
    STEP=(--resolution 256 --capacity 1 --batch 4 --steps 20)
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$RUN/nvidia-smi.txt" 2>&1
stage devices 20 "$B" devices --json
sed -n '/^\[/,$p' "$RUN/devices.txt" > "$RUN/devices.json"
snapshot
# On NVIDIA: every program's build log, with ptxas' registers, stack frame and spills per kernel (-cl-nv-verbose),
# into each stage's output; the same options in every stage, so the kernel cache still serves the later ones.
if [ "$TORCH_DEVICE" = cuda ] && grep -qi nvidia "$RUN/devices.txt"; then
    export HISTOGAN_CL_OPTIONS="-cl-nv-verbose" HISTOGAN_CL_BUILD_LOG=1
fi
stage selftest 110 "$B" selftest --device "$DEVICE" --tf32 --json "$RUN/selftest.json"
stage bench 100 "$B" bench --device "$DEVICE" "${BENCH[@]}" --json "$RUN/bench-opencl.json"
stage torch 55 python3 "$HERE/torch_reference.py" --device "$TORCH_DEVICE" --json "$RUN/torch.json"
# Our full training step in PyTorch (same network, regularisers, batch; fp32, TF32 off): mean over one 16-step period.
stage torch-step 60 python3 "$HERE/torch_reference.py" --step --device "$TORCH_DEVICE" "${STEP[@]}" --json "$RUN/torch-step.json"
stage profile 130 "$B" profile --device "$DEVICE" "${PROFILE[@]}" --json "$RUN/profile-256.json"
# The conv rows by the direct kernels (bench's default runs the wide 3x3 layers by Winograd, the stride-2 rows by
# F(4x4, 2x2) over their phases): does Winograd pay here?
stage bench-direct 25 env HISTOGAN_CONV_ALGORITHM=direct "$B" bench --device "$DEVICE" "${BENCH[@]}" --only modconv,conv3x3 \
    --json "$RUN/bench-direct.json"
# The same rows by Winograd F(2x2, 3x3) (the default runs these 64x64-and-larger layers by F(4x4, 3x3)): which pays here?
stage bench-f2x2 20 env HISTOGAN_CONV_ALGORITHM=winograd "$B" bench --device "$DEVICE" "${BENCH[@]}" --only "modconv,conv3x3 grad" \
    --json "$RUN/bench-f2x2.json"
# Opt-in TF32 (reported apart): the GEMM rows and the Winograd convs' GEMMs on the tensor cores (inline-PTX mma.sync).
stage bench-tf32 25 "$B" bench --device "$DEVICE" --tf32 "${BENCH[@]}" --only "gemm,modconv,conv3x3 grad" --json "$RUN/bench-tf32.json"
# Last (the least needed): the GEMM and direct conv rows single-buffered. Does the default double buffering pay here?
stage bench-single 25 env HISTOGAN_TILE_STAGING=single HISTOGAN_CONV_ALGORITHM=direct "$B" bench --device "$DEVICE" "${BENCH[@]}" \
    --only "gemm,modconv,conv3x3 grad" --json "$RUN/bench-single.json"

cat "$OUT/summary.json" | tee -a "$LOG"
echo "done in $(( $(date +%s) - START ))s; $OUT: summary.json gpu-run.log gpu-run.tar.gz" | tee -a "$LOG"
