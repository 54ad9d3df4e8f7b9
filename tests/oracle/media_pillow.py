"""Decode sixbit's PNGs and GIFs with Pillow (and Python's zlib) and compare every pixel with what was written.

Usage: media_pillow.py DIR   (DIR written by media_dump; see its manifest format there)

PNG: pixels must be identical; every chunk CRC is recomputed with zlib.crc32 and the IDAT stream inflated with
zlib.decompress (which checks Adler-32), independently of Pillow's own checks.
GIF, <= 256 distinct colors: every frame identical to the source (the palette is exact).
GIF, more: the palette has 256 entries and each decoded pixel is the palette entry nearest the source pixel in
squared RGB distance, lowest index on ties (reference/io/gif_encode.hpp) - exact, no tolerance needed. Also the
loop count (0 = forever), the per-frame duration and the frame count.
Plots (plot_*.png) are PNG cases like the others: Pillow must decode the very pixels the plotter drew.
Least-squares fits (fits.txt): slope and intercept against numpy.polyfit(x, y, 1), r against numpy.corrcoef.
Both sides are double; a well-conditioned fit of n <= 200 points loses at most ~n u relative in the centred sums
(u = 2^-53, ~2e-14) times the data's condition (here <= ~1e3 for the offset case): tolerance 1e-9 relative.
"""
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence


def check_png_chunks(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: bad signature"
    pos, idat, types = 8, b"", []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(ctype + body), f"{path}: CRC mismatch in {ctype}"
        types.append(ctype)
        if ctype == b"IDAT":
            idat += body
        pos += 12 + length
    assert types[0] == b"IHDR" and types[-1] == b"IEND", f"{path}: chunks {types}"
    raw = zlib.decompress(idat)  # raises on a bad stream or Adler-32
    return raw


def load_expected(directory, name, frames, h, w):
    raw = np.fromfile(directory / f"{name}.rgb", dtype=np.uint8)
    assert raw.size == frames * h * w * 3, f"{name}: raw size {raw.size}"
    return raw.reshape(frames, h, w, 3)


def check_png(directory, name, w, h):
    path = directory / f"{name}.png"
    raw = check_png_chunks(path)
    assert len(raw) == h * (w * 3 + 1), f"{name}: {len(raw)} inflated bytes, expected {h * (w * 3 + 1)}"
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.size == (w, h), f"{name}: {im.mode} {im.size}"
        got = np.asarray(im)
    exp = load_expected(directory, name, 1, h, w)[0]
    bad = np.argwhere(got != exp)
    assert bad.size == 0, f"{name}: {len(bad)} bytes differ, first at {bad[0]}"
    return path.stat().st_size / (w * h * 3)


def nearest_palette(src, pal):
    """Index of the nearest palette entry for each source pixel; argmin returns the lowest index on ties."""
    out = []
    for at in range(0, len(src), 2048):  # chunks keep the [n, 256, 3] distance array small
        s = src[at : at + 2048, None, :].astype(np.int64)
        out.append(((s - pal[None, :, :].astype(np.int64)) ** 2).sum(axis=2).argmin(axis=1))
    return np.concatenate(out)


def check_gif(directory, name, w, h, nframes, delay):
    path = directory / f"{name}.gif"
    exp = load_expected(directory, name, nframes, h, w)
    ncolors = len(np.unique(exp.reshape(-1, 3), axis=0))
    with Image.open(path) as im:
        assert im.size == (w, h), f"{name}: size {im.size}"
        assert im.n_frames == nframes, f"{name}: {im.n_frames} frames, wrote {nframes}"
        assert im.info.get("loop") == 0, f"{name}: loop {im.info.get('loop')}"
        pal = np.array(im.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)
        frames = []
        for fr in ImageSequence.Iterator(im):
            assert fr.info.get("duration") == delay * 10, f"{name}: duration {fr.info.get('duration')}"
            frames.append(np.asarray(fr.convert("RGB")))
    got = np.stack(frames)
    if ncolors <= 256:
        bad = np.argwhere(got != exp)
        assert bad.size == 0, f"{name}: {len(bad)} bytes differ (exact palette), first at {bad[0]}"
        return 0.0
    assert len(pal) == 256, f"{name}: quantized palette has {len(pal)} entries"
    src = exp.reshape(-1, 3)
    want = pal[nearest_palette(src, pal)]
    bad = np.argwhere(got.reshape(-1, 3) != want)
    assert bad.size == 0, f"{name}: {len(bad)} pixels are not the nearest palette entry"
    err = np.abs(got.astype(np.int64) - exp.astype(np.int64)).mean()
    assert err > 0, f"{name}: > 256 colors cannot be lossless"
    return err


def check_fits(path):
    lines = path.read_text().splitlines()
    worst = 0.0
    for i in range(0, len(lines), 3):
        n, a, c, r, r2 = lines[i].split()
        x = np.array([float(v) for v in lines[i + 1].split()])
        y = np.array([float(v) for v in lines[i + 2].split()])
        assert len(x) == int(n) == len(y)
        want_a, want_c = np.polyfit(x, y, 1)
        want_r = np.corrcoef(x, y)[0, 1]
        for got, want in ((float(a), want_a), (float(c), want_c), (float(r), want_r), (float(r2), want_r**2)):
            err = abs(got - want) / max(abs(want), 1e-300)
            assert err <= 1e-9, f"fit {i // 3}: {got!r} vs numpy {want!r} (rel {err:.2e})"
            worst = max(worst, err)
    print(f"fits: max relative difference from numpy {worst:.2e}")
    return len(lines) // 3


def main():
    directory = Path(sys.argv[1])
    cases = [line.split() for line in (directory / "manifest.txt").read_text().splitlines() if line.strip()]
    n_png = n_gif = 0
    for case in cases:
        kind, name = case[0], case[1]
        if kind == "png":
            ratio = check_png(directory, name, int(case[2]), int(case[3]))
            n_png += 1
            if name.startswith("png_flat"):  # a flat image must really be compressed, not stored
                assert ratio < 0.01, f"{name}: file is {ratio:.3f} of the raw size"
        else:
            err = check_gif(directory, name, int(case[2]), int(case[3]), int(case[4]), int(case[5]))
            n_gif += 1
            if err:
                print(f"{name}: quantized, mean |error| {err:.2f} levels")
    assert n_png >= 12 and n_gif >= 250, f"only {n_png} PNG and {n_gif} GIF cases"
    n_fit = check_fits(directory / "fits.txt")
    print(f"OK: {n_png} PNG and {n_gif} GIF files decoded by Pillow {Image.__version__} match; {n_fit} fits match numpy")


if __name__ == "__main__":
    main()
