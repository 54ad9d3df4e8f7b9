"""Train the shipped small video DiT on the procedural world (docs/model-card.md, docs/world.md).

    python3 experiments/train_small.py --out DIR --minutes 8 [--resume PREV_DIR] [--device cuda]

Flow matching as Wan trains it: x_t = (1 - sigma) x0 + sigma noise, target v = noise - x0 (the sampler steps
x <- x + (sigma_next - sigma) v, reference/sampler/flow_sampler.cpp), t = 1000 sigma, sigma ~ logit-normal(0, 1)
(sigmoid of a standard normal, as SD3 trains rectified flows). 10% of prompts dropped to the empty prompt for
classifier-free guidance. AdamW, bf16 autocast on the GPU, EMA of the weights (the EMA is what ships). Videos are
rendered on the fly on the training device (world_torch.py) from the 240 training prompts only.

Stops cleanly after --minutes of training (or --max-steps) and writes to --out: the training state in four files
below 16 MiB each (state_model.pt: model + step, RNG state, loss history; state_ema.pt; state_opt_m.pt,
state_opt_v.pt: AdamW moments), loss.tsv, and small.safetensors (the EMA in the C++ loader's names + metadata).
--resume DIR continues from such a state exactly (same next loss as an uninterrupted run, on the same device).
Dependencies: torch, numpy, safetensors.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import small_model  # noqa: E402
import world  # noqa: E402
import world_torch  # noqa: E402

# Each under 16 MiB (a device call returns at most 8 files of 16 MiB): model + step/RNG/loss history, EMA, AdamW's
# two moments.
STATE_FILES = ("state_model.pt", "state_ema.pt", "state_opt_m.pt", "state_opt_v.pt")
MAX_EXPORT_BYTES = 16 * 1000 * 1000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (created; existing state files there are replaced)")
    p.add_argument("--resume", help="folder holding a previous run's state_*.pt")
    p.add_argument("--minutes", type=float, default=8.0, help="training wall-clock budget of this call")
    p.add_argument("--max-steps", type=int, default=0, help="stop at this global step (0: no limit)")
    p.add_argument("--save-minutes", type=float, default=2.0, help="also save the state this often")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--warmup", type=int, default=500, help="linear learning-rate warm-up steps")
    p.add_argument("--total-steps", type=int, default=0,
                   help="if > 0: cosine decay from --lr to --lr * --final-lr-frac at this step (else constant)")
    p.add_argument("--final-lr-frac", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--p-uncond", type=float, default=0.1, help="probability of the empty prompt (CFG)")
    p.add_argument("--sigma-mean", type=float, default=0.0, help="sigma = sigmoid(N(mean, std^2)) (logit-normal)")
    p.add_argument("--sigma-std", type=float, default=1.0)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--config-json", default="", help="override fields of the small preset (tests use smaller)")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cuda or cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--compile", action="store_true", help="torch.compile the DiT (pays only on long runs)")
    p.add_argument("--log-every", type=int, default=50, help="steps per loss.tsv line (mean loss over them)")
    p.add_argument("--print-losses", action="store_true", help="print every step's loss (tests)")
    p.add_argument("--export-only", action="store_true", help="export --resume's EMA, no training")
    p.add_argument("--sampler", default=json.dumps(small_model.SAMPLER_DEFAULTS), help="sampler metadata JSON")
    return p.parse_args(argv)


def lr_at(a, step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    if a.total_steps <= 0:
        return a.lr
    frac = min(1.0, (step - a.warmup) / max(1, a.total_steps - a.warmup))
    return a.lr * (a.final_lr_frac + (1.0 - a.final_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * frac)))


class Data:
    """Training batches rendered on the device from one torch.Generator (its state is part of the checkpoint)."""

    def __init__(self, cfg, vocab, dev, seed, p_uncond, sigma_mean=0.0, sigma_std=1.0):
        self.dev, self.p_uncond, self.sigma_mean, self.sigma_std = dev, p_uncond, sigma_mean, sigma_std
        train = world.train_prompts()
        self.attrs = torch.tensor(train, dtype=torch.long, device=dev)
        ids, lengths = small_model.token_batch([world.prompt_text(a) for a in train], vocab, cfg["text_len"])
        self.ids, self.lengths = ids.to(dev), lengths.to(dev)
        eids, elen = small_model.token_batch([""], vocab, cfg["text_len"])
        self.empty_ids, self.empty_len = eids.to(dev), elen.to(dev)
        self.gen = torch.Generator(device=dev)
        self.gen.manual_seed(seed)
        self.shape = (cfg["latent_frames"], cfg["latent_height"], cfg["latent_width"])
        assert self.shape == (world.FRAMES, world.HEIGHT, world.WIDTH), "the model's latent is the world's video"

    def batch(self, B):
        g, dev = self.gen, self.dev
        idx = torch.randint(len(self.attrs), (B,), generator=g, device=dev)
        u = torch.rand(B, 3, generator=g, device=dev, dtype=torch.float64)
        x0 = world_torch.to_latent(world_torch.render_rgb8(world_torch.scene_params(self.attrs[idx], u, dev)))
        drop = torch.rand(B, generator=g, device=dev) < self.p_uncond
        ids = torch.where(drop[:, None], self.empty_ids, self.ids[idx])
        lengths = torch.where(drop, self.empty_len, self.lengths[idx])
        noise = torch.randn(x0.shape, generator=g, device=dev)
        sigma = torch.sigmoid(self.sigma_mean + self.sigma_std * torch.randn(B, generator=g, device=dev))
        s = sigma.view(B, 1, 1, 1, 1)
        return (1.0 - s) * x0 + s * noise, sigma * 1000.0, ids, lengths, noise - x0


def save_state(out, model, ema, opt, meta):
    os.makedirs(out, exist_ok=True)
    osd = opt.state_dict()
    m = {k: v["exp_avg"] for k, v in osd["state"].items()}
    v = {k: s["exp_avg_sq"] for k, s in osd["state"].items()}
    meta = dict(meta, opt_steps={k: s["step"] for k, s in osd["state"].items()}, param_groups=osd["param_groups"])
    for name, obj in zip(STATE_FILES, ({"model": model.state_dict(), "meta": meta}, ema.state_dict(), m, v)):
        tmp = os.path.join(out, name + ".tmp")
        torch.save(obj, tmp)
        os.replace(tmp, os.path.join(out, name))  # a kill mid-save leaves the previous file whole


def load_state(src, model, ema, opt, dev):
    paths = [os.path.join(src, n) for n in STATE_FILES]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        sys.exit(f"train_small: --resume {src}: missing {', '.join(missing)}")
    first = torch.load(paths[0], map_location="cpu", weights_only=False)  # RNG states stay CPU byte tensors
    esd, m, v = (torch.load(p, map_location=dev, weights_only=True) for p in paths[1:])
    meta = first["meta"]
    if meta["config"] != model.cfg:
        sys.exit(f"train_small: --resume {src} was trained with config {meta['config']}, not {model.cfg}")
    model.load_state_dict(first["model"])
    ema.load_state_dict(esd)
    state = {k: {"step": meta["opt_steps"][k], "exp_avg": m[k], "exp_avg_sq": v[k]} for k in m}
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta


def write_loss_log(out, losses, every):
    with open(os.path.join(out, "loss.tsv"), "w") as f:
        f.write("step\tmean_loss\n")
        for i in range(0, len(losses) - every + 1, every):
            f.write(f"{i + every}\t{sum(losses[i:i + every]) / every:.6f}\n")


def export(out, ema, a, meta):
    path = os.path.join(out, "small.safetensors")
    info = dict(step=meta["step"], seed=a.seed, batch=a.batch, lr=a.lr, ema=a.ema, p_uncond=a.p_uncond,
                sigma=f"logit-normal({a.sigma_mean},{a.sigma_std})", train_seconds=round(meta["elapsed"], 1), torch=torch.__version__)
    small_model.export_safetensors(ema, path, json.loads(a.sampler), {"sixbit.training": json.dumps(info)})
    size = os.path.getsize(path)
    if size > MAX_EXPORT_BYTES:
        sys.exit(f"train_small: {path} is {size} bytes, over the 16 MB budget")
    print(f"exported {path} ({size} bytes, EMA at step {meta['step']})", flush=True)


def main(argv=None):
    a = parse_args(argv)
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if a.device == "auto" else a.device))
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if dev.type == "cpu":
        torch.set_flush_denormal(True)  # AdamW's second moments of near-zero early gradients go subnormal: 6x slower
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    cfg = dict(small_model.SMALL, **json.loads(a.config_json or "{}"))
    torch.manual_seed(a.seed)  # the initial weights
    model = small_model.SmallModel(cfg)
    model.init_weights()
    model.to(dev)
    ema = small_model.SmallModel(cfg).to(dev)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.dim() < 2 or "embedding" in n or "norm" in n or "modulation" in n else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.99), eps=1e-8)
    data = Data(cfg, model.vocab, dev, a.seed, a.p_uncond, a.sigma_mean, a.sigma_std)
    meta = dict(step=0, elapsed=0.0, losses=[], config=cfg)
    if a.resume:
        meta = load_state(a.resume, model, ema, opt, dev)
        data.gen.set_state(meta["data_rng"])
        print(f"resumed from {a.resume} at step {meta['step']} ({meta['elapsed']:.0f} s trained)", flush=True)
    if a.export_only:
        if not a.resume:
            sys.exit("train_small: --export-only needs --resume")
        os.makedirs(a.out, exist_ok=True)
        export(a.out, ema, a, meta)
        return meta
    fwd = torch.compile(model) if a.compile else model
    ema_params, params = list(ema.parameters()), list(model.parameters())
    amp = dict(device_type="cuda", dtype=torch.bfloat16) if dev.type == "cuda" else dict(device_type="cpu", enabled=False)
    print(f"device {dev}, {sum(p.numel() for p in params)} parameters, batch {a.batch}, step {meta['step']}", flush=True)

    def save():
        meta["data_rng"] = data.gen.get_state()
        save_state(a.out, model, ema, opt, meta)
        write_loss_log(a.out, meta["losses"], a.log_every)

    t_start = last_save = time.time()
    elapsed0, step0 = meta["elapsed"], meta["step"]
    while True:
        now = time.time()
        if (a.max_steps and meta["step"] >= a.max_steps) or now - t_start >= a.minutes * 60.0:
            break
        step = meta["step"]
        for g in opt.param_groups:
            g["lr"] = lr_at(a, step)
        xt, t, ids, lengths, target = data.batch(a.batch)
        try:
            with torch.autocast(**amp):
                pred = fwd(xt, t, ids, lengths, fast=True)
        except Exception as e:  # noqa: BLE001 -- a failed compile must not waste a device call
            if fwd is model:
                raise
            print(f"torch.compile failed ({type(e).__name__}: {e}); continuing eagerly", flush=True)
            fwd = model
            with torch.autocast(**amp):
                pred = fwd(xt, t, ids, lengths, fast=True)
        loss = F.mse_loss(pred.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, a.grad_clip)
        opt.step()
        d = min(a.ema, (1.0 + step) / (10.0 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1.0 - d)
        lv = float(loss)  # one sync per step; negligible next to a step
        if not math.isfinite(lv):
            sys.exit(f"train_small: loss is {lv} at step {step}; not saving")
        meta["losses"].append(lv)
        meta["step"] = step + 1
        meta["elapsed"] = elapsed0 + time.time() - t_start
        if a.print_losses:
            print(f"step {step} loss {lv!r}", flush=True)
        if meta["step"] % a.log_every == 0:
            rate = (meta["step"] - step0) / max(1e-9, time.time() - t_start)
            print(f"step {meta['step']} loss {sum(meta['losses'][-a.log_every:]) / a.log_every:.5f} "
                  f"lr {lr_at(a, step):.2e} {rate:.2f} steps/s", flush=True)
        if time.time() - last_save >= a.save_minutes * 60.0:
            save()
            last_save = time.time()
    save()
    done = meta["step"] - step0
    secs = time.time() - t_start
    print(f"trained {done} steps in {secs:.1f} s ({done / max(secs, 1e-9):.3f} steps/s, "
          f"{done * a.batch / max(secs, 1e-9):.1f} videos/s); total {meta['step']} steps", flush=True)
    export(a.out, ema, a, meta)
    return meta


if __name__ == "__main__":
    main()
