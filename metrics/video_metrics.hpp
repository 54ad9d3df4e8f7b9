// sixbit/metrics/video_metrics.hpp: fidelity of a generated video against the full-precision run (PSNR, SSIM,
// as the residual-cache papers report them) and VBench's temporal flickering. Formulas, sources and the
// tolerances they are tested with: docs/metrics.md.
//
// Every function takes metrics::Video (RGB in [0, 1]) and throws sixbit::Error on malformed input: no frames,
// a size mismatch between test and reference, a NaN or a value outside [0, 1] (data range 1 is part of both
// formulas), frames smaller than SSIM's 11x11 window, fewer than 2 frames for flickering.
// Results are computed in double in a fixed order; frames run in parallel (OpenMP) but each frame's value is
// computed by one thread, so the bits do not depend on the thread count.
#pragma once

#include <vector>

#include "metrics/video.hpp"

namespace sixbit::metrics {

// Per frame 10 log10(1 / MSE), MSE over all pixels and channels of the frame; +inf when the frames are equal.
// (ali-vilab/TeaCache eval/teacache/common_metrics/calculate_psnr.py, img_psnr; that script returns 100 where
// MSE < 1e-10, which mean_psnr_db below reproduces.)
std::vector<double> psnr_per_frame(const Video& test, const Video& ref);

// Per frame SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, data range 1, population
// (not sample) covariances, the map averaged over the "valid" region (pixels >= 5 from every border) and each
// channel's SSIM averaged over R, G, B - as TeaCache's calculate_ssim.py (cv2.filter2D then [5:-5, 5:-5], per
// channel mean) and scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=1, channel_axis=-1) compute it. 1 exactly for equal frames.
std::vector<double> ssim_per_frame(const Video& test, const Video& ref);

// Mean over frames with each frame capped at 100 dB (TeaCache's img_psnr returns 100 when MSE < 1e-10, i.e. for
// PSNR >= 100 dB; its calculate_psnr then averages over frames and eval.py over videos), so identical frames count
// 100 dB, never inf.
double mean_psnr_db(const std::vector<double>& psnr_db);

// VBench's temporal flickering (Vchitect/VBench vbench/temporal_flickering.py, cal_score): frames as 8-bit
// (frame_rgb8: round-half-even of v * 255, the bytes sixbit writes as PNG/GIF), for each adjacent pair the mean of
// |f_i - f_{i+1}| over all pixels and channels, then (255 - mean over pairs) / 255. 1 for a static video.
double temporal_flickering(const Video& video);

struct VideoFidelity {
  std::vector<double> psnr_db;  // per frame; +inf for an identical frame
  std::vector<double> ssim;     // per frame
  double mean_psnr_db = 0;      // mean_psnr_db(psnr_db): frames capped at 100 dB (TeaCache)
  double pooled_psnr_db = 0;    // -10 log10(MSE over every frame at once); +inf when the videos are equal
                                // (H-EmbodVis/EasyCache EasyCache4Wan2.2/tools/video_metrics.py)
  double mean_ssim = 0;         // mean of ssim over frames (TeaCache, EasyCache)
};

// PSNR and SSIM of `test` against `ref` (the full-precision run) and their video-level means.
VideoFidelity compare_videos(const Video& test, const Video& ref);

}  // namespace sixbit::metrics
