// sixbit/reference/model/dit.cpp: the Wan2.1 T2V DiT driver (see dit.hpp and docs/dit.md).
#include "reference/model/dit.hpp"

#include <cmath>

#include "common/check.hpp"

namespace sixbit::model {

namespace {

const float* get(const Weights& w, const std::string& name) {
  auto it = w.find(name);
  SIXBIT_CHECK(it != w.end(), "dit weights: missing tensor '", name, "'");
  return it->second.data.data();
}

Mat linear(DitOps& ops, const Weights& w, const Mat& x, const std::string& prefix, int64_t out, int block,
           LinearKind kind) {
  return ops.linear(x, get(w, prefix + ".weight"), out, get(w, prefix + ".bias"), LayerId{block, kind});
}

void attention_block(DitOps& ops, const Weights& w, const DitConfig& c, int b, bool self, const Mat& xq,
                     const Mat& kv_src, Mat& out) {
  const std::string p = "blocks." + std::to_string(b) + (self ? ".self_attn" : ".cross_attn");
  const LinearKind kq = self ? LinearKind::self_q : LinearKind::cross_q;
  auto kind = [&](int i) { return LinearKind(int(kq) + i); };
  Mat q = linear(ops, w, xq, p + ".q", c.dim, b, kind(0));
  ops.rms_norm(q, get(w, p + ".norm_q.weight"), c.eps);
  Mat k = linear(ops, w, kv_src, p + ".k", c.dim, b, kind(1));
  ops.rms_norm(k, get(w, p + ".norm_k.weight"), c.eps);
  Mat v = linear(ops, w, kv_src, p + ".v", c.dim, b, kind(2));
  if (self) {  // RoPE after the q/k RMSNorm (rope_apply on norm_q(q(x)) in WanSelfAttention.forward)
    ops.rope(q, c.num_heads, c.grid_f(), c.grid_h(), c.grid_w());
    ops.rope(k, c.num_heads, c.grid_f(), c.grid_h(), c.grid_w());
  }
  Mat a = ops.attention(q, k, v, c.num_heads);
  out = linear(ops, w, a, p + ".o", c.dim, b, kind(3));
}

}  // namespace

Mat patchify(const DitConfig& c, const std::vector<float>& latent, int C) {
  const int64_t F = c.latent_frames, H = c.latent_height, W = c.latent_width;
  SIXBIT_CHECK(int64_t(latent.size()) == C * F * H * W, "patchify: latent has ", latent.size(),
               " values, expected [", C, ",", F, ",", H, ",", W, "]");
  const int pt = c.patch_t, ph = c.patch_h, pw = c.patch_w, gh = c.grid_h(), gw = c.grid_w();
  Mat x(c.tokens(), int64_t(C) * c.patch_volume());
  for (int64_t tok = 0; tok < x.rows; ++tok) {
    const int64_t f = tok / (gh * gw), h = (tok / gw) % gh, wi = tok % gw;
    float* row = x.row(tok);
    for (int ch = 0; ch < C; ++ch)
      for (int p = 0; p < pt; ++p)
        for (int q = 0; q < ph; ++q)
          for (int r = 0; r < pw; ++r)
            *row++ = latent[size_t(((ch * F + f * pt + p) * H + h * ph + q) * W + wi * pw + r)];
  }
  return x;
}

std::vector<float> unpatchify(const DitConfig& c, const Mat& x, int C) {
  const int64_t F = c.latent_frames, H = c.latent_height, W = c.latent_width;
  SIXBIT_CHECK(x.rows == c.tokens() && x.cols == int64_t(C) * c.patch_volume(), "unpatchify: tokens [", x.rows,
               ",", x.cols, "] do not match the config's grid and ", C, " channels");
  const int pt = c.patch_t, ph = c.patch_h, pw = c.patch_w, gh = c.grid_h(), gw = c.grid_w();
  std::vector<float> out(static_cast<size_t>(C * F * H * W));
  for (int64_t tok = 0; tok < x.rows; ++tok) {
    const int64_t f = tok / (gh * gw), h = (tok / gw) % gh, wi = tok % gw;
    const float* row = x.row(tok);
    for (int p = 0; p < pt; ++p)
      for (int q = 0; q < ph; ++q)
        for (int r = 0; r < pw; ++r)
          for (int ch = 0; ch < C; ++ch)
            out[size_t(((ch * F + f * pt + p) * H + h * ph + q) * W + wi * pw + r)] = *row++;
  }
  return out;
}

Mat sinusoidal_embedding(int freq_dim, double t) {
  const int half = freq_dim / 2;
  Mat e(1, freq_dim);
  for (int i = 0; i < half; ++i) {
    const double arg = t * std::pow(10000.0, -double(i) / double(half));
    e.v[size_t(i)] = float(std::cos(arg));
    e.v[size_t(half + i)] = float(std::sin(arg));
  }
  return e;
}

DitPrepared dit_prepare(const DitConfig& c, const Weights& w, const std::vector<float>& latent, double t,
                        const Mat& context, DitOps& ops) {
  c.validate();
  check_weights(c, w);
  SIXBIT_CHECK(std::isfinite(t), "dit_forward: timestep must be finite");
  SIXBIT_CHECK(context.cols == c.text_dim && context.rows >= 1 && context.rows <= c.text_len,
               "dit_forward: context is [", context.rows, ",", context.cols, "], expected [1..", c.text_len, ",",
               c.text_dim, "]");
  const int64_t D = c.dim;
  DitPrepared p;
  p.t = t;
  // Patch embedding: Conv3d with kernel = stride = patch is a Linear over flattened patches.
  p.x = linear(ops, w, ops.from_host(patchify(c, latent, c.in_dim)), "patch_embedding", D, -1, LinearKind::patch_embedding);

  // Time: e = time_embedding(sinusoid); e0 = time_projection(e) = Linear(SiLU(e)) -> [6, dim].
  p.e = linear(ops, w, ops.from_host(sinusoidal_embedding(c.freq_dim, t)), "time_embedding.0", D, -1, LinearKind::time_0);
  ops.silu(p.e);
  p.e = linear(ops, w, p.e, "time_embedding.2", D, -1, LinearKind::time_2);
  Mat e0 = ops.clone(p.e);
  ops.silu(e0);
  p.e0 = linear(ops, w, e0, "time_projection.1", 6 * D, -1, LinearKind::time_projection);

  // Text: zero-pad to text_len, Linear -> GELU(tanh) -> Linear; all text_len tokens are attended.
  Mat ctx(c.text_len, c.text_dim);
  std::copy(context.v.begin(), context.v.end(), ctx.v.begin());
  ctx = linear(ops, w, ops.from_host(std::move(ctx)), "text_embedding.0", D, -1, LinearKind::text_0);
  ops.gelu_tanh(ctx);
  p.ctx = linear(ops, w, ctx, "text_embedding.2", D, -1, LinearKind::text_2);
  return p;
}

Mat dit_block(const DitConfig& c, const Weights& w, const DitPrepared& prep, int b, const Mat& x_in, DitOps& ops) {
  SIXBIT_CHECK(b >= 0 && b < c.num_layers, "dit_block: block ", b, " out of range [0, ", c.num_layers, ")");
  const int64_t D = c.dim;
  const std::string p = "blocks." + std::to_string(b);
  // m = blocks.b.modulation + e0 in fp32 (Wan: `(self.modulation + e).chunk(6, dim=1)` under autocast(float32)).
  const Mat m = ops.add_modulation(get(w, p + ".modulation"), prep.e0, 6 * D);
  Mat x = ops.clone(x_in);

  Mat h = ops.clone(x);  // self-attention: x += SelfAttn(LN1(x) * (1 + m1) + m0) * m2
  ops.layer_norm(h, nullptr, nullptr, c.eps);
  ops.modulate(h, m, 0, 1);
  Mat y;
  attention_block(ops, w, c, b, true, h, h, y);
  ops.gated_add(x, y, &m, 2);

  h = ops.clone(x);  // cross-attention: x += CrossAttn(norm3(x), context), no gate
  ops.layer_norm(h, get(w, p + ".norm3.weight"), get(w, p + ".norm3.bias"), c.eps);
  attention_block(ops, w, c, b, false, h, prep.ctx, y);
  ops.gated_add(x, y, nullptr, 0);

  h = ops.clone(x);  // FFN: x += FFN(LN2(x) * (1 + m4) + m3) * m5
  ops.layer_norm(h, nullptr, nullptr, c.eps);
  ops.modulate(h, m, 3, 4);
  h = linear(ops, w, h, p + ".ffn.0", c.ffn_dim, b, LinearKind::ffn_0);
  ops.gelu_tanh(h);
  y = linear(ops, w, h, p + ".ffn.2", D, b, LinearKind::ffn_2);
  ops.gated_add(x, y, &m, 5);
  return x;
}

std::vector<float> dit_head(const DitConfig& c, const Weights& w, const DitPrepared& prep, Mat x, DitOps& ops) {
  // Head: LN(x) * (1 + h1) + h0 with (h0, h1) = head.modulation + e (the time embedding, not e0).
  const Mat hm = ops.add_modulation(get(w, "head.modulation"), prep.e, 2 * int64_t(c.dim));
  ops.layer_norm(x, nullptr, nullptr, c.eps);
  ops.modulate(x, hm, 0, 1);
  x = linear(ops, w, x, "head.head", int64_t(c.out_dim) * c.patch_volume(), -1, LinearKind::head);
  x = ops.to_host(x);
  return unpatchify(c, x, c.out_dim);
}

std::vector<float> dit_forward_controlled(const DitConfig& c, const Weights& w, const std::vector<float>& latent,
                                          double t, const Mat& context, DitOps& ops, const BlockController& control) {
  SIXBIT_CHECK(bool(control), "dit_forward_controlled: no controller");
  DitPrepared prep = dit_prepare(c, w, latent, t, context, ops);
  Mat x = std::move(prep.x);
  prep.x = Mat();  // the stream now lives in x; the controller sees each block's input through its argument
  for (int b = 0; b < c.num_layers; ++b) {
    const BlockRun run = [&, b](const Mat& in) { return dit_block(c, w, prep, b, in, ops); };
    x = control(b, x, run);
  }
  return dit_head(c, w, prep, std::move(x), ops);
}

std::vector<float> dit_forward(const DitConfig& c, const Weights& w, const std::vector<float>& latent, double t,
                               const Mat& context, DitOps& ops, const BlockTap& tap) {
  return dit_forward_controlled(c, w, latent, t, context, ops, [&](int b, const Mat& x, const BlockRun& run) {
    Mat out = run(x);
    if (tap) tap(b, out);
    return out;
  });
}

}  // namespace sixbit::model
