"""The procedural world rendered in torch, a batch at a time, on the training device (train_small.py).

The same formulas as experiments/world.py and reference/world/world.cpp (docs/world.md), vectorized over the
batch and the frames: scene parameters are drawn from the same distributions (radius uniform in [3.5, 5), start
position uniform in the bounce-free range) with a torch.Generator instead of splitmix64, and rendered in float64
with the same operations, so for the same parameters the 8-bit frames agree with the numpy mirror (checked in
tests/oracle/world_torch_check.py).
"""
import math

import torch

import world

_COLORS = [rgb for _, rgb in world.COLORS]
_BACKGROUNDS = [rgb for _, rgb in world.BACKGROUNDS]
_DIRS = [d for _, d in world.DIRECTIONS]
_SPEEDS = [v for _, v in world.SPEEDS]


def scene_params(attrs, u, device):
    """attrs [B, 5] long (color, shape, direction, speed, background), u [B, 3] float64 uniforms in [0, 1) (radius,
    along, across) -> dict of [B] float64 tensors: the scene of world.scene() for those draws."""
    f64 = dict(dtype=torch.float64, device=device)
    c, s, d, v = attrs[:, 0], attrs[:, 1], attrs[:, 2], attrs[:, 3]
    r = world.RADIUS_MIN + world.RADIUS_RANGE * u[:, 0]
    e = torch.where(s == 0, r, torch.where(s == 1, r * math.sqrt(world.PI) / 2.0, r * math.sqrt(world.PI / 2.0)))
    speed = torch.tensor(_SPEEDS, **f64)[v]
    dirs = torch.tensor(_DIRS, **f64)[d]
    dx, dy = dirs[:, 0], dirs[:, 1]
    travel = speed * world.MONOTONE_FRAMES
    lo, hi_x, hi_y = e, world.WIDTH - e, world.HEIGHT - e
    ua, uc = u[:, 1], u[:, 2]
    along_x = torch.where(dx > 0, lo + ua * (hi_x - travel - lo), hi_x - ua * (hi_x - travel - lo))
    along_y = torch.where(dy > 0, lo + ua * (hi_y - travel - lo), hi_y - ua * (hi_y - travel - lo))
    horizontal = dx != 0
    x0 = torch.where(horizontal, along_x, lo + uc * (hi_x - lo))
    y0 = torch.where(horizontal, lo + uc * (hi_y - lo), along_y)
    return dict(shape=s, rgb=torch.tensor(_COLORS, **f64)[c], bg=torch.tensor(_BACKGROUNDS, **f64)[attrs[:, 4]],
                r=r, e=e, x0=x0, y0=y0, vx=dx * speed, vy=dy * speed)


def _reflect(p, lo, hi):
    span = hi - lo
    u = torch.fmod(p - lo, 2.0 * span)
    u = torch.where(u < 0.0, u + 2.0 * span, u)
    u = torch.where(u > span, 2.0 * span - u, u)
    return lo + u


def render_rgb8(p, frames=world.FRAMES, height=world.HEIGHT, width=world.WIDTH):
    """p from scene_params -> uint8 [B, frames, height, width, 3]."""
    dev = p["r"].device
    f64 = dict(dtype=torch.float64, device=dev)
    n = world.SUPERSAMPLE
    f = torch.arange(frames, **f64)
    e = p["e"][:, None]
    cx = _reflect(p["x0"][:, None] + p["vx"][:, None] * f, e, width - e)   # [B, F]
    cy = _reflect(p["y0"][:, None] + p["vy"][:, None] * f, e, height - e)
    off = (torch.arange(n, **f64) + 0.5) / n
    sx = (torch.arange(width, **f64)[:, None] + off[None, :]).reshape(-1)
    sy = (torch.arange(height, **f64)[:, None] + off[None, :]).reshape(-1)
    dx = sx[None, None, None, :] - cx[:, :, None, None]                    # [B, F, 1, W*n]
    dy = sy[None, None, :, None] - cy[:, :, None, None]                    # [B, F, H*n, 1]
    B = dx.size(0)
    count = torch.zeros(B, frames, height, width, dtype=torch.long, device=dev)
    for shape in range(3):  # each video's own test only (a third of the work of testing all three)
        k = (p["shape"] == shape).nonzero().flatten()
        if k.numel() == 0:
            continue
        X, Y = dx[k], dy[k]
        r, e = p["r"][k][:, None, None, None], p["e"][k][:, None, None, None]
        if shape == 0:
            inside = X * X + Y * Y <= r * r
        elif shape == 1:
            inside = (X.abs() <= e) & (Y.abs() <= e)
        else:
            inside = (Y >= -e) & (Y <= e) & (2.0 * X.abs() <= Y + e)
        count[k] = inside.reshape(k.numel(), frames, height, n, width, n).sum(dim=(3, 5))
    cov = (count.to(torch.float64) / float(n * n))[..., None]              # [B, F, H, W, 1]
    bg, rgb = p["bg"][:, None, None, None, :], p["rgb"][:, None, None, None, :]
    img = bg * (1.0 - cov) + rgb * cov
    return torch.floor(img * 255.0 + 0.5).to(torch.uint8)


def to_latent(rgb8):
    """uint8 [B, F, H, W, 3] -> float32 [B, 3, F, H, W] in [-1, 1], as metrics::video_to_latent of the world's Video
    (byte / 255 in fp32, then * 2 - 1)."""
    v = rgb8.to(torch.float32) / 255.0
    return (v * 2.0 - 1.0).permute(0, 4, 1, 2, 3).contiguous()
