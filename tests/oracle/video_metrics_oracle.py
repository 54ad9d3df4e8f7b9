"""sixbit's PSNR, SSIM and temporal flickering against implementations nobody here wrote.

Usage: video_metrics_oracle.py DIR   (DIR written by video_metrics_dump)

Oracles (tolerances derived in docs/metrics.md; every comparison reports its largest error):
- PSNR: numpy transcription of ali-vilab/TeaCache eval/teacache/common_metrics/calculate_psnr.py (img_psnr per frame,
  100 dB when MSE < 1e-10, mean over frames); pooled PSNR: H-EmbodVis/EasyCache EasyCache4Wan2.2/tools/
  video_metrics.py (-10 log10 of the MSE over the whole video).
- SSIM: scikit-image structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=1, channel_axis=2) on float64, and a numpy transcription of TeaCache's calculate_ssim.py (2D window
  np.outer(k, k) of cv2.getGaussianKernel(11, 1.5), cv2.filter2D then [5:-5, 5:-5], mean per channel, mean of
  channels).
- Temporal flickering: Vchitect/VBench vbench/temporal_flickering.py (cal_score) transcribed, on the frames as
  Pillow decodes them from the PNGs sixbit wrote: literally (float32 cv2.absdiff and np.mean, as VBench runs) and
  in float64 (exact sums).
"""
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

U64 = 2.0**-53
U32 = 2.0**-24
DB_PER_REL = 10 / math.log(10)  # d(10 log10 m) = DB_PER_REL * dm / m
C1, C2 = 0.01**2, 0.03**2


def teacache_img_psnr(img1, img2):
    mse = np.mean((img1 / 1.0 - img2 / 1.0) ** 2)
    if mse < 1e-10:
        return 100
    return 20 * math.log10(1 / math.sqrt(mse))


def teacache_ssim_channel(img1, img2):
    # cv2.getGaussianKernel(11, 1.5): exp(-(i - 5)^2 / (2 * 1.5^2)) normalized; filter2D is a correlation whose
    # [5:-5, 5:-5] part only sees interior pixels, so border handling drops out: a "valid" 2D correlation.
    x = np.arange(11) - 5.0
    k = np.exp(-(x**2) / (2 * 1.5**2))
    k /= k.sum()
    window = np.outer(k, k)

    def filt(a):
        return np.einsum("ijkl,kl->ij", np.lib.stride_tricks.sliding_window_view(a, (11, 11)), window)

    mu1, mu2 = filt(img1), filt(img2)
    s1 = filt(img1**2) - mu1**2
    s2 = filt(img2**2) - mu2**2
    s12 = filt(img1 * img2) - mu1 * mu2
    m = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1**2 + mu2**2 + C1) * (s1 + s2 + C2))
    return m.mean()


def vbench_score(frames, literal):
    """cal_score: mean over adjacent pairs of mean(absdiff), then (255 - mean) / 255."""
    dtype = np.float32 if literal else np.float64
    seq = [np.mean(np.abs(frames[i].astype(dtype) - frames[i + 1].astype(dtype))) for i in range(len(frames) - 1)]
    return (255.0 - np.mean(np.array(seq, dtype=dtype)).item()) / 255.0


def parse_cases(directory):
    lines = (directory / "cases.txt").read_text().splitlines()
    cases, i = [], 0
    while i < len(lines):
        name, f, h, w = lines[i].split()
        vals = {}
        for line in lines[i + 1 : i + 8]:
            key, *nums = line.split()
            vals[key] = np.array([float(v) for v in nums])
        cases.append((name, int(f), int(h), int(w), vals))
        i += 8
    return cases


class Worst:
    def __init__(self):
        self.err = {}

    def check(self, what, ours, theirs, tol, case):
        err = abs(ours - theirs) if not (math.isinf(ours) and ours == theirs) else 0.0
        assert err <= tol, f"{case}: {what} sixbit {ours!r} vs oracle {theirs!r}: |diff| {err:.3e} > tol {tol:.3e}"
        self.err[what] = max(self.err.get(what, 0.0), err)


