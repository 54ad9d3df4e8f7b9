// sixbit/cuda/dit/sdpa_cudnn.hpp: cuDNN's fused scaled-dot-product attention (flash) through the cuDNN backend
// graph API, for kFast. libcudnn is opened at run time (dlopen), so the build needs only cudnn.h (compiled out
// when the header is missing: available() then says so) and a machine without libcudnn falls back to our kernel.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

namespace sixbit::cuda::dit {

// q, k, v, o: bf16 [S, heads * d] row-major (token rows; head h in columns h*d .. h*d + d - 1), one sample.
struct SdpaShape {
  int64_t sq = 0, sk = 0;
  int heads = 0, d = 0;
  float scale = 1.0f;
  bool operator<(const SdpaShape& o) const { return std::tie(sq, sk, heads, d, scale) < std::tie(o.sq, o.sk, o.heads, o.d, o.scale); }
};

class CudnnSdpa {
 public:
  CudnnSdpa();
  ~CudnnSdpa();
  CudnnSdpa(const CudnnSdpa&) = delete;
  CudnnSdpa& operator=(const CudnnSdpa&) = delete;

  // libcudnn loaded and its version >= 9 (else false and why).
  bool available(std::string* why);
  std::string version() const;
  // Builds (once per shape) an execution plan: the unified SDPA operation (cuDNN >= 9.13.1) first, else the
  // composite graph cudnn_frontend lowers SDPA to (bmm, scale, softmax as max/sub/exp/sum/log/add/div, bmm).
  // False (and why) when cuDNN has no engine for it.
  bool prepare(const SdpaShape& s, int64_t* workspace_bytes, std::string* why);
  // Runs a prepared shape. Throws sixbit::Error on a cuDNN failure.
  void run(const SdpaShape& s, const void* q, const void* k, const void* v, void* o, void* workspace, cudaStream_t stream);
  // "unified" or "composite" for a prepared shape.
  std::string variant(const SdpaShape& s) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sixbit::cuda::dit
