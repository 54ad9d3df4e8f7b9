// sixbit/harness/report/video_out.hpp: the sampled output as a video the metrics and writers take.
//
// The trained small model makes RGB pixels in [-1, 1]: metrics::video_from_latent. A synthetic model's output is a
// latent (4 channels for tiny) with no decoder: channels 0..2 are shown in false colour, each mapped to [0, 1] by the
// FULL-PRECISION run's min..max of that channel (the same map for the run being judged, so fidelity metrics compare
// like with like and nothing saturates by construction).
#pragma once

#include <string>
#include <vector>

#include "metrics/video.hpp"
#include "reference/model/config.hpp"

namespace sixbit::harness {

struct FalseColourMap {
  std::vector<float> lo, hi;  // per channel shown
};
FalseColourMap false_colour_map(const model::DitConfig& cfg, const std::vector<float>& reference_latent);
metrics::Video latent_video(const model::DitConfig& cfg, const std::vector<float>& latent, bool rgb,
                            const FalseColourMap& map);

// Nearest-neighbour upscale factor so that frames are at least 128 pixels on their longer side (display only).
int display_scale(const metrics::Video& v);
// frames/NAME_000.png ... (scaled) and NAME.gif in `dir` (which must exist); returns the paths written.
std::vector<std::string> write_video_files(const metrics::Video& v, const std::string& dir, const std::string& name,
                                           int scale, bool overwrite);

}  // namespace sixbit::harness
