"""PyTorch Wan2.1 text-to-video DiT, written here to mirror Wan-Video/Wan2.1 wan/modules/model.py.

Used as the independent oracle for the C++ reference (reference/model/dit.cpp): make_golden.py runs it in fp32
and fp64 on the `tiny` preset and stores per-block activations. Same module and parameter names as Wan, so
`state_dict()` keys equal Wan checkpoint names. Differences from Wan, all semantics-preserving for one sample:
no sequence padding (seq_len == tokens), no amp autocast (everything runs in the model's dtype; Wan's autocast
regions are fp32 anyway), rope/sinusoid cast back to the model dtype instead of always .float() (so the fp64 run
stays fp64), and attention written out as softmax(q k^T / sqrt(d)) v instead of flash_attention.

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


def weight_shapes(cfg):
    D, F = cfg["dim"], cfg["ffn_dim"]
    s = []

    def lin(n, out, inp):
        s.extend([(n + ".weight", (out, inp)), (n + ".bias", (out,))])

    s.append(("patch_embedding.weight", (D, cfg["in_dim"], 1, 2, 2)))
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
    lin("head.head", cfg["out_dim"] * 4, D)
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


def rope_apply(x, grid, freqs):
    """x [S, n, d] for one sample; grid (f, h, w); complex multiply in fp64 as Wan does."""
    n, c = x.size(1), x.size(2) // 2
    freqs = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
    f, h, w = grid
    s = f * h * w
    xi = torch.view_as_complex(x.to(torch.float64).reshape(s, n, -1, 2))
    fi = torch.cat([
        freqs[0][:f].view(f, 1, 1, -1).expand(f, h, w, -1),
        freqs[1][:h].view(1, h, 1, -1).expand(f, h, w, -1),
        freqs[2][:w].view(1, 1, w, -1).expand(f, h, w, -1)
    ], dim=-1).reshape(s, 1, -1)
    return torch.view_as_real(xi * fi).flatten(2).to(x.dtype)


def attention(q, k, v):
    """q [Sq, n, d], k/v [Sk, n, d]: softmax(q k^T / sqrt(d)) v per head, full attention."""
    d = q.size(-1)
    s = torch.einsum("qnd,knd->nqk", q, k) * (1.0 / math.sqrt(d))
    return torch.einsum("nqk,knd->qnd", torch.softmax(s, dim=-1), v)


class WanRMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
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

    def forward(self, x, grid, freqs):
        s, n, d = x.size(0), self.num_heads, self.head_dim
        q = self.norm_q(self.q(x)).view(s, n, d)
        k = self.norm_k(self.k(x)).view(s, n, d)
        v = self.v(x).view(s, n, d)
        return self.o(attention(rope_apply(q, grid, freqs), rope_apply(k, grid, freqs), v).flatten(1))


class WanT2VCrossAttention(WanSelfAttention):
    def forward(self, x, context):
        n, d = self.num_heads, self.head_dim
        q = self.norm_q(self.q(x)).view(-1, n, d)
        k = self.norm_k(self.k(context)).view(-1, n, d)
        v = self.v(context).view(-1, n, d)
        return self.o(attention(q, k, v).flatten(1))


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

    def forward(self, x, e, grid, freqs, context):
        e = (self.modulation[0] + e).chunk(6, dim=0)  # e: [6, dim] for our single sample
        y = self.self_attn(self.norm1(x) * (1 + e[1]) + e[0], grid, freqs)
        x = x + y * e[2]
        x = x + self.cross_attn(self.norm3(x), context)
        y = self.ffn(self.norm2(x) * (1 + e[4]) + e[3])
        return x + y * e[5]


class Head(nn.Module):
    def __init__(self, dim, out_dim, eps):
        super().__init__()
        self.norm = WanLayerNorm(dim, eps)
        self.head = nn.Linear(dim, 4 * out_dim)
        self.modulation = nn.Parameter(torch.randn(1, 2, dim) / dim**0.5)

    def forward(self, x, e):
        e = (self.modulation[0] + e).chunk(2, dim=0)
        return self.head(self.norm(x) * (1 + e[1]) + e[0])


class WanModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, self.cfg = cfg["dim"], cfg
        self.patch_embedding = nn.Conv3d(cfg["in_dim"], D, kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.text_embedding = nn.Sequential(nn.Linear(cfg["text_dim"], D), nn.GELU(approximate="tanh"), nn.Linear(D, D))
        self.time_embedding = nn.Sequential(nn.Linear(cfg["freq_dim"], D), nn.SiLU(), nn.Linear(D, D))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(D, D * 6))
        self.blocks = nn.ModuleList([WanAttentionBlock(D, cfg["ffn_dim"], cfg["num_heads"], cfg["eps"]) for _ in range(cfg["num_layers"])])
        self.head = Head(D, cfg["out_dim"], cfg["eps"])
        d = D // cfg["num_heads"]
        self.freqs = torch.cat([rope_params(1024, d - 4 * (d // 6)), rope_params(1024, 2 * (d // 6)), rope_params(1024, 2 * (d // 6))], dim=1)

    def forward(self, x, t, context, taps=None):
        """x [C, F, H, W], t float, context [n, text_dim] (n <= text_len). Returns [C_out, F, H, W]."""
        cfg, dt = self.cfg, self.patch_embedding.weight.dtype
        x = self.patch_embedding(x.unsqueeze(0))
        grid = tuple(x.shape[2:])
        x = x.flatten(2).transpose(1, 2)[0]  # [S, dim], tokens in (f, h, w) order
        e = self.time_embedding(sinusoidal_embedding_1d(cfg["freq_dim"], torch.tensor([t]), dt))
        e0 = self.time_projection(e).unflatten(1, (6, cfg["dim"]))[0]
        context = torch.cat([context, context.new_zeros(cfg["text_len"] - context.size(0), context.size(1))])
        context = self.text_embedding(context)
        for block in self.blocks:
            x = block(x, e0, grid, self.freqs, context)
            if taps is not None:
                taps.append(x.detach().clone())
        x = self.head(x, e[0])
        c = cfg["out_dim"]
        u = x.view(*grid, 1, 2, 2, c)
        u = torch.einsum("fhwpqrc->cfphqwr", u)
        return u.reshape(c, *[i * j for i, j in zip(grid, (1, 2, 2))])
