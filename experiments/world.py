"""The procedural video world in numpy: a line-for-line mirror of reference/world/world.cpp (docs/world.md).

Every formula runs in float64 with the same operations in the same order as the C++ (which is built with
-ffp-contract=off), so both give IDENTICAL 8-bit frames; tests/oracle/world_numpy.py checks that over many prompts
and seeds. The random generator is the project's splitmix64 (reference/model/weights.hpp, wan_dit.py).

Grammar (10 words): "a {color} {shape} moving {direction} {speed} on a {background} background".
"""
import math

import numpy as np

FRAMES, HEIGHT, WIDTH = 16, 32, 32
SUPERSAMPLE = 4  # 4 x 4 coverage samples per pixel, at offsets (i + 0.5) / 4

COLORS = [("red", (0.90, 0.12, 0.12)), ("green", (0.12, 0.78, 0.18)), ("blue", (0.15, 0.22, 0.95)),
          ("yellow", (0.96, 0.86, 0.10)), ("magenta", (0.88, 0.16, 0.88)), ("cyan", (0.10, 0.88, 0.90))]
SHAPES = ["circle", "square", "triangle"]
DIRECTIONS = [("left", (-1, 0)), ("right", (1, 0)), ("up", (0, -1)), ("down", (0, 1))]  # image y grows downwards
SPEEDS = [("slowly", 0.5), ("quickly", 1.5)]  # pixels per frame
BACKGROUNDS = [("dark", (0.08, 0.08, 0.10)), ("light", (0.90, 0.90, 0.86))]
ATTRIBUTES = ["color", "shape", "direction", "speed", "background"]
SIZES = [len(COLORS), len(SHAPES), len(DIRECTIONS), len(SPEEDS), len(BACKGROUNDS)]

RADIUS_MIN, RADIUS_RANGE = 3.5, 1.5  # equal-area radius r in [3.5, 5.0) pixels
MONOTONE_FRAMES = 8                  # frames 0..8 move in the prompt's direction before any bounce
PI = 3.141592653589793
EMPTY = "<empty>"
VOCAB = [EMPTY, "a", "moving", "on", "background"] + [c for c, _ in COLORS] + SHAPES + [d for d, _ in DIRECTIONS] + \
        [s for s, _ in SPEEDS] + [b for b, _ in BACKGROUNDS]

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for ch in s.encode():
        h = ((h ^ ch) * 0x100000001B3) & M64
    return h


# ---------------------------------------------------------------- prompts
def prompt_text(a):
    """a = (color, shape, direction, speed, background) indices."""
    c, s, d, v, b = a
    return f"a {COLORS[c][0]} {SHAPES[s]} moving {DIRECTIONS[d][0]} {SPEEDS[v][0]} on a {BACKGROUNDS[b][0]} background"


def prompt_id(a):
    c, s, d, v, b = a
    return (((c * 3 + s) * 4 + d) * 2 + v) * 2 + b


def all_prompts():
    """Every prompt of the grammar, in prompt-id order (color-major)."""
    out = []
    for c in range(6):
        for s in range(3):
            for d in range(4):
                for v in range(2):
                    for b in range(2):
                        out.append((c, s, d, v, b))
    return out


def is_eval(a):
    """Held-out rule (docs/world.md): (color + 2 shape + direction + 3 speed + 5 background) mod 6 == 0."""
    c, s, d, v, b = a
    return (c + 2 * s + d + 3 * v + 5 * b) % 6 == 0


def train_prompts():
    return [a for a in all_prompts() if not is_eval(a)]


def eval_prompts():
    return [a for a in all_prompts() if is_eval(a)]


def parse_prompt(text):
    words = text.lower().split()
    slots = [None, [c for c, _ in COLORS], SHAPES, None, [d for d, _ in DIRECTIONS], [s for s, _ in SPEEDS], None,
             None, [b for b, _ in BACKGROUNDS], None]
    fixed = {0: "a", 3: "moving", 6: "on", 7: "a", 9: "background"}
    if len(words) != 10 or any(words[i] != w for i, w in fixed.items()):
        raise ValueError(f"prompt '{text}' does not follow the grammar "
                         "'a COLOR SHAPE moving DIRECTION SPEED on a BACKGROUND background'")
    out = []
    for i in (1, 2, 4, 5, 8):
        if words[i] not in slots[i]:
            raise ValueError(f"prompt '{text}': '{words[i]}' is not one of {', '.join(slots[i])}")
        out.append(slots[i].index(words[i]))
    return tuple(out)