def main():
    directory = Path(sys.argv[1])
    cases = parse_cases(directory)
    assert len(cases) >= 9, f"only {len(cases)} cases"
    worst = Worst()
    results = {}
    for name, nf, h, w, ours in cases:
        test = np.fromfile(directory / f"{name}.test.f32", dtype=np.float32).reshape(nf, h, w, 3).astype(np.float64)
        ref = np.fromfile(directory / f"{name}.ref.f32", dtype=np.float32).reshape(nf, h, w, 3).astype(np.float64)
        n = h * w * 3
        # PSNR per frame: sequential double sum of n squares vs numpy's pairwise one, each relative error
        # <= (n + 2) u, so |d PSNR| <= DB_PER_REL * 2 (n + 2) u.
        tol_db = DB_PER_REL * 2 * (n + 2) * U64
        capped = []
        for k in range(nf):
            mse = np.mean((test[k] - ref[k]) ** 2)
            if mse == 0:
                assert ours["psnr"][k] == math.inf, f"{name}: frame {k} equal but PSNR {ours['psnr'][k]}"
            else:
                worst.check("psnr", ours["psnr"][k], -10 * math.log10(mse), tol_db, name)
            # TeaCache's img_psnr takes [C, H, W] frames; the mean is over all values either way.
            capped.append(teacache_img_psnr(test[k].transpose(2, 0, 1), ref[k].transpose(2, 0, 1)))
        worst.check("mean_psnr (TeaCache)", ours["mean_psnr"][0], float(np.mean(capped)), 2 * tol_db, name)
        mse_all = np.mean((ref - test) ** 2)
        pooled = -10.0 * math.log10(mse_all) if mse_all > 0 else math.inf
        worst.check("pooled_psnr (EasyCache)", ours["pooled_psnr"][0], pooled, DB_PER_REL * 2 * (nf * n + 2) * U64, name)
        # SSIM: every filtered moment carries <= ~24 u of absolute error (11 + 11 products and sums of values <= 1);
        # the map's error is then <= 3 * 4 * 24u / C1 + 6 * 24u / C2 < 4e-10 (docs/metrics.md): tolerance 1e-9.
        ssk, sst = [], []
        for k in range(nf):
            sk = structural_similarity(test[k], ref[k], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=1.0, channel_axis=2)
            tc = np.mean([teacache_ssim_channel(test[k][..., c], ref[k][..., c]) for c in range(3)])
            worst.check("ssim vs scikit-image", ours["ssim"][k], sk, 1e-9, name)
            worst.check("ssim vs TeaCache", ours["ssim"][k], tc, 1e-9, name)
            if np.array_equal(test[k], ref[k]):
                assert ours["ssim"][k] == 1.0, f"{name}: frame {k} identical but SSIM {ours['ssim'][k]!r}"
            ssk.append(sk)
            sst.append(tc)
        worst.check("mean_ssim", ours["mean_ssim"][0], float(np.mean(ssk)), 1e-9, name)
        # Flickering on the PNG frames Pillow decodes. Float64: exact integer sums, only the final divisions and the
        # mean over pairs round: 1e-12. VBench literal (float32 pairwise sums): relative error of each mean
        # <= (log2 n + 8) u32, of the mean over pairs another (F - 1) u32, on values <= 255, divided by 255.
        frames = [np.asarray(Image.open(directory / f"{name}.test.f{k}.png").convert("RGB")) for k in range(nf)]
        worst.check("flicker (float64)", ours["flicker_test"][0], vbench_score(frames, False), 1e-12, name)
        tol32 = (math.log2(n) + 8 + nf) * U32
        worst.check("flicker (VBench float32)", ours["flicker_test"][0], vbench_score(frames, True), tol32, name)
        results[name] = (ours["psnr"], ours["ssim"], sk)
    # The mutation moved frame 3's PSNR and SSIM (and nothing else), and the oracles agreed on both sides (above).
    pre, mut = results["scene_premutation"], results["scene_mutated"]
    assert mut[0][3] < pre[0][3] - 1e-3 and mut[1][3] < pre[1][3] - 1e-6, "mutation did not lower frame 3's scores"
    others = [k for k in range(len(pre[0])) if k != 3]
    assert all(mut[0][k] == pre[0][k] and mut[1][k] == pre[1][k] for k in others), "mutation moved other frames"
    # Against trivial passes: the scores span a wide range, and SSIM differs from scikit-image by rounding, not 0.
    all_psnr = np.concatenate([r[0] for r in results.values()])
    finite = all_psnr[np.isfinite(all_psnr)]
    assert finite.min() < 5 and finite.max() > 35, f"PSNR range {finite.min()}..{finite.max()} too narrow"
    assert worst.err["ssim vs scikit-image"] > 0, "SSIM bit-identical to scikit-image: suspicious"
    for what, err in worst.err.items():
        print(f"max |sixbit - oracle| {what}: {err:.3e}")
    print(f"OK: {len(cases)} video pairs, PSNR / SSIM / flickering match TeaCache, EasyCache, scikit-image, VBench")


if __name__ == "__main__":
    main()
