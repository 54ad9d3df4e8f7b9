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

// Called after each block with the block index and the residual stream [tokens, dim] as the backend holds it
// (a device backend's Mat has no host values: read them through ops.to_host).
using BlockTap = std::function<void(int block, const Mat& x)>;

// One forward: latent [in_dim, F, H, W] at timestep t (Wan's t in [0, 1000]), text context
// [n, text_dim] with 1 <= n <= text_len (zero padded to text_len, as Wan does). Returns [out_dim, F, H, W].
std::vector<float> dit_forward(const DitConfig& cfg, const Weights& w, const std::vector<float>& latent, double t,
                               const Mat& context, DitOps& ops, const BlockTap& tap = {});

}  // namespace sixbit::model
