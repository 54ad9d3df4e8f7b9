"""PyTorch Wan2.1 text-to-video DiT, written here to mirror Wan-Video/Wan2.1 wan/modules/model.py.

Used as the independent oracle for the C++ reference (reference/model/dit.cpp): make_golden.py runs it in fp32
and fp64 on the `tiny` preset and stores per-block activations. Same module and parameter names as Wan, so
`state_dict()` keys equal Wan checkpoint names. Differences from Wan, all semantics-preserving for one sample:
no sequence padding (seq_len == tokens), no amp autocast (everything runs in the model's dtype; Wan's autocast
regions are fp32 anyway), rope/sinusoid cast back to the model dtype instead of always .float() (so the fp64 run
stays fp64), and attention written out as softmax(q k^T / sqrt(d)) v instead of flash_attention.

The patch size is the config's (patch_t, patch_h, patch_w), default Wan's (1, 2, 2). forward() takes one sample
([C, F, H, W], as the oracles use it) or a batch ([B, C, F, H, W] with t [B] and context [B, n, text_dim], as
train_small.py uses it). `fast=True` (training only) swaps the two oracle-exact pieces for fast ones: attention by
F.scaled_dot_product_attention, and RoPE by an fp32 cos/sin table instead of fp64 complex products.

Also the seeded synthetic weight generator, bit-identical to reference/model/synthetic_weights.cpp.
"""
import math

import numpy as np
import torch
import torch.nn as nn

# ---------------------------------------------------------------- synthetic weights (mirror of synthetic_weights.cpp)
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def splitmix64_stream(state, n):
    """The first n outputs of splitmix64 started at `state` (as Python ints)."""
    return [_mix((state + k * GOLDEN) & M64) for k in range(1, n + 1)]


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for ch in s.encode():
        h = ((h ^ ch) * 0x100000001B3) & M64
    return h


def normals(state, n):
    """Box-Muller on splitmix64 pairs, double precision via math (glibc, like the C++), rounded to float32."""
    draws = splitmix64_stream(state, n + (n & 1))
    out = np.empty(n, dtype=np.float32)
    two_pi = 6.283185307179586
    for i in range(0, n, 2):
        a, b = draws[i], draws[i + 1]
        u1 = float((a >> 11) + 1) * 2.0**-53
        u2 = float(b >> 11) * 2.0**-53
        r = math.sqrt(-2.0 * math.log(u1))
        out[i] = np.float32(r * math.cos(two_pi * u2))
        if i + 1 < n:
            out[i + 1] = np.float32(r * math.sin(two_pi * u2))
    return out


def outlier_channels(dim, seed):
    return [c for c in range(dim) if c == 0 or _mix(((seed ^ 0x6F75746C69657273) + c + GOLDEN) & M64) % 32 == 0]


def patch_size(cfg):
    return (cfg.get("patch_t", 1), cfg.get("patch_h", 2), cfg.get("patch_w", 2))


def weight_shapes(cfg):
    D, F = cfg["dim"], cfg["ffn_dim"]
    pt, ph, pw = patch_size(cfg)
    s = []

    def lin(n, out, inp):
        s.extend([(n + ".weight", (out, inp)), (n + ".bias", (out,))])

    s.append(("patch_embedding.weight", (D, cfg["in_dim"], pt, ph, pw)))
    s.append(("patch_embedding.bias", (D,)))
    lin("text_embedding.0", D, cfg["text_dim"])
    lin("text_embedding.2", D, D)
    lin("time_embedding.0", D, cfg["freq_dim"])
    lin("time_embedding.2", D, D)
    lin("time_projection.1", 6 * D, D)
    for b in range(cfg["num_layers"]):
        p = f"blocks.{b}."
        for a in ("self_attn", "cross_attn"):
            for l in "qkvo":
                lin(p + a + "." + l, D, D)
            s.extend([(p + a + ".norm_q.weight", (D,)), (p + a + ".norm_k.weight", (D,))])
        s.extend([(p + "norm3.weight", (D,)), (p + "norm3.bias", (D,))])
        lin(p + "ffn.0", F, D)
        lin(p + "ffn.2", D, F)
        s.append((p + "modulation", (1, 6, D)))
    lin("head.head", cfg["out_dim"] * pt * ph * pw, D)
    s.append(("head.modulation", (1, 2, D)))
    return s


