"""The one-page result of a device run (scripts/gpu-run.sh): docs/gpu/summary.json.

Usage: python3 gpu_summary.py RUN_DIR > summary.json
RUN_DIR holds what gpu-run.sh wrote: nvidia-smi.txt, devices.json, selftest.json, bench-opencl.json,
bench-direct.json (the conv rows by the direct kernels), bench-f2x2.json (the same rows by Winograd F(2x2, 3x3)), bench-tf32.json (bench --tf32), bench-single.json (the GEMM and direct conv rows
single-buffered), profile-256.json, torch.json (PyTorch kernel timings) and torch-step.json (PyTorch's time for our training step).
Every ratio compares two numbers measured in the same run on the same card; a ratio whose inputs are missing
is null, with the reason under "missing".
"""
import json, math, os, re, sys
from datetime import date

DEFINITIONS = {
    "gemm_vs_cublas": "our 4096^3 fp32 GEMM throughput / torch.matmul (cuBLAS, TF32 off) throughput; goal >= 0.8",
    "modconv_vs_cudnn": "geometric mean over 4x512x64x64, 4x256x128x128, 4x128x256x256 of cuDNN grouped 3x3 conv ms "
                        "(F.conv2d, groups = batch, TF32 off) / our modulated conv forward ms (weights modulated or "
                        "activations scaled and demodulated: all of it), the faster of our two modes per shape; goal >= 1.0",
    "conv_vs_cudnn": "per conv bench row (conv3x3 grad-input/grad-weight 4x256x64x64; conv3x3 stride-2 fwd, grad-input, "
                     "grad-weight 4x256x129x129, the discriminator's down-sampling conv, whose grad-input is also the "
                     "generator's transposed up-sampling conv): cuDNN ms (autograd of F.conv2d, TF32 off) / our ms by "
                     "bench's default algorithm; > 1 means ours is faster",
    "histogram_speedup_vs_official": "official RGBuvHistBlock fwd+bwd ms (PyTorch, sampling, 64 bins, 4x3x256x256) / ours; goal >= 100",
    "step_vs_pytorch": "our training step ms / PyTorch's for the same network, batch and regulariser schedule "
                       "(256 px, capacity 1, batch 4, mean over one 16-step period, fp32, TF32 off); goal <= 0.5",
    "launches_per_step": "OpenCL kernel launches per training step (mean over the same period)",
    "step_ms": "ours: the plain step of profile at 256 px; ours_host_cpu: CPU time per plain step of the thread that "
               "builds the ops and enqueues the kernels (a step cannot be faster: near ours, the step is host-bound); "
               "pytorch_same_network: torch_reference.py --step; official_histogan_anchor: ANCHORS.md",
    "double_buffer_gain": "per GEMM/conv bench row: ms single-buffered (HISTOGAN_TILE_STAGING=single) / ms with the "
                          "default double-buffered local tiles (conv rows: both by the direct kernels), timed in the same "
                          "run; > 1 means double buffering pays",
    "tf32": "reported apart, never the default (`--tf32`, inline-PTX mma.sync): gemm_vs_cublas_tf32 and "
            "modconv_vs_cudnn_tf32 as above but both sides with TF32 (ours: bench --tf32, the GEMMs and the direct "
            "convs on the tensor cores; PyTorch: allow_tf32); arithmetic: what bench --tf32 ran (fp32 when the probe "
            "fell back); selftest: what selftest --tf32 found",
    "ptxas": "from NVIDIA's build logs (-cl-nv-verbose): kernels compiled, their most registers per work-item, and "
             "the kernels with a stack frame or spill stores (per-thread local memory); null without build logs",
    "winograd_gain": "per modconv/conv3x3 bench row: ms by the direct kernels (HISTOGAN_CONV_ALGORITHM=direct) / ms by "
                     "bench's default (auto: Winograd for the 3x3 stride-1 layers of >= 64 channels and >= 16x16 pixels, "
                     "F(4x4,3x3) from 32x32 pixels, F(2x2,3x3) below; the 'conv3x3 stride-2' rows by F(4x4,2x2) over "
                     "their four stride phases, from 64 channels and a 32x32 output), timed in the same run; > 1 means "
                     "Winograd pays (rows it does not touch stay near 1)",
    "winograd4x4_gain": "per modconv/conv3x3 bench row: ms by Winograd F(2x2,3x3) (HISTOGAN_CONV_ALGORITHM=winograd) / ms "
                        "by bench's default (F(4x4,3x3) on these rows, all >= 64x64 pixels), timed in the same run; > 1 "
                        "means F(4x4,3x3) pays over F(2x2,3x3)",
}


