// sixbit/reference/model/dit.hpp: the Wan2.1 text-to-video DiT forward, written once over DitOps.
//
// Mirrors Wan-Video/Wan2.1 wan/modules/model.py (WanModel.forward, WanAttentionBlock, Head) for one sample with
// no sequence padding; every arithmetic step goes through DitOps so backends can be swapped op by op.
#pragma once

#include <functional>
#include <vector>

#include "reference/model/config.hpp"
#include "reference/model/ops.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::model {

// Latent video [C, F, H, W] (C-contiguous) <-> tokens [grid_f*grid_h*grid_w, C*pt*ph*pw].
// Token order (f, h, w); a token's columns in Conv3d weight order (c, p, q, r) so the patch embedding is a
// Linear over the flattened Conv3d weight [dim, C*pt*ph*pw].
Mat patchify(const DitConfig& cfg, const std::vector<float>& latent, int channels);
// Head output [tokens, pt*ph*pw*C] with columns in (p, q, r, c) order (Wan's unpatchify:
// view(f,h,w,p,q,r,c) then einsum 'fhwpqrc->cfphqwr') -> [C, F, H, W].
std::vector<float> unpatchify(const DitConfig& cfg, const Mat& tokens, int channels);

// Wan's sinusoidal_embedding_1d in fp64, rounded to fp32: [cos(t*w_i), sin(t*w_i)], w_i = 10000^(-i/half).
Mat sinusoidal_embedding(int freq_dim, double t);

// Everything a forward computes once before the blocks, as the backend holds it (Mat handles): the harness drives
// the blocks itself from this state (predictor, Temporal Delta Cache, calibration, op-by-op compare).
struct DitPrepared {
  double t = 0;  // the timestep this state was prepared for
  Mat x;         // [tokens, dim] the residual stream entering block 0 (patch embedding of the latent)
  Mat e;         // [1, dim] time embedding: the head's modulation input (and TeaCache's "modulated input")
  Mat e0;        // [1, 6*dim] time projection, shared by all blocks
  Mat ctx;       // [text_len, dim] the embedded, zero-padded context
};

// Validates the inputs (config, weights, latent size, finite t, context shape) and runs the patch embedding, time
// MLP, time projection and text embedding.
DitPrepared dit_prepare(const DitConfig& cfg, const Weights& w, const std::vector<float>& latent, double t,
                        const Mat& context, DitOps& ops);
// Block b on input x (not modified); returns the block's output x + SelfAttn + CrossAttn + FFN. Its linears run
// in the precision the backend's current plan (DitOps::set_plan) gives them, so running one block twice from the
// same input under two plans (calibration) needs no copy of the driver.
Mat dit_block(const DitConfig& cfg, const Weights& w, const DitPrepared& prep, int b, const Mat& x, DitOps& ops);
// Head (LN, modulation by head.modulation + e, Linear) and unpatchify: [out_dim, F, H, W] on the host.
std::vector<float> dit_head(const DitConfig& cfg, const Weights& w, const DitPrepared& prep, Mat x, DitOps& ops);

// Per-block control point. The driver calls the controller for each block b in order with the block's input;
// `run(x)` computes block b on any input with the current plan. The controller returns the block's output: run(x)
// (possibly after choosing a plan, or after running it twice), or x plus a cached residual (skipping the block).
using BlockRun = std::function<Mat(const Mat& x)>;
using BlockController = std::function<Mat(int block, const Mat& x, const BlockRun& run)>;
std::vector<float> dit_forward_controlled(const DitConfig& cfg, const Weights& w, const std::vector<float>& latent,
                                          double t, const Mat& context, DitOps& ops, const BlockController& control);

// Called after each block with the block index and the residual stream [tokens, dim] as the backend holds it
// (a device backend's Mat has no host values: read them through ops.to_host).
using BlockTap = std::function<void(int block, const Mat& x)>;

// One forward: latent [in_dim, F, H, W] at timestep t (Wan's t in [0, 1000]), text context
// [n, text_dim] with 1 <= n <= text_len (zero padded to text_len, as Wan does). Returns [out_dim, F, H, W].
// dit_prepare, every block, dit_head: the same ops as dit_forward_controlled with a controller that runs each block.
std::vector<float> dit_forward(const DitConfig& cfg, const Weights& w, const std::vector<float>& latent, double t,
                               const Mat& context, DitOps& ops, const BlockTap& tap = {});

}  // namespace sixbit::model
