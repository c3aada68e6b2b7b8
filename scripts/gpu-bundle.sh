#!/usr/bin/env bash
# Build a self-contained histogan-gpu for a lent GPU machine (DESIGN.md §10): static Swift stdlib, plus the
# shared libraries the binary links that such a machine may lack, copied into .gpu/ (git-ignored; pass
# `carry: [".gpu"]` to the device tool). Then run scripts/gpu-run.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --static-swift-stdlib --scratch-path .build-gpu --product histogan-gpu
rm -rf .gpu && mkdir -p .gpu/lib
cp .build-gpu/release/histogan-gpu .gpu/
strip .gpu/histogan-gpu   # the carried tree is limited to 64 MiB
for lib in libOpenCL.so.1 libpng16.so.16 libturbojpeg.so.0 libz.so.1; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
    [ -n "$path" ] && cp -L "$path" .gpu/lib/
done
cp scripts/gpu-run.sh scripts/torch_reference.py scripts/gpu_summary.py .gpu/
ls -la .gpu .gpu/lib
