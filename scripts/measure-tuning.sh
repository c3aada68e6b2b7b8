#!/bin/bash
# Side-by-side PoCL measurement of the tuning table (docs/benchmarks.md, "Tuning table"): tune the 32 px
# demo network, then profile it twice without and twice with the table, all on one kernel cache.
# Usage: bash scripts/measure-tuning.sh [bin-dir]   (default: .build/release)
set -e
B=${1:-.build/release}
export HISTOGAN_KERNEL_CACHE=${HISTOGAN_KERNEL_CACHE:-/tmp/histogan-tuning-cache}
mkdir -p "$HISTOGAN_KERNEL_CACHE"
rm -f "$HISTOGAN_KERNEL_CACHE"/tuning-*.json
echo "=== tune"; time "$B/histogan-gpu" tune --device opencl --resolution 32 --capacity 0.25 --batch 4
for run in 1 2; do
    echo "=== profile without table ($run)"
    HISTOGAN_TUNING=off "$B/histogan-gpu" profile --device opencl --resolution 32 --plain-steps 4 --steps 1
    echo "=== profile with table ($run)"
    "$B/histogan-gpu" profile --device opencl --resolution 32 --plain-steps 4 --steps 1
done