def ptxas_report(run):
    """Per-kernel ptxas lines of the build logs in the stages' outputs (HISTOGAN_CL_BUILD_LOG=1, -cl-nv-verbose):
    kernels compiled, the most registers, and the kernels with a stack frame or spills (private arrays or
    registers in local memory: scripts/ptx-check.py finds none with clang's NVPTX back end). None without logs."""
    kernel, seen, regs, local = None, 0, 0, set()
    for name in sorted(os.listdir(run)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(run, name), errors="replace") as fh:
            for line in fh:
                m = re.search(r"(?:Compiling entry function|Function properties for) '?(\w+)'?", line)
                if m:
                    kernel = m.group(1)
                m = re.search(r"Used (\d+) registers", line)
                if m:
                    seen += 1
                    regs = max(regs, int(m.group(1)))
                m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores", line)
                if m and (int(m.group(1)) or int(m.group(2))):
                    local.add(kernel or "?")
    if not seen:
        return None
    return {"kernel_builds": seen, "max_registers": regs, "with_stack_or_spills": sorted(local)}


def load(run, name, missing):
    path = os.path.join(run, name)
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as e:
        missing[name] = f"{type(e).__name__}: {e}"
        return None


def ours(bench, kernel, shape):
    for r in (bench or {}).get("results", []):
        if r.get("kernel") == kernel and r.get("shape") == shape:
            return r["milliseconds"]
    return None


def ratio(a, b):
    return a / b if a and b else None


