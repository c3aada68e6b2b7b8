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
# The carried tree is limited to 64 MiB in all (working tree included): strip, then gzip (62 → 24 MB, most of it
# ICU data); gpu-run.sh unpacks it.
strip .gpu/histogan-gpu
gzip -9 .gpu/histogan-gpu
for lib in libOpenCL.so.1 libpng16.so.16 libturbojpeg.so.0 libz.so.1; do
    # awk reads all of ldconfig's output (an early exit could kill ldconfig by SIGPIPE, which pipefail and -e
    # turn into an abort of this script).
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !found { print $NF; found = 1 }')
    [ -n "$path" ] && cp -L "$path" .gpu/lib/
done
cp scripts/gpu-run.sh scripts/torch_reference.py scripts/gpu_summary.py .gpu/
ls -la .gpu .gpu/lib
