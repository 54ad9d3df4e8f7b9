#include "reference/model/emulator_ops.hpp"

#include "common/check.hpp"
#include "emulation/gemm/qgemm.hpp"

namespace sixbit::model {

const quant::Nvfp4Tensor& EmulatorOps::nvfp4_weight(const float* w, int64_t out, int64_t in) {
  auto it = nvfp4_cache_.find(w);
  if (it == nvfp4_cache_.end()) it = nvfp4_cache_.emplace(w, quant::nvfp4_quantize(w, out, in, recipe_)).first;
  SIXBIT_CHECK(it->second.rows == out && it->second.cols == in, "weight at ", static_cast<const void*>(w), " changed shape");
  return it->second;
}

const quant::Int8Tensor& EmulatorOps::int8_weight(const float* w, int64_t out, int64_t in) {
  auto it = int8_cache_.find(w);
  if (it == int8_cache_.end()) it = int8_cache_.emplace(w, quant::int8_quantize(w, out, in, quant::Int8Granularity::kPerRow)).first;
  SIXBIT_CHECK(it->second.rows == out && it->second.cols == in, "weight at ", static_cast<const void*>(w), " changed shape");
  return it->second;
}

Mat EmulatorOps::linear(const Mat& x, const float* w, int64_t out, const float* bias, const LayerId& id) {
  const LinearPrecision p = plan_.of(id);
  ++calls_[p];
  if (p == LinearPrecision::kFull) return ReferenceOps::linear(x, w, out, bias, id);
  SIXBIT_CHECK(x.cols % 16 == 0, id.name(), ": in_features ", x.cols, " is not a multiple of 16; it cannot run in ", linear_precision_name(p));
  Mat y(x.rows, out);
  switch (p) {
    case LinearPrecision::kW8A8:
      gemm::gemm_w8a8(quant::int8_quantize(x.v.data(), x.rows, x.cols, quant::Int8Granularity::kPerRow), int8_weight(w, out, x.cols), bias, y.v.data());
      break;
    case LinearPrecision::kW4A4:
      gemm::gemm_w4a4(quant::nvfp4_quantize(x.v.data(), x.rows, x.cols, recipe_), nvfp4_weight(w, out, x.cols), bias, y.v.data());
      break;
    case LinearPrecision::kW4A8:
      gemm::gemm_w4a8(quant::int8_quantize(x.v.data(), x.rows, x.cols, quant::Int8Granularity::kPerRow), nvfp4_weight(w, out, x.cols), bias, y.v.data());
      break;
    default: break;
  }
  return y;
}

}  // namespace sixbit::model