# ---------------------------------------------------------------- scenes
def half_extent(shape, r):
    """Half the bounding-box side of a shape of equal-area radius r (all three shapes have area pi r^2)."""
    if shape == 0:
        return r                          # circle of radius r
    if shape == 1:
        return r * math.sqrt(PI) / 2.0    # square of side r sqrt(pi)
    return r * math.sqrt(PI / 2.0)        # isosceles triangle, base = height = 2e, apex up


def uniform(state, k):
    """The k-th (1-based) splitmix64 draw of the stream at `state`, as a double in [0, 1): (z >> 11) * 2^-53."""
    return float(_mix((state + k * GOLDEN) & M64) >> 11) * 2.0**-53


def scene(a, seed, frames=FRAMES, height=HEIGHT, width=WIDTH):
    """The one-object scene of prompt a and seed: size and start position from splitmix64(seed ^ fnv1a64('world'))."""
    c, s, d, v, b = a
    state = (seed ^ fnv1a64("world")) & M64
    r = RADIUS_MIN + RADIUS_RANGE * uniform(state, 1)
    e = half_extent(s, r)
    speed = SPEEDS[v][1]
    dx, dy = DIRECTIONS[d][1]
    travel = speed * MONOTONE_FRAMES
    lo_x, hi_x, lo_y, hi_y = e, width - e, e, height - e
    u_along, u_across = uniform(state, 2), uniform(state, 3)
    if dx != 0:
        x0 = lo_x + u_along * (hi_x - travel - lo_x) if dx > 0 else hi_x - u_along * (hi_x - travel - lo_x)
        y0 = lo_y + u_across * (hi_y - lo_y)
    else:
        y0 = lo_y + u_along * (hi_y - travel - lo_y) if dy > 0 else hi_y - u_along * (hi_y - travel - lo_y)
        x0 = lo_x + u_across * (hi_x - lo_x)
    obj = dict(shape=s, rgb=COLORS[c][1], r=r, e=e, x0=x0, y0=y0, vx=dx * speed, vy=dy * speed)
    return dict(background=BACKGROUNDS[b][1], objects=[obj], frames=frames, height=height, width=width)


def reflect(p, lo, hi):
    """p folded into [lo, hi] by mirror reflection at both ends (a bounce)."""
    span = hi - lo
    u = math.fmod(p - lo, 2.0 * span)
    if u < 0.0:
        u += 2.0 * span
    if u > span:
        u = 2.0 * span - u
    return lo + u


def center(obj, f, height, width):
    cx = reflect(obj["x0"] + obj["vx"] * f, obj["e"], width - obj["e"])
    cy = reflect(obj["y0"] + obj["vy"] * f, obj["e"], height - obj["e"])
    return cx, cy


def coverage(shape, r, e, cx, cy, height, width):
    """[height, width] fraction of the 16 sample points of each pixel inside the shape centred at (cx, cy)."""
    n = SUPERSAMPLE
    off = (np.arange(n, dtype=np.float64) + 0.5) / n
    sx = (np.arange(width, dtype=np.float64)[:, None] + off[None, :]).reshape(-1)   # [width * n]
    sy = (np.arange(height, dtype=np.float64)[:, None] + off[None, :]).reshape(-1)  # [height * n]
    dx = (sx - cx)[None, :]
    dy = (sy - cy)[:, None]
    if shape == 0:
        inside = dx * dx + dy * dy <= r * r
    elif shape == 1:
        inside = (np.abs(dx) <= e) & (np.abs(dy) <= e)
    else:
        inside = (dy >= -e) & (dy <= e) & (2.0 * np.abs(dx) <= dy + e)
    count = inside.reshape(height, n, width, n).sum(axis=(1, 3))
    return count.astype(np.float64) / float(n * n)


def render_scene(sc):
    """uint8 [frames, height, width, 3]: background, then each object blended by its coverage, rounded once."""
    F, H, W = sc["frames"], sc["height"], sc["width"]
    out = np.empty((F, H, W, 3), dtype=np.uint8)
    for f in range(F):
        img = np.empty((H, W, 3), dtype=np.float64)
        for ch in range(3):
            img[:, :, ch] = sc["background"][ch]
        for o in sc["objects"]:
            cx, cy = center(o, f, H, W)
            cov = coverage(o["shape"], o["r"], o["e"], cx, cy, H, W)
            for ch in range(3):
                img[:, :, ch] = img[:, :, ch] * (1.0 - cov) + o["rgb"][ch] * cov
        out[f] = np.floor(img * 255.0 + 0.5).astype(np.uint8)
    return out


def render(a, seed):
    return render_scene(scene(a, seed))