def synthetic_weights(cfg, seed):
    """name -> float32 ndarray; scales and outliers as documented in synthetic_weights.cpp."""
    outliers = outlier_channels(cfg["dim"], seed)
    w = {}
    for name, shape in weight_shapes(cfg):
        n = int(np.prod(shape))
        v = normals((seed ^ fnv1a64(name)) & M64, n).astype(np.float64)
        offset = 0.0
        if name.endswith("modulation"):
            scale = 1.0 / math.sqrt(cfg["dim"])
        elif "norm" in name:
            bias = name.endswith(".bias")
            scale, offset = (0.02, 0.0) if bias else (0.1, 1.0)
        elif name.endswith(".bias"):
            scale = 0.02
        else:
            scale = 1.0 / math.sqrt(n // shape[0])
        t = (v * scale + offset).astype(np.float32)
        if name.endswith("self_attn.o.weight") or name.endswith("ffn.2.weight") or name == "patch_embedding.weight":
            row = n // shape[0]
            for c in outliers:
                t[c * row:(c + 1) * row] *= np.float32(8.0)
        w[name] = t.reshape(shape)
    return w


# ---------------------------------------------------------------- the model (mirror of Wan's model.py)
def sinusoidal_embedding_1d(dim, position, dtype):
    half = dim // 2
    position = position.type(torch.float64)
    sinusoid = torch.outer(position, torch.pow(10000, -torch.arange(half).to(position).div(half)))
    return torch.cat([torch.cos(sinusoid), torch.sin(sinusoid)], dim=1).to(dtype)


def rope_params(max_seq_len, dim, theta=10000):
    freqs = torch.outer(torch.arange(max_seq_len), 1.0 / torch.pow(theta, torch.arange(0, dim, 2).to(torch.float64).div(dim)))
    return torch.polar(torch.ones_like(freqs), freqs)


def rope_grid_freqs(grid, freqs, c):
    """The complex rotation of every token of the (f, h, w) grid: [S, 1, c]."""
    freqs = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
    f, h, w = grid
    return torch.cat([
        freqs[0][:f].view(f, 1, 1, -1).expand(f, h, w, -1),
        freqs[1][:h].view(1, h, 1, -1).expand(f, h, w, -1),
        freqs[2][:w].view(1, 1, w, -1).expand(f, h, w, -1)
    ], dim=-1).reshape(f * h * w, 1, -1)


def rope_apply(x, grid, freqs):
    """x [..., S, n, d] (one sample or a batch); grid (f, h, w); complex multiply in fp64 as Wan does."""
    n, c = x.size(-2), x.size(-1) // 2
    xi = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], c, 2))
    return torch.view_as_real(xi * rope_grid_freqs(grid, freqs, c).to(x.device)).flatten(-2).to(x.dtype)


def rope_apply_fast(x, cos, sin):
    """Training path: the same rotation with an fp32 table (cos, sin [S, 1, c]), computed in fp32."""
    x2 = x.float().unflatten(-1, (-1, 2))
    a, b = x2[..., 0], x2[..., 1]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2).to(x.dtype)


def attention(q, k, v):
    """q [Sq, n, d], k/v [Sk, n, d] (or with a leading batch dim): softmax(q k^T / sqrt(d)) v per head."""
    d = q.size(-1)
    if q.dim() == 3:
        s = torch.einsum("qnd,knd->nqk", q, k) * (1.0 / math.sqrt(d))
        return torch.einsum("nqk,knd->qnd", torch.softmax(s, dim=-1), v)
    s = torch.einsum("bqnd,bknd->bnqk", q, k) * (1.0 / math.sqrt(d))
    return torch.einsum("bnqk,bknd->bqnd", torch.softmax(s, dim=-1), v)


def attention_fast(q, k, v):
    """Training path: [B, S, n, d] through F.scaled_dot_product_attention (flash / cuDNN kernels on the GPU)."""
    dt = v.dtype  # under autocast q/k may come back from the fp32 norms/RoPE; SDPA wants one dtype
    o = torch.nn.functional.scaled_dot_product_attention(q.to(dt).transpose(1, 2), k.to(dt).transpose(1, 2),
                                                         v.transpose(1, 2))
    return o.transpose(1, 2)


class WanRMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        if x.dtype in (torch.bfloat16, torch.float16):  # autocast training: statistics in fp32, as Wan's x.float()
            xf = x.float()
            return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight).to(x.dtype)
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


class WanLayerNorm(nn.LayerNorm):
    def __init__(self, dim, eps, elementwise_affine=False):
        super().__init__(dim, elementwise_affine=elementwise_affine, eps=eps)


class WanSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, eps):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm_q, self.norm_k = WanRMSNorm(dim, eps), WanRMSNorm(dim, eps)

    def forward(self, x, grid, freqs, fast=None):
        """x [S, dim] or [B, S, dim]; fast = (cos, sin) tables for the training path, else None (exact)."""
        n, d = self.num_heads, self.head_dim
        q = self.norm_q(self.q(x)).unflatten(-1, (n, d))
        k = self.norm_k(self.k(x)).unflatten(-1, (n, d))
        v = self.v(x).unflatten(-1, (n, d))
        if fast is not None:
            o = attention_fast(rope_apply_fast(q, *fast), rope_apply_fast(k, *fast), v)
        else:
            o = attention(rope_apply(q, grid, freqs), rope_apply(k, grid, freqs), v)
        return self.o(o.flatten(-2))


class WanT2VCrossAttention(WanSelfAttention):
    def forward(self, x, context, fast=False):
        n, d = self.num_heads, self.head_dim
        q = self.norm_q(self.q(x)).unflatten(-1, (n, d))
        k = self.norm_k(self.k(context)).unflatten(-1, (n, d))
        v = self.v(context).unflatten(-1, (n, d))
        return self.o((attention_fast(q, k, v) if fast else attention(q, k, v)).flatten(-2))


class WanAttentionBlock(nn.Module):
    def __init__(self, dim, ffn_dim, num_heads, eps):
        super().__init__()
        self.norm1 = WanLayerNorm(dim, eps)
        self.self_attn = WanSelfAttention(dim, num_heads, eps)
        self.norm3 = WanLayerNorm(dim, eps, elementwise_affine=True)
        self.cross_attn = WanT2VCrossAttention(dim, num_heads, eps)
        self.norm2 = WanLayerNorm(dim, eps)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(ffn_dim, dim))
        self.modulation = nn.Parameter(torch.randn(1, 6, dim) / dim**0.5)

    def forward(self, x, e, grid, freqs, context, fast=None):
        # e: [6, dim] for one sample, [B, 6, dim] for a batch (each chunk then [B, 1, dim], broadcast over tokens)
        e = (self.modulation[0] + e).chunk(6, dim=-2)
        y = self.self_attn(self.norm1(x) * (1 + e[1]) + e[0], grid, freqs, fast)
        x = x + y * e[2]
        x = x + self.cross_attn(self.norm3(x), context, fast is not None)
        y = self.ffn(self.norm2(x) * (1 + e[4]) + e[3])
        return x + y * e[5]


class Head(nn.Module):
    def __init__(self, dim, out_dim, patch, eps):
        super().__init__()
        self.norm = WanLayerNorm(dim, eps)
        self.head = nn.Linear(dim, math.prod(patch) * out_dim)
        self.modulation = nn.Parameter(torch.randn(1, 2, dim) / dim**0.5)

    def forward(self, x, e):
        # e: [1, dim] for one sample, [B, 1, dim] for a batch
        e = (self.modulation[0] + e).chunk(2, dim=-2)
        return self.head(self.norm(x) * (1 + e[1]) + e[0])


class WanModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, self.cfg = cfg["dim"], cfg
        self.patch = patch_size(cfg)
        self.patch_embedding = nn.Conv3d(cfg["in_dim"], D, kernel_size=self.patch, stride=self.patch)
        self.text_embedding = nn.Sequential(nn.Linear(cfg["text_dim"], D), nn.GELU(approximate="tanh"), nn.Linear(D, D))
        self.time_embedding = nn.Sequential(nn.Linear(cfg["freq_dim"], D), nn.SiLU(), nn.Linear(D, D))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(D, D * 6))
        self.blocks = nn.ModuleList([WanAttentionBlock(D, cfg["ffn_dim"], cfg["num_heads"], cfg["eps"]) for _ in range(cfg["num_layers"])])
        self.head = Head(D, cfg["out_dim"], self.patch, cfg["eps"])
        d = D // cfg["num_heads"]
        self.freqs = torch.cat([rope_params(1024, d - 4 * (d // 6)), rope_params(1024, 2 * (d // 6)), rope_params(1024, 2 * (d // 6))], dim=1)
        self._rope_cache = {}

    def init_weights(self):
        """Wan's WanModel.init_weights (wan/modules/model.py): xavier-uniform linears with zero bias, N(0, 0.02)
        text and time embeddings, xavier patch embedding, zero output projection."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.patch_embedding.weight.flatten(1))
        for seq in (self.text_embedding, self.time_embedding):
            for m in seq.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, std=0.02)
        nn.init.zeros_(self.head.head.weight)

    def rope_tables(self, grid, device):
        """fp32 (cos, sin) [S, 1, c] of the grid, for the fast (training) path."""
        key = (grid, str(device))
        if key not in self._rope_cache:  # a plain dict, not a buffer: state_dict keys stay Wan's
            c = (self.cfg["dim"] // self.cfg["num_heads"]) // 2
            z = rope_grid_freqs(grid, self.freqs, c)
            self._rope_cache[key] = (z.real.to(device=device, dtype=torch.float32),
                                     z.imag.to(device=device, dtype=torch.float32))
        return self._rope_cache[key]

    def forward(self, x, t, context, taps=None, fast=False):
        """One sample: x [C, F, H, W], t float, context [n, text_dim] (n <= text_len) -> [C_out, F, H, W].
        A batch: x [B, C, F, H, W], t [B] tensor, context [B, n, text_dim] -> [B, C_out, F, H, W]."""
        if x.dim() == 4:
            t = torch.tensor([t], dtype=torch.float64) if not torch.is_tensor(t) else t.reshape(1)
            return self.forward(x.unsqueeze(0), t, context.unsqueeze(0), taps, fast)[0]
        cfg, dt = self.cfg, self.patch_embedding.weight.dtype
        B = x.size(0)
        x = self.patch_embedding(x).to(dt)  # under bf16 autocast the residual stream stays in the weights' fp32
        grid = tuple(x.shape[2:])
        x = x.flatten(2).transpose(1, 2)  # [B, S, dim], tokens in (f, h, w) order
        e = self.time_embedding(sinusoidal_embedding_1d(cfg["freq_dim"], t.to(x.device), dt))  # [B, dim]
        e0 = self.time_projection(e).unflatten(1, (6, cfg["dim"]))                          # [B, 6, dim]
        n = context.size(1)
        context = torch.cat([context, context.new_zeros(B, cfg["text_len"] - n, context.size(2))], dim=1)
        context = self.text_embedding(context)
        tables = self.rope_tables(grid, x.device) if fast else None
        for block in self.blocks:
            x = block(x, e0, grid, self.freqs, context, tables)
            if taps is not None:
                taps.append(x[0].detach().clone() if B == 1 else x.detach().clone())
        x = self.head(x, e.unsqueeze(1))
        c, (pt, ph, pw) = cfg["out_dim"], self.patch
        u = x.view(B, *grid, pt, ph, pw, c)
        u = torch.einsum("bfhwpqrc->bcfphqwr", u)
        return u.reshape(B, c, *[i * j for i, j in zip(grid, self.patch)])


# ---------------------------------------------------------------- the small model's prompt encoder
class PromptEncoder(nn.Module):
    """Mirror of reference/model/prompt_encoder.cpp: context row i = token_embedding[id_i] + position_embedding[i]
    for the prompt's words; rows past the prompt are zero (the DiT zero pads to text_len anyway)."""

    def __init__(self, vocab_size, text_len, text_dim):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, text_dim)
        self.position_embedding = nn.Embedding(text_len, text_dim)

    def forward(self, ids, lengths):
        """ids [B, text_len] (any value past a prompt's length), lengths [B] -> context [B, text_len, text_dim]."""
        L = ids.size(1)
        pos = torch.arange(L, device=ids.device)
        rows = self.token_embedding(ids) + self.position_embedding(pos)[None]
        return rows * (pos[None, :] < lengths[:, None]).to(rows.dtype)[..., None]
