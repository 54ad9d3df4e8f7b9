"""The shipped small model in PyTorch: prompt encoder + Wan2.1 DiT at the `small` preset, its self-describing
safetensors file, and sampling as the C++ does it (reference/model/trained_model.cpp sample_video) for comparisons.

File layout (read by reference/model/trained_model.cpp): Wan2.1 tensor names (wan_dit.weight_shapes) plus
prompt_encoder.token_embedding.weight [vocab, text_dim] and prompt_encoder.position_embedding.weight
[text_len, text_dim], all F32; __metadata__ "sixbit.config" (DitConfig JSON), "sixbit.vocab" (JSON list, index =
token id), "sixbit.sampler" (JSON: steps, shift, guidance, solver), "sixbit.model" = "wan2.1-t2v".
"""
import json
import math

import numpy as np
import torch
import torch.nn as nn

import wan_dit
import world

# reference/model/config.cpp preset("small"); docs/dit.md
SMALL = dict(name="small", dim=128, ffn_dim=512, num_heads=4, num_layers=8, freq_dim=256, text_dim=64, text_len=16,
             in_dim=3, out_dim=3, eps=1e-6, patch_t=1, patch_h=4, patch_w=4, latent_frames=world.FRAMES,
             latent_height=world.HEIGHT, latent_width=world.WIDTH)
# Provisional defaults; the lead tunes them after training (docs/model-card.md). C++ solvers: euler, unipc.
SAMPLER_DEFAULTS = dict(steps=20, shift=3.0, guidance=4.0, solver="euler")
PE = "prompt_encoder."


def tokenize(text, vocab, text_len):
    """Mirror of PromptEncoder::tokenize in reference/model/prompt_encoder.cpp: lower-case, split on whitespace,
    look every word up; no words -> the reserved "<empty>" token alone."""
    words = text.lower().split()
    if not words:
        return [vocab.index(world.EMPTY)]
    if len(words) > text_len:
        raise ValueError(f"prompt has {len(words)} words, the model takes at most {text_len}")
    ids = []
    for w in words:
        if w not in vocab or w == world.EMPTY:
            raise ValueError(f"unknown word '{w}' (vocabulary: {' '.join(vocab[1:])})")
        ids.append(vocab.index(w))
    return ids


def token_batch(texts, vocab, text_len):
    """ids [N, text_len] long (0-padded) and lengths [N] for a list of prompts."""
    ids = torch.zeros(len(texts), text_len, dtype=torch.long)
    lengths = torch.zeros(len(texts), dtype=torch.long)
    for i, t in enumerate(texts):
        tok = tokenize(t, vocab, text_len)
        ids[i, :len(tok)] = torch.tensor(tok)
        lengths[i] = len(tok)
    return ids, lengths


class SmallModel(nn.Module):
    def __init__(self, cfg=SMALL, vocab=None):
        super().__init__()
        self.cfg, self.vocab = dict(cfg), list(vocab or world.VOCAB)
        self.prompt_encoder = wan_dit.PromptEncoder(len(self.vocab), cfg["text_len"], cfg["text_dim"])
        self.dit = wan_dit.WanModel(cfg)

    def init_weights(self):
        self.dit.init_weights()
        nn.init.normal_(self.prompt_encoder.token_embedding.weight, std=1.0)
        nn.init.normal_(self.prompt_encoder.position_embedding.weight, std=0.1)

    def forward(self, x, t, ids, lengths, fast=False):
        """x [B, 3, F, H, W], t [B] (0..1000), ids/lengths from token_batch -> velocity [B, 3, F, H, W]."""
        return self.dit(x, t, self.prompt_encoder(ids, lengths), fast=fast)

    def wan_state(self):
        """name -> float32 ndarray in the file's names."""
        out = {k: v for k, v in self.dit.state_dict().items()}
        out.update({PE + k: v for k, v in self.prompt_encoder.state_dict().items()})
        return {k: v.detach().to("cpu", torch.float32).contiguous().numpy() for k, v in out.items()}


def config_json(cfg):
    keys = ["dim", "ffn_dim", "num_heads", "num_layers", "freq_dim", "text_dim", "text_len", "in_dim", "out_dim",
            "patch_t", "patch_h", "patch_w", "latent_frames", "latent_height", "latent_width"]
    full = dict(cfg, **dict(zip(["patch_t", "patch_h", "patch_w"], wan_dit.patch_size(cfg))))
    d = {"name": cfg.get("name", "custom")}
    d.update({k: int(full[k]) for k in keys})
    d["eps"] = float(cfg["eps"])
    return json.dumps(d)


def export_safetensors(model, path, sampler=SAMPLER_DEFAULTS, extra_meta=None):
    from safetensors.numpy import save_file
    meta = {"format": "pt", "sixbit.model": "wan2.1-t2v", "sixbit.config": config_json(model.cfg),
            "sixbit.vocab": json.dumps(model.vocab), "sixbit.sampler": json.dumps(sampler)}
    meta.update(extra_meta or {})
    save_file(model.wan_state(), path, metadata=meta)


def load_safetensors(path):
    """(SmallModel in fp32 on the CPU, sampler defaults dict) from an exported file."""
    from safetensors import safe_open
    with safe_open(path, "np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    cfg = json.loads(meta["sixbit.config"])
    model = SmallModel(cfg, json.loads(meta["sixbit.vocab"]))
    model.dit.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items() if not k.startswith(PE)})
    model.prompt_encoder.load_state_dict({k[len(PE):]: torch.from_numpy(v) for k, v in tensors.items()
                                          if k.startswith(PE)})
    return model.eval(), json.loads(meta["sixbit.sampler"])


# ---------------------------------------------------------------- the C++ sampler, mirrored
def initial_noise(seed, n):
    """reference/sampler/flow_sampler.cpp initial_noise: gaussian_normals(seed ^ fnv1a64("sampler.noise"), n)."""
    return wan_dit.normals((seed ^ wan_dit.fnv1a64("sampler.noise")) & wan_dit.M64, n)


@torch.no_grad()
def sample(model, prompt, seed, steps, shift, guidance, solver="euler", device="cpu"):
    """One sample as reference/model/trained_model.cpp sample_video draws it: the same initial noise, the prompt and
    the empty prompt through the encoder, Wan's schedule and solver from experiments/flow_sampler.py (the sampler's
    own transcription), fp32, exact attention and fp64 RoPE. Returns the final latent [3, F, H, W] (numpy)."""
    import flow_sampler
    cfg = model.cfg
    shape = (cfg["in_dim"], cfg["latent_frames"], cfg["latent_height"], cfg["latent_width"])
    x = torch.from_numpy(initial_noise(seed, math.prod(shape)).reshape(shape)).to(device)
    ids_c, len_c = token_batch([prompt], model.vocab, cfg["text_len"])
    ids_u, len_u = token_batch([""], model.vocab, cfg["text_len"])
    ctx = {True: model.prompt_encoder(ids_c.to(device), len_c.to(device))[0, :int(len_c[0])],
           False: model.prompt_encoder(ids_u.to(device), len_u.to(device))[0, :int(len_u[0])]}
    make = {"euler": flow_sampler.Euler, "unipc": flow_sampler.WanUniPC}[solver]
    sv = make(steps, shift)
    sv.sigmas = sv.sigmas.to(device)
    return flow_sampler.sample_cfg(sv, x, guidance, lambda xt, t, cond: model.dit(xt, float(t), ctx[cond])).cpu().numpy()
