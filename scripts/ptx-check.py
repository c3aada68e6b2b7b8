#!/usr/bin/env python3
"""Compile every OpenCL program variant the engine built with a second compiler, clang's NVPTX backend, and
report what an NVIDIA-like compiler makes of it: build errors, and bytes of per-thread local memory (the
`__local_depot` of a kernel: private arrays and spills, which live in DRAM on NVIDIA, so an accumulator array
kept there turns every FMA into a memory access).

Usage:
    HISTOGAN_CL_DUMP_SOURCES=/tmp/cl-dump histogan-gpu selftest --device opencl     # and any other command
    python3 scripts/ptx-check.py /tmp/cl-dump [--clang clang-16] [--arch sm_90] [--json out.json]

Each dumped file starts with `// options: …` (the build options); `-D TF32_EMULATE` becomes `-D TF32_MMA`, so
the TF32 variants compile their `mma.sync` inline PTX, and `-D ALWAYS_INLINE` is added, as the engine does for a GPU. Exit status 1 when a variant fails to compile or keeps a depot.
This is a proxy: NVIDIA's driver compiles with its own front end and NVVM, so a clean report here is not a
measurement on NVIDIA, but a depot here means the kernel relies on the driver's inliner to keep its arrays in
registers. Needs a clang built with the NVPTX target (Debian's clang-16 is).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def compile_variant(clang, arch, path):
    with open(path) as f:
        first = f.readline()
    options = first.removeprefix("// options:").strip().split()
    options = [o for o in options if o != "-cl-std=CL1.2"]
    # "-D NAME" pairs: keep them together; TF32_EMULATE becomes TF32_MMA (on NVIDIA the real instruction runs).
    args, i = ["-D", "ALWAYS_INLINE"], 0   # as the host builds for a GPU (a CPU device's dump lacks it)
    while i < len(options):
        if options[i] == "-D" and i + 1 < len(options):
            if options[i + 1] != "ALWAYS_INLINE":
                args += ["-D", "TF32_MMA" if options[i + 1] == "TF32_EMULATE" else options[i + 1]]
            i += 2
        else:
            if options[i] not in ("-cl-opt-disable",):
                args.append(options[i])
            i += 1
    with tempfile.NamedTemporaryFile(suffix=".ptx", delete=False) as out:
        ptx_path = out.name
    cmd = [clang, "-x", "cl", "-cl-std=CL1.2", "-Xclang", "-finclude-default-header", "-O3",
           "-target", "nvptx64-nvidia-nvcl", f"-march={arch}", "-S", "-o", ptx_path] + args + [path]
    run = subprocess.run(cmd, capture_output=True, text=True)
    result = {"file": os.path.basename(path), "options": " ".join(options), "ok": run.returncode == 0}
    if run.returncode != 0:
        result["error"] = run.stderr.strip().splitlines()[:6]
    else:
        ptx = open(ptx_path).read()
        depots = {}
        kernel = None
        for line in ptx.splitlines():
            m = re.match(r"(?:\.(?:visible|weak)\s+)?\.entry\s+(\w+)", line.strip())
            if m:
                kernel = m.group(1)
            m = re.search(r"\.local \.align \d+ \.b8\s+__local_depot\d+\[(\d+)\]", line)
            if m and kernel:
                depots[kernel] = int(m.group(1))
        result["depot_bytes"] = depots
        result["warnings"] = sorted(set(l for l in run.stderr.splitlines() if "warning" in l))[:6]
    os.unlink(ptx_path)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", help="the HISTOGAN_CL_DUMP_SOURCES directory")
    parser.add_argument("--clang", default="clang-16")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--json")
    a = parser.parse_args()
    files = sorted(os.path.join(a.dump, f) for f in os.listdir(a.dump) if f.endswith(".cl"))
    if not files:
        sys.exit(f"no .cl files in {a.dump}: run a command with HISTOGAN_CL_DUMP_SOURCES={a.dump} first")
    results = [compile_variant(a.clang, a.arch, f) for f in files]
    bad = 0
    for r in results:
        depot = sum(r.get("depot_bytes", {}).values())
        status = "ok" if r["ok"] and depot == 0 else ("ERROR" if not r["ok"] else "DEPOT")
        bad += status != "ok"
        detail = "; ".join(r["error"]) if not r["ok"] else ", ".join(f"{k} {v} B" for k, v in r["depot_bytes"].items() if v)
        print(f"{status:6} {r['file']:28} {r['options'][:90]}" + (f"\n       {detail}" if detail else ""))
    print(f"{len(results)} variants, {len(results) - bad} clean, {bad} with errors or local-memory depots ({a.clang}, {a.arch})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"clang": a.clang, "arch": a.arch, "variants": results}, f, indent=1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