def main(run):
    missing = {}
    bench = load(run, "bench-opencl.json", missing)
    single = load(run, "bench-single.json", missing)
    direct = load(run, "bench-direct.json", missing)
    f2x2 = load(run, "bench-f2x2.json", missing)
    tf32 = load(run, "bench-tf32.json", missing)
    torch_k = load(run, "torch.json", missing)
    profile = load(run, "profile-256.json", missing)
    torch_step = load(run, "torch-step.json", missing)
    selftest = load(run, "selftest.json", missing)
    devices = load(run, "devices.json", missing)
    t = torch_k or {}
    ms = lambda key: (t.get(key) or {}).get("ms")

    gemm = ratio(ms("matmul_4096"), ours(bench, "gemm", "4096x4096x4096"))
    conv, per_mode = [], {}
    for res, ch in ((64, 512), (128, 256), (256, 128)):
        shape = f"4x{ch}x{res}x{res}"
        modes = {m: ratio(ms(f"modconv_{res}x{ch}"), ours(bench, f"modconv3x3 {m} fwd", shape)) for m in ("fused", "split")}
        per_mode[shape] = modes
        conv.append(max((r for r in modes.values() if r), default=None))
    modconv = math.exp(sum(math.log(r) for r in conv) / 3) if all(conv) else None
    conv_tf32 = []
    for res, ch in ((64, 512), (128, 256), (256, 128)):
        shape = f"4x{ch}x{res}x{res}"
        modes = [ratio(ms(f"modconv_{res}x{ch}_tf32"), ours(tf32, f"modconv3x3 {m} fwd", shape)) for m in ("fused", "split")]
        conv_tf32.append(max((r for r in modes if r), default=None))
    tf32_summary = {
        "arithmetic": (tf32 or {}).get("matmulArithmetic"),
        "gemm_vs_cublas_tf32": ratio(ms("matmul_4096_tf32"), ours(tf32, "gemm", "4096x4096x4096")),
        "modconv_vs_cudnn_tf32": math.exp(sum(math.log(r) for r in conv_tf32) / 3) if all(conv_tf32) else None,
        "selftest": (selftest or {}).get("tf32"),
    }
    conv_rows = {"conv3x3 grad-input 4x256x64x64": "conv_grad_input_64x256",
                 "conv3x3 grad-weight 4x256x64x64": "conv_grad_weight_64x256",
                 "conv3x3 stride-2 fwd 4x256x129x129": "conv_s2_fwd_129x256",
                 "conv3x3 stride-2 grad-input 4x256x129x129": "conv_s2_grad_input_129x256",
                 "conv3x3 stride-2 grad-weight 4x256x129x129": "conv_s2_grad_weight_129x256"}
    conv_vs = {row: ratio(ms(key), ours(bench, *row.rsplit(" ", 1))) for row, key in conv_rows.items()}
    hist = ratio(ms("rgbuv_hist_fwdbwd_sampling"), ours(bench, "rgbuv histogram fwd+bwd sampling", "4x3x256x256 b64"))
    step_ours = (profile or {}).get("unprofiledStepMilliseconds")
    step = ratio(step_ours, (torch_step or {}).get("step_ms"))
    # Conv rows single-buffered are direct: compare them with the direct rows; GEMM rows with bench's.
    staging = {f"{r['kernel']} {r['shape']}": ratio(r.get("milliseconds"),
                                                    ours(bench if r["kernel"] == "gemm" else direct, r["kernel"], r["shape"]))
               for r in (single or {}).get("results", [])}
    winograd = {f"{r['kernel']} {r['shape']}": ratio(r.get("milliseconds"), ours(bench, r["kernel"], r["shape"]))
                for r in (direct or {}).get("results", [])}
    winograd4x4 = {f"{r['kernel']} {r['shape']}": ratio(r.get("milliseconds"), ours(bench, r["kernel"], r["shape"]))
                   for r in (f2x2 or {}).get("results", [])}
    gpu = next((d for d in (devices or []) if d.get("kind") == "opencl" and d.get("deviceType") == "GPU"), None)
    try:
        with open(os.path.join(run, "nvidia-smi.txt")) as fh:
            smi = fh.read().strip().splitlines()[-1]
    except (OSError, IndexError):
        smi = None

    summary = {
        "device": (gpu or {}).get("name") or (t.get("device")) or smi,
        "driver": (gpu or {}).get("driverVersion"),
        "nvidia_smi": smi,
        "date": date.today().isoformat(),
        "selftest": None if selftest is None else {"passed": selftest.get("passed"), "failed": selftest.get("failed"),
                                                    "device": selftest.get("deviceName")},
        "gemm_vs_cublas": gemm,
        "modconv_vs_cudnn": modconv,
        "modconv_vs_cudnn_per_shape": per_mode,
        "conv_vs_cudnn": conv_vs,
        "histogram_speedup_vs_official": hist,
        "step_vs_pytorch": step,
        "step_ms": {"ours": step_ours, "pytorch_same_network": (torch_step or {}).get("step_ms"),
                    "official_histogan_anchor": 149.0,
                    "ours_host_cpu": (profile or {}).get("hostMillisecondsPerStep")},
        "launches_per_step": (profile or {}).get("launchesPerStep"),
        "double_buffer_gain": staging,
        "winograd_gain": winograd,
        "winograd4x4_gain": winograd4x4,
        "tf32": tf32_summary,
        "ptxas": ptxas_report(run),
        "definitions": DEFINITIONS,
        "missing": missing,
    }
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
