"""PyTorch reference timings on the lent GPU for the shapes `histogan-gpu bench` uses (fp32, TF32 off; the 4096^3
matmul and the three modulated convs also with TF32 allowed, keys ending in _tf32, for `--tf32`).

Usage: python3 torch_reference.py --json torch.json                       (kernel timings; --device cpu rehearses)
       python3 torch_reference.py --step --device cuda --resolution 256 --capacity 1 --batch 4 --json step.json
--step: one full HistoGAN training step of *our* network (see `step_main`), mirrored from the Swift sources.
Times: torch.matmul (1024^3, 4096^3); modulated 3x3 conv via F.conv2d(groups=batch) at 64x64x512,
128x128x256, 256x256x128, batch 4; conv grad-input / grad-weight; 2x FIR upsample as grouped
conv_transpose2d; and the official HistoGAN RGBuvHistBlock (sampling, 64 bins) fwd and fwd+bwd.
"""
import argparse, json, math, time
import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"


def device_sync():
    if dev == "cuda":
        torch.cuda.synchronize()


def timed(fn, seconds=1.0):
    fn(); device_sync()
    n, start = 0, time.perf_counter()
    while True:
        fn(); n += 1
        device_sync()
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


# ---------------------------------------------------------------------------------------------------------------
# --step: our network and training step in PyTorch. References are to the Swift sources (Sources/...:line).
# ---------------------------------------------------------------------------------------------------------------
SQRT2 = math.sqrt(2.0)


