"""The training renderer (experiments/world_torch.py, torch, batched) vs the numpy mirror (experiments/world.py).

For every prompt at 2 seeds, the numpy scene's uniforms are fed to world_torch.scene_params: the scene parameters
must be equal and the 8-bit frames identical (both compute in float64 with the same operations; on the GPU the
same eager elementwise kernels run, so the tolerance we expect there is also zero, and train_small.py does not
depend on it). Also to_latent against the float32 formula of metrics::video_to_latent.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "experiments"))
import world  # noqa: E402
import world_torch  # noqa: E402


def main():
    torch.set_num_threads(2)
    cases = [(a, s) for a in world.all_prompts() for s in (3, 2**40 + 7)]
    attrs = torch.tensor([a for a, _ in cases], dtype=torch.long)
    u = torch.tensor([[world.uniform((s ^ world.fnv1a64("world")) & world.M64, k) for k in (1, 2, 3)]
                      for _, s in cases], dtype=torch.float64)
    bad_params = bad_videos = bad_bytes = 0
    for lo in range(0, len(cases), 64):
        p = world_torch.scene_params(attrs[lo:lo + 64], u[lo:lo + 64], "cpu")
        got = world_torch.render_rgb8(p).numpy()
        for i in range(got.shape[0]):
            a, s = cases[lo + i]
            sc = world.scene(a, s)
            o = sc["objects"][0]
            mine = tuple(float(p[k][i]) for k in ("r", "e", "x0", "y0", "vx", "vy"))
            if mine != tuple(float(o[k]) for k in ("r", "e", "x0", "y0", "vx", "vy")):
                bad_params += 1
            ref = world.render_scene(sc)
            d = np.count_nonzero(ref != got[i])
            bad_videos += d > 0
            bad_bytes += d
            if lo == 0 and i == 0:
                lat = world_torch.to_latent(torch.from_numpy(ref[None])).numpy()[0]
                want = (ref.astype(np.float32) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)).transpose(3, 0, 1, 2)
                assert np.array_equal(lat, want), "to_latent differs from video_to_latent's formula"
                assert ref.std() > 10, "degenerate video"
                mut = got[i].copy()
                mut[5, 3, 4, 2] ^= 1
                assert np.count_nonzero(ref != mut) == 1 + d, "a one-LSB mutation was not detected"
    print(f"{len(cases)} videos: {bad_params} scenes with different parameters, {bad_videos} videos / {bad_bytes} bytes differ")
    if bad_params or bad_videos:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
