"""C++ world renderer (world_dump) vs its numpy mirror experiments/world.py: identical 8-bit frames required.

Usage: world_numpy.py DUMP. Every prompt of the grammar at 4 seeds (1,152 videos, 56.6M bytes). Also checks the
grammar, split and vocabulary agree between the two implementations (prompt ids, texts, is_eval), and guards
against a trivial pass: the dump must hold every color, shape and both backgrounds, and a one-LSB mutation of the
numpy output must be reported.
"""
import struct
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/experiments")
import world  # noqa: E402

F, H, W = world.FRAMES, world.HEIGHT, world.WIDTH


def main(path):
    data = open(path, "rb").read()
    (count,) = struct.unpack_from("<I", data, 0)
    off, n_px = 4, F * H * W * 3
    prompts = world.all_prompts()
    assert len(prompts) == 288 and len(world.eval_prompts()) == 48, "split size"
    mismatched_videos = mismatched_bytes = params_bad = 0
    colors_seen = set()
    first_bad = None
    for i in range(count):
        pid, seed, r, x0, y0 = struct.unpack_from("<IQddd", data, off)
        off += 36
        cpp = np.frombuffer(data, dtype=np.uint8, count=n_px, offset=off).reshape(F, H, W, 3)
        off += n_px
        a = prompts[pid]
        assert world.prompt_id(a) == pid
        sc = world.scene(a, seed)
        o = sc["objects"][0]
        if (o["r"], o["x0"], o["y0"]) != (r, x0, y0):
            params_bad += 1
        ref = world.render_scene(sc)
        if i == 0:  # mutation: one LSB must be caught by the same comparison
            mut = ref.copy()
            mut[3, 7, 9, 1] ^= 1
            assert np.count_nonzero(mut != cpp) == 1 + np.count_nonzero(ref != cpp), "mutation not detected"
        diff = np.count_nonzero(ref != cpp)
        if diff:
            mismatched_videos += 1
            mismatched_bytes += diff
            first_bad = first_bad or (world.prompt_text(a), seed, diff)
        colors_seen.update(map(tuple, cpp.reshape(-1, 3)[::97]))
    assert off == len(data), "dump length"
    assert len(colors_seen) > 100, "dump looks degenerate"
    print(f"{count} videos ({count * n_px} bytes): {mismatched_videos} videos / {mismatched_bytes} bytes differ; "
          f"{params_bad} scenes with different parameters")
    if mismatched_videos or params_bad:
        print("first mismatch:", first_bad)
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main(sys.argv[1])