def channels(cfg, r):
    """NetworkConfig.swift:58 — max(4, round(min(16384/r, 512)·capacity))."""
    return max(4, int(round(min(16384 // r, 512) * cfg.capacity)))


def fir_filter(dev):
    """Tensor.firFilter([1,3,3,1]): outer product normalised to sum 1."""
    f = torch.tensor([1., 3., 3., 1.], device=dev)
    return (f[:, None] * f[None, :]) / f.sum() ** 2


def upfirdn2d(x, f, up=1, pad=(0, 0, 0, 0), gain=1.0):
    """NVlabs upfirdn2d (down = 1): zero-insert `up`, pad (x0, x1, y0, y1), depthwise FIR (symmetric, no flip needed)."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, list(pad))
    k = (f * gain)[None, None].to(x.dtype).expand(c, 1, *f.shape)
    return F.conv2d(x, k, groups=c)


def bias_act(x, b, lrelu, gain, clamp):
    """Ops/BiasAct.swift + CPUBackend+BiasAct.swift:13 — (x + b) → leaky ReLU(0.2) → ·gain → clamp."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.dim() - 2))
    if lrelu:
        x = F.leaky_relu(x, 0.2)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


class FC(torch.nn.Module):
    """Layers.swift:30 FullyConnected — weight N(0,1)/lrMul, y = act(x·(w·lrMul/√in)ᵀ + b·lrMul)·√2 if lrelu."""
    def __init__(self, i, o, lrelu=False, bias_init=0.0, lr_mul=1.0):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(o, i) / lr_mul)
        self.bias = torch.nn.Parameter(torch.full([o], float(bias_init)))
        self.gain, self.lr_mul, self.lrelu = lr_mul / math.sqrt(i), lr_mul, lrelu

    def forward(self, x):
        y = F.linear(x, self.weight * self.gain, self.bias * self.lr_mul)   # NVlabs FullyConnectedLayer (addmm)
        return F.leaky_relu(y, 0.2) * SQRT2 if self.lrelu else y


class Conv(torch.nn.Module):
    """Layers.swift:70 Conv2dLayer — equalized lr, optional FIR blur + stride-2 conv (down = 2), bias_act with clamp·gain."""
    def __init__(self, i, o, k, bias=True, lrelu=False, down=1, clamp=None):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(o, i, k, k))
        self.bias = torch.nn.Parameter(torch.zeros(o)) if bias else None
        self.wgain, self.k, self.down, self.lrelu, self.clamp = 1 / math.sqrt(i * k * k), k, down, lrelu, clamp
        self.register_buffer("f", fir_filter("cpu"), persistent=False)

    def forward(self, x, gain=1.0):
        w = self.weight * self.wgain
        if self.down > 1:   # Layers.swift:103-108
            p = (self.f.shape[0] - self.down) + (self.k - 1)
            x = upfirdn2d(x, self.f, pad=((p + 1) // 2, p // 2, (p + 1) // 2, p // 2))
            y = F.conv2d(x, w, stride=self.down)
        else:
            y = F.conv2d(x, w, padding=self.k // 2)
        return bias_act(y, self.bias, self.lrelu, (SQRT2 if self.lrelu else 1.0) * gain,
                        None if self.clamp is None else self.clamp * gain)


def modulate(weight, styles, demod):
    """Modconv.swift:181/204 — w'[n,o,i] = w·s[n,i]·rsqrt(Σ_{i,k}(w·s)² + 1e-8)."""
    w = weight[None] * styles[:, None, :, None, None]
    if demod:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    return w


class ModConv(torch.nn.Module):
    """Layers.swift:121 ModulatedConv2d (affine bias init 1) + Modconv.swift:234 (grouped conv) and :255 (up = 2:
    grouped stride-2 transposed conv, then FIR ×4 with pad 1 — NVlabs conv2d_resample)."""
    def __init__(self, i, o, k, wdim, demod=True, up=1):
        super().__init__()
        self.affine = FC(wdim, i, bias_init=1.0)
        self.weight = torch.nn.Parameter(torch.randn(o, i, k, k))
        self.demod, self.up = demod, up
        self.register_buffer("f", fir_filter("cpu"), persistent=False)

    def forward(self, x, w, style_gain=1.0):
        s = self.affine(w)
        if style_gain != 1:
            s = s * style_gain
        n, i, h, wd = x.shape
        o, k = self.weight.shape[0], self.weight.shape[2]
        wm = modulate(self.weight, s, self.demod)                        # [N, O, I, k, k]
        if self.up == 2:
            wt = wm.transpose(1, 2).reshape(n * i, o, k, k)
            y = F.conv_transpose2d(x.reshape(1, n * i, h, wd), wt, stride=2, groups=n)
            y = y.reshape(n, o, 2 * (h - 1) + k, 2 * (wd - 1) + k)
            fsz = self.f.shape[0]
            p0, p1 = (fsz + 1) // 2 + k // 2 - (k - 1), (fsz - 2) // 2 + k // 2 - (k - 2)   # Modconv.swift:271
            return upfirdn2d(y, self.f, pad=(p0, p1, p0, p1), gain=4.0)
        y = F.conv2d(x.reshape(1, n * i, h, wd), wm.reshape(n * o, i, k, k), padding=k // 2, groups=n)
        return y.reshape(n, o, h, wd)


class SynthLayer(torch.nn.Module):
    """SynthesisNetwork.swift:52 — modconv 3x3 (opt. up 2), + noise·strength, + bias, lrelu·√2, clamp."""
    def __init__(self, i, o, wdim, up, clamp):
        super().__init__()
        self.conv = ModConv(i, o, 3, wdim, up=up)
        self.bias = torch.nn.Parameter(torch.zeros(o))
        self.noise_strength = torch.nn.Parameter(torch.zeros(1))
        self.clamp = clamp

    def forward(self, x, w):
        y = self.conv(x, w)
        noise = torch.randn(y.shape[0], 1, y.shape[2], y.shape[3], device=y.device)   # SynthesisNetwork.swift:76
        y = y + noise * self.noise_strength
        return bias_act(y, self.bias, True, SQRT2, self.clamp)


class ToRGB(torch.nn.Module):
    """SynthesisNetwork.swift:83 — modconv 1x1, no demodulation, styles ·1/√I, + bias, clamp."""
    def __init__(self, i, wdim, clamp):
        super().__init__()
        self.conv = ModConv(i, 3, 1, wdim, demod=False)
        self.bias = torch.nn.Parameter(torch.zeros(3))
        self.clamp, self.gain = clamp, 1 / math.sqrt(i)

    def forward(self, x, w):
        return bias_act(self.conv(x, w, style_gain=self.gain), self.bias, False, 1.0, self.clamp)


class Mapping(torch.nn.Module):
    """MappingNetwork.swift:4 — normalise 2nd moment, `mappingLayers` FC (lrelu, lr mul 0.01), w_avg (β 0.995)."""
    def __init__(self, cfg):
        super().__init__()
        self.fcs = torch.nn.ModuleList([FC(cfg.latent, cfg.latent, lrelu=True, lr_mul=0.01) for _ in range(cfg.mapping_layers)])
        self.register_buffer("w_avg", torch.zeros(cfg.latent))

    def forward(self, z, update_average=False):
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for fc in self.fcs:
            x = fc(x)
        if update_average:   # MappingNetwork.swift:30
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, 0.995))
        return x


class HistEncoder(torch.nn.Module):
    """MappingNetwork.swift:46 — √H·rsqrt(mean(H)+1e-8) (sqrt-normalized), FC 3B²→2w→w, 6×FC w→w, lrelu."""
    def __init__(self, cfg):
        super().__init__()
        w, hidden = cfg.latent, max(cfg.latent, 2 * cfg.latent)
        self.fcs = torch.nn.ModuleList([FC(3 * cfg.bins ** 2, hidden, lrelu=True), FC(hidden, w, lrelu=True)]
                                       + [FC(w, w, lrelu=True) for _ in range(6)])

    def forward(self, h):
        h = h.reshape(h.shape[0], -1)
        x = (h.relu() + 1e-12).sqrt() * (h.mean(dim=1, keepdim=True) + 1e-8).rsqrt()   # MappingNetwork.swift:85-87
        for fc in self.fcs:
            x = fc(x)
        return x


class Synthesis(torch.nn.Module):
    """SynthesisNetwork.swift:111 — const 4x4, blocks (conv0 up, conv1, toRGB), skip image = up(image) + rgb."""
    def __init__(self, cfg):
        super().__init__()
        c4, wd = channels(cfg, 4), cfg.latent
        self.const = torch.nn.Parameter(torch.randn(c4, 4, 4))
        self.res, self.blocks = [], torch.nn.ModuleList()
        r = 4
        while r <= cfg.resolution:
            i, o = (c4 if r == 4 else channels(cfg, r // 2)), channels(cfg, r)
            b = torch.nn.Module()
            b.conv0 = None if r == 4 else SynthLayer(i, o, wd, 2, 256.0)
            b.conv1 = SynthLayer(o, o, wd, 1, 256.0)
            b.torgb = ToRGB(o, wd, 256.0)
            self.blocks.append(b); self.res.append(r); r *= 2
        self.num_ws = sum(2 if b.conv0 is None else 3 for b in self.blocks)
        self.first_hist_w = self.num_ws - 6          # SynthesisNetwork.swift:148
        self.register_buffer("f", fir_filter("cpu"), persistent=False)

    def forward(self, ws):
        x = self.const[None].expand(ws[0].shape[0], -1, -1, -1)
        img, wi = None, 0
        for b in self.blocks:
            if b.conv0 is not None:
                x = b.conv0(x, ws[wi]); wi += 1
            x = b.conv1(x, ws[wi]); wi += 1
            rgb = b.torgb(x, ws[wi]); wi += 1
            img = rgb if img is None else upfirdn2d(img, self.f, up=2, pad=(2, 1, 2, 1), gain=4.0) + rgb
        return img


class Generator(torch.nn.Module):
    """Generator.swift:4 — ws(): per-layer w (mixing cutoff below the histogram layers), w_hist for the last 6."""
    def __init__(self, cfg):
        super().__init__()
        self.mapping, self.histenc, self.synthesis = Mapping(cfg), HistEncoder(cfg), Synthesis(cfg)

    def ws(self, z, hist, mixing=None, update_average=False):
        w = self.mapping(z, update_average)
        w2 = self.mapping(mixing[0]) if mixing is not None else None
        wh = self.histenc(hist)
        first = self.synthesis.first_hist_w
        out = []
        for i in range(self.synthesis.num_ws):
            src = wh if i >= first else (w2 if w2 is not None and i >= mixing[1] else w)
            out.append(src.view_as(src))       # its own graph node (Generator.swift:38), for the path-length grads
        return out


class Discriminator(torch.nn.Module):
    """Discriminator.swift:4 — residual; fromRGB, blocks (conv, conv down, skip down no bias, ·√½), mbstd, conv, FC, FC."""
    def __init__(self, cfg):
        super().__init__()
        R, cl = cfg.resolution, 256.0
        self.fromrgb = Conv(3, channels(cfg, R), 1, lrelu=True, clamp=cl)
        self.blocks = torch.nn.ModuleList()
        r = R
        while r > 4:
            i, o = channels(cfg, r), channels(cfg, r // 2)
            b = torch.nn.Module()
            b.conv0 = Conv(i, i, 3, lrelu=True, clamp=cl)
            b.conv1 = Conv(i, o, 3, lrelu=True, down=2, clamp=cl)
            b.skip = Conv(i, o, 1, bias=False, down=2)
            self.blocks.append(b); r //= 2
        c4 = channels(cfg, 4)
        self.conv = Conv(c4 + 1, c4, 3, lrelu=True, clamp=cl)
        self.fc = FC(c4 * 16, c4, lrelu=True)
        self.out = FC(c4, 1)
        self.group = 4

    def forward(self, x):
        x = self.fromrgb(x)
        half = math.sqrt(0.5)
        for b in self.blocks:
            x = b.skip(x, gain=half) + b.conv1(b.conv0(x), gain=half)
        n, c, h, w = x.shape                       # Discriminator.swift:69 minibatchStddev
        g = min(self.group, n)
        while n % g:
            g -= 1
        y = x.reshape(g, n // g, c, h, w)
        std = ((y - y.mean(dim=0, keepdim=True)).square().mean(dim=0) + 1e-8).sqrt()
        feat = std.mean(dim=[1, 2, 3]).reshape(1, n // g, 1, 1, 1).expand(g, n // g, 1, h, w).reshape(n, 1, h, w)
        x = self.conv(torch.cat([x, feat], dim=1))
        return self.out(self.fc(x.reshape(n, -1)))


def rgbuv_hist_batched(x, bins, sigma, eps=1e-6):
    """DESIGN.md §6 / Tensor.rgbuvHistogram, batched (no per-image loop): x [N,3,H,W] in [0,1] → [N,3,B,B].
    Inverse-quadratic kernel; sampling reduction when H or W > 150 (rows floor(i·H/bins), i < bins)."""
    x = x.clamp(0, 1)
    n, _, h, w = x.shape
    if h > 150 or w > 150:
        ih = (torch.arange(bins, device=x.device) * h) // bins
        iw = (torch.arange(bins, device=x.device) * w) // bins
        x = x[:, :, ih][:, :, :, iw]
    I = x.reshape(n, 3, -1)                                             # [N, 3, P]
    Iy = (I.square().sum(dim=1) + eps).sqrt()                           # [N, P]
    L = (I + eps).log()
    a, b = L[:, [1, 0, 0]], L[:, [2, 2, 1]]                             # R:(G,B), G:(R,B), B:(R,G)
    u, v = L - a, L - b                                                 # [N, 3, P]
    t = torch.linspace(-3, 3, bins, device=x.device)
    ku = 1 / (1 + (u[..., None] - t).square() / sigma ** 2)            # [N, 3, P, B]
    kv = 1 / (1 + (v[..., None] - t).square() / sigma ** 2)
    hist = torch.matmul((Iy[:, None, :, None] * ku).transpose(2, 3), kv)   # [N, 3, B, B]
    return hist / (hist.sum(dim=[1, 2, 3], keepdim=True) + eps)


def hellinger_loss(gen, target, alpha):
    """HistogramLoss.swift:23 (.sample, the default): α·mean_i (1/√2)·‖√T_i − √G_i‖₂ (with the 1e-12 terms)."""
    d = (target + 1e-12).sqrt() - (gen + 1e-12).sqrt()
    return ((d.square().sum(dim=[1, 2, 3]) + 1e-12).sqrt()).mean() * (alpha / math.sqrt(2))


def count(m):
    return sum(p.numel() for p in m.parameters())


def step_main(args):
    dev = args.device
    if dev == "cuda":
        torch.backends.cudnn.benchmark = True          # NVlabs train.py does the same
    torch.manual_seed(args.seed)
    cfg = args
    G, D = Generator(cfg).to(dev), Discriminator(cfg).to(dev)
    G_ema = Generator(cfg).to(dev)
    G_ema.load_state_dict(G.state_dict())
    G_ema.requires_grad_(False)
    counts = {"G": count(G), "mapping": count(G.mapping), "histogram_encoder": count(G.histenc),
              "synthesis": count(G.synthesis), "D": count(D)}
    print(f"G {counts['G']} parameters (mapping {counts['mapping']}, histogram encoder {counts['histogram_encoder']}, "
          f"synthesis {counts['synthesis']}); D {counts['D']}", flush=True)
    # TrainingOptions.swift defaults: Adam 0.0025 (0, 0.99) 1e-8; PL weight 2, decay 0.01, shrink 2, every 4;
    # R1 every 16 with γ = R²/256²; style mixing 0.9; α 2; EMA 10 kimg with ramp-up 0.05.
    adam = dict(lr=0.0025, betas=(0.0, 0.99), eps=1e-8)
    if dev == "cuda":
        adam["fused"] = True
    optG, optD = torch.optim.Adam(G.parameters(), **adam), torch.optim.Adam(D.parameters(), **adam)
    R, N, B = args.resolution, args.batch, args.bins
    sigma = 6.0 / (B - 1)                          # TrainingOptions.swift:135 trainingSigma
    gamma = R * R / (256 * 256)
    pl_w, pl_decay, pl_shrink, pl_int, r1_int, mix_p, alpha = 2.0, 0.01, 2, 4, 16, 0.9, 2.0
    first = G.synthesis.first_hist_w
    # Inputs: one fixed real batch in [-1, 1] and target histograms as interpolations t·H(a)+(1−t)·H(b) of its images'
    # histograms, made outside the timed step (our trainer gets both as arguments: Trainer.swift:90).
    real = torch.rand(N, 3, R, R, device=dev) * 2 - 1
    with torch.no_grad():
        hr = rgbuv_hist_batched((real + 1) / 2, B, sigma)
        t = torch.rand(N, 1, 1, 1, device=dev)
        target = t * hr + (1 - t) * hr.roll(1, dims=0)
    g_params, d_params = list(G.parameters()), list(D.parameters())
    state = {"pl_mean": 0.0}

    def mixed_ws(n, hist, update_average=False):     # Trainer.swift:69
        z = torch.randn(n, args.latent, device=dev)
        mixing = None
        if first > 1 and float(torch.rand(())) < mix_p:
            cutoff = 1 + int(float(torch.rand(())) * (first - 1))
            mixing = (torch.randn(n, args.latent, device=dev), min(cutoff, first - 1))
        return G.ws(z, hist, mixing, update_average)

    def train_step(step):                             # Trainer.swift:90
        do_pl, do_r1 = step % pl_int == 0, step % r1_int == 0
        optG.zero_grad(set_to_none=True); optD.zero_grad(set_to_none=True)
        out = {}
        # Gmain: non-saturating adversarial + α·Hellinger of the generated images' histograms.
        D.requires_grad_(False)
        fake = G.synthesis(mixed_ws(N, target, update_average=True))
        adv = F.softplus(-D(fake)).mean()
        hist = hellinger_loss(rgbuv_hist_batched((fake + 1) * 0.5, B, sigma), target, alpha)
        lossG = adv + hist
        out["G"], out["hist"] = lossG.item(), hist.item()       # our trainer reads every loss (checkFinite)
        lossG.backward()
        # Greg: path length over the w inputs of the non-histogram layers, batch/2 (Trainer.swift:122-146).
        if do_pl:
            m = max(1, N // pl_shrink)
            ws = mixed_ws(m, target[:m])
            img = G.synthesis(ws)
            pl_noise = torch.randn_like(img) / R
            w_only = ws[:first]
            grads = torch.autograd.grad((img * pl_noise).sum(), w_only, create_graph=True)
            total = sum(gw.square().sum(dim=1) for gw in grads)
            lengths = (total / len(w_only)).sqrt()
            state["pl_mean"] += (lengths.mean().item() - state["pl_mean"]) * pl_decay
            penalty = (lengths - state["pl_mean"]).square().mean()
            out["pl"] = penalty.item()
            (penalty * (pl_w * pl_int)).backward()
        D.requires_grad_(True)
        # Dmain (+ R1 on reals every 16 steps, folded in with γ/2·interval: Trainer.swift:149-179).
        G.requires_grad_(False)
        with torch.no_grad():
            fakeD = G.synthesis(mixed_ws(N, target))
        G.requires_grad_(True)
        real_in = real.detach().requires_grad_(do_r1)
        real_logits, fake_logits = D(real_in), D(fakeD)
        lossD = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        out["D"] = lossD.item()
        total_d = lossD
        if do_r1:
            g_real, = torch.autograd.grad(real_logits.sum(), real_in, create_graph=True)
            norms = g_real.square().sum(dim=[1, 2, 3])
            out["r1"] = norms.mean().item()
            total_d = total_d + norms.mean() * (gamma / 2 * r1_int)
        total_d.backward()
        optG.step(); optD.step()
        # EMA (TrainingOptions.swift emaBeta: half-life min(10 kimg, 0.05·images seen); β = 0.5^(batch/half-life)).
        half_life = min(10_000, step * N * 0.05)
        beta = 0.5 ** (N / max(half_life, 1e-8))
        with torch.no_grad():
            ema_p = list(G_ema.parameters())
            torch._foreach_lerp_(ema_p, g_params, 1 - beta)
            G_ema.mapping.w_avg.copy_(G.mapping.w_avg)
        return out

    def sync():
        if dev == "cuda":
            torch.cuda.synchronize()

    period = r1_int
    timed = max(period, (args.steps - args.warmup) // period * period)
    times, losses = [], []
    for step in range(args.warmup + timed):
        sync(); t0 = time.perf_counter()
        out = train_step(step)
        sync(); dt = (time.perf_counter() - t0) * 1000
        losses.append(out)
        if not all(math.isfinite(v) for v in out.values()):
            raise SystemExit(f"non-finite loss at step {step}: {out}")
        if step >= args.warmup:
            times.append(dt)
        print(f"step {step:3d} {dt:9.1f} ms  " + "  ".join(f"{k} {v:.4f}" for k, v in out.items()), flush=True)
    step_ms = sum(times) / len(times)
    plain = [t for s, t in zip(range(args.warmup, args.warmup + timed), times) if s % pl_int and s % r1_int]
    r = {"mode": "step", "step_ms": step_ms, "images_per_s": N / step_ms * 1000,
         "plain_step_ms": sum(plain) / len(plain) if plain else None,
         "step_times_ms": times, "warmup_steps": args.warmup, "timed_steps": timed,
         "config": {"resolution": R, "capacity": args.capacity, "latent": args.latent, "mapping_layers": args.mapping_layers,
                    "bins": B, "batch": N, "conv_clamp": 256, "mbstd_group": 4, "r1_interval": r1_int, "r1_gamma": gamma,
                    "pl_interval": pl_int, "pl_weight": pl_w, "pl_batch_shrink": pl_shrink, "style_mixing": mix_p,
                    "hist_alpha": alpha, "hist_sigma": sigma, "tf32": False, "fused_adam": dev == "cuda"},
         "parameters": counts, "last_losses": losses[-1], "torch": torch.__version__,
         "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
         "threads": torch.get_num_threads()}
    print(json.dumps({k: v for k, v in r.items() if k != "step_times_ms"}, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(r, fh, indent=2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    p.add_argument("--step", action="store_true", help="time a full training step of our network instead of kernels")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--capacity", type=float, default=1.0)
    p.add_argument("--latent", type=int, default=512)
    p.add_argument("--mapping-layers", type=int, default=8)
    p.add_argument("--bins", type=int, default=64)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=20, help="total steps: warm-up, then whole 16-step regulariser periods")
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.step:
        return step_main(args)
    # Kernel timings: CUDA on the lent GPU; --device cpu only to rehearse the device run (scripts/gpu-run.sh).
    global dev
    dev = args.device
    r = {"device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu", "torch": torch.__version__}
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
    # The discriminator's stride-2 conv after its FIR (256 channels, 129x129 -> 64x64): bench's `conv3x3 stride-2` rows.
    xs = torch.randn(4, 256, 129, 129, device=dev, requires_grad=True)
    ws = torch.randn(256, 256, 3, 3, device=dev, requires_grad=True)
    ys = F.conv2d(xs, ws, stride=2); gys = torch.randn_like(ys)
    with torch.no_grad():
        r["conv_s2_fwd_129x256"] = {"ms": timed(lambda: F.conv2d(xs, ws, stride=2))}
    r["conv_s2_grad_input_129x256"] = {"ms": timed(lambda: torch.autograd.grad(ys, xs, gys, retain_graph=True))}
    r["conv_s2_grad_weight_129x256"] = {"ms": timed(lambda: torch.autograd.grad(ys, ws, gys, retain_graph=True))}
    f = torch.tensor([1., 3., 3., 1.], device=dev); f = (f[:, None] * f[None, :]) / 64
    xu = torch.randn(4, 256, 128, 128, device=dev)
    fw = (f * 4)[None, None].repeat(256, 1, 1, 1)
    r["upfirdn_up2_128x256"] = {"ms": timed(lambda: F.conv_transpose2d(xu, fw, stride=2, padding=1, groups=256))}
    # The same GEMM and modulated convs with TF32 allowed (cuBLAS / cuDNN tensor cores): what `--tf32` is compared with.
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    a = torch.randn(4096, 4096, device=dev); b = torch.randn(4096, 4096, device=dev)
    ms = timed(lambda: a @ b, seconds=0.5)
    r["matmul_4096_tf32"] = {"ms": ms, "tflops": 2 * 4096 ** 3 / ms / 1e9}
    for res, ch in ((64, 512), (128, 256), (256, 128)):
        x = torch.randn(1, 4 * ch, res, res, device=dev)
        w = torch.randn(4 * ch, ch, 3, 3, device=dev)
        ms = timed(lambda: F.conv2d(x, w, padding=1, groups=4), seconds=0.5)
        r[f"modconv_{res}x{ch}_tf32"] = {"ms": ms, "tflops": 2 * 4 * ch * ch * 9 * res * res / ms / 1e9}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
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
