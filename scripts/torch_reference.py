"""PyTorch reference timings on the lent GPU for the shapes `histogan-gpu bench` uses (fp32, TF32 off).

Usage: python3 torch_reference.py --json torch.json
Times: torch.matmul (1024^3, 4096^3); modulated 3x3 conv via F.conv2d(groups=batch) at 64x64x512,
128x128x256, 256x256x128, batch 4; conv grad-input / grad-weight; 2x FIR upsample as grouped
conv_transpose2d; and the official HistoGAN RGBuvHistBlock (sampling, 64 bins) fwd and fwd+bwd.
"""
import argparse, json, time
import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"


def timed(fn, seconds=1.0):
    fn(); torch.cuda.synchronize()
    n, start = 0, time.perf_counter()
    while True:
        fn(); n += 1
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed * 1000 / n


def rgbuv_hist(x, bins=64, sigma=0.02, eps=1e-6):
    """The official RGBuvHistBlock forward (sampling mode, inverse-quadratic kernel), one image at a time."""
    x = torch.clamp(x, 0, 1)
    if x.shape[2] > 150 or x.shape[3] > 150:
        idx_h = torch.linspace(0, x.shape[2], bins + 1)[:-1].long()
        idx_w = torch.linspace(0, x.shape[3], bins + 1)[:-1].long()
        x = x[:, :, idx_h, :][:, :, :, idx_w]
    hists = torch.zeros((x.shape[0], 3, bins, bins), device=x.device)
    t = torch.linspace(-3, 3, bins, device=x.device).unsqueeze(0)
    for l in range(x.shape[0]):
        I = torch.t(torch.reshape(x[l], (3, -1)))
        Iy = torch.unsqueeze(torch.sqrt(I[:, 0] ** 2 + I[:, 1] ** 2 + I[:, 2] ** 2 + eps), dim=1)
        for c, (a, b) in enumerate([(1, 2), (0, 2), (0, 1)]):
            u = torch.unsqueeze(torch.log(I[:, c] + eps) - torch.log(I[:, a] + eps), dim=1)
            v = torch.unsqueeze(torch.log(I[:, c] + eps) - torch.log(I[:, b] + eps), dim=1)
            ku = 1 / (1 + (torch.abs(u - t) ** 2) / sigma ** 2)
            kv = 1 / (1 + (torch.abs(v - t) ** 2) / sigma ** 2)
            hists[l, c] = torch.mm(torch.t(Iy * ku), kv)
    total = hists.sum(dim=[1, 2, 3], keepdim=True)
    return hists / (total + eps)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    args = p.parse_args()
    r = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    for n in (1024, 4096):
        a = torch.randn(n, n, device=dev); b = torch.randn(n, n, device=dev)
        ms = timed(lambda: a @ b)
        r[f"matmul_{n}"] = {"ms": ms, "tflops": 2 * n ** 3 / ms / 1e9}
    for res, ch in ((64, 512), (128, 256), (256, 128)):
        x = torch.randn(1, 4 * ch, res, res, device=dev)
        w = torch.randn(4 * ch, ch, 3, 3, device=dev)
        ms = timed(lambda: F.conv2d(x, w, padding=1, groups=4))
        r[f"modconv_{res}x{ch}"] = {"ms": ms, "tflops": 2 * 4 * ch * ch * 9 * res * res / ms / 1e9}
    x = torch.randn(4, 256, 64, 64, device=dev, requires_grad=True)
    w = torch.randn(256, 256, 3, 3, device=dev, requires_grad=True)
    y = F.conv2d(x, w, padding=1); gy = torch.randn_like(y)
    r["conv_grad_input_64x256"] = {"ms": timed(lambda: torch.autograd.grad(y, x, gy, retain_graph=True))}
    r["conv_grad_weight_64x256"] = {"ms": timed(lambda: torch.autograd.grad(y, w, gy, retain_graph=True))}
    f = torch.tensor([1., 3., 3., 1.], device=dev); f = (f[:, None] * f[None, :]) / 64
    xu = torch.randn(4, 256, 128, 128, device=dev)
    fw = (f * 4)[None, None].repeat(256, 1, 1, 1)
    r["upfirdn_up2_128x256"] = {"ms": timed(lambda: F.conv_transpose2d(xu, fw, stride=2, padding=1, groups=256))}
    img = torch.rand(4, 3, 256, 256, device=dev, requires_grad=True)
    r["rgbuv_hist_fwd_sampling"] = {"ms": timed(lambda: rgbuv_hist(img))}
    g = torch.randn(4, 3, 64, 64, device=dev)
    r["rgbuv_hist_fwdbwd_sampling"] = {"ms": timed(lambda: torch.autograd.grad(rgbuv_hist(img), img, g))}
    print(json.dumps(r, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(r, fh, indent=2)


if __name__ == "__main__":
    main()
