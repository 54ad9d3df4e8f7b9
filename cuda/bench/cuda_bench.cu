// GPU benchmark of the CUDA path against peers measured in the same run: a device-to-device copy (bandwidth
// ceiling, bytes read + written) and cuBLASLt bf16 GEMM (compute baseline), on the Wan2.1-1.3B shapes at 480p
// (M = 32760 tokens). Median of timed repetitions with CUDA events after warm-up. Rows: the quantizers from fp32
// and from bf16 input (vs copy), the bf16 GEMM with bf16 and with fp32 output, W8A8, the fast W4A4/W4A8 paths and
// the exact kernels (vs bf16).
// Run: build/cuda/cuda_bench [M]   (scripts/device.sh runs it and keeps the table)
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"

namespace {
using namespace sixbit;

// Median of `reps` timed runs of fn (CUDA events) after one warm-up. `flush`, when given, runs before each timed run
// outside the timed interval: the weight rows pass one that writes a buffer larger than L2, so a tensor L2 would keep
// between runs (a weight, <= 55 MB) is read from DRAM each time.
float median_ms(const std::function<void()>& fn, int reps = 7, const std::function<void()>& flush = {}) {
  cudaEvent_t a, b;
  SIXBIT_CUDA_CHECK(cudaEventCreate(&a));
  SIXBIT_CUDA_CHECK(cudaEventCreate(&b));
  fn();  // warm-up: module load, cuBLASLt handle and heuristics
  SIXBIT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    if (flush) flush();
    SIXBIT_CUDA_CHECK(cudaEventRecord(a));
    fn();
    SIXBIT_CUDA_CHECK(cudaEventRecord(b));
    SIXBIT_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    SIXBIT_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return t[t.size() / 2];
}

__global__ void fill_kernel(float* x, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    x[i] = (static_cast<float>(h & 0xFFFFFF) / 16777216.0f - 0.5f) * ((i % 1531) == 7 ? 40.0f : 2.0f);
  }
}
__global__ void to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) y[i] = __float2bfloat16(x[i]);
}

template <typename T>
T* dalloc(size_t count) {
  T* p = nullptr;
  SIXBIT_CUDA_CHECK(cudaMalloc(&p, count * sizeof(T)));
  return p;
}

// The note of a fused fast-path row: its largest distance from the two-pass cuBLASLt path's output (same numerics,
// another summation order), relative to that output's largest magnitude; a NaN or a far-off output is flagged.
std::string distance_note(const std::vector<float>& lt_y, const std::vector<float>& fused_y) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < lt_y.size(); ++i)
    max_diff = std::max(max_diff, std::fabs(double{fused_y[i]} - lt_y[i])), max_ref = std::max(max_ref, std::fabs(double{lt_y[i]}));
  if (!(max_diff <= 1e-5 * max_ref)) return "OUTPUT FAR FROM cuBLASLt path";
  char note[96];
  std::snprintf(note, sizeof note, "target >= 0.95x bf16; fp32 out; max diff %.1e of max |y|", max_diff / max_ref);
  return note;
}

// One "bytes moved" row: time, rate and ratio against the copy measured in the same run.
void print_bw_row(const char* what, float ms, double bytes, double copy_gbs, const char* note) {
  std::printf("%-44s %10.3f %9.0f GB/s %9.2fx  (%s)\n", what, ms, bytes / (ms * 1e6), bytes / (ms * 1e6) / copy_gbs, note);
}

// The fp32 and bf16 quantizer entry points under one name each, so one template times both input types.
void amax_of(const float* x, int64_t n, float* a) { cuda::tensor_amax(x, n, a, nullptr, nullptr); }
void amax_of(const __nv_bfloat16* x, int64_t n, float* a) { cuda::tensor_amax_bf16(x, n, a, nullptr, nullptr); }
void nvfp4_te(const float* x, int64_t M, int64_t K, const float* a, uint8_t* p, uint8_t* s) {
  cuda::nvfp4_quantize(x, M, K, quant::Nvfp4Recipe::kTe, a, p, s, quant::ScaleLayout::kRowMajor, nullptr);
}
void nvfp4_te(const __nv_bfloat16* x, int64_t M, int64_t K, const float* a, uint8_t* p, uint8_t* s) {
  cuda::nvfp4_quantize_bf16(x, M, K, quant::Nvfp4Recipe::kTe, a, p, s, quant::ScaleLayout::kRowMajor, nullptr);
}
void nvfp4_te_one_launch(const float* x, int64_t M, int64_t K, float* a, uint8_t* p, uint8_t* s) {
  cuda::nvfp4_quantize_fused_amax(x, M, K, quant::Nvfp4Recipe::kTe, a, nullptr, p, s, quant::ScaleLayout::kRowMajor, nullptr);
}
void nvfp4_te_one_launch(const __nv_bfloat16* x, int64_t M, int64_t K, float* a, uint8_t* p, uint8_t* s) {
  cuda::nvfp4_quantize_fused_amax_bf16(x, M, K, quant::Nvfp4Recipe::kTe, a, nullptr, p, s, quant::ScaleLayout::kRowMajor, nullptr);
}
void int8_rows(const float* x, int64_t M, int64_t K, int8_t* c, float* s) { cuda::int8_quantize_rows(x, M, K, c, s, nullptr); }
void int8_rows(const __nv_bfloat16* x, int64_t M, int64_t K, int8_t* c, float* s) { cuda::int8_quantize_rows_bf16(x, M, K, c, s, nullptr); }

// NVFP4 (amax + quantize, quantize only) and INT8 per-row on A [M, K]; bytes = input read + codes and scales written.
template <typename T>
void bench_quantizers(const T* x, int64_t M, int64_t K, float* amax, uint8_t* xp, uint8_t* xs, int8_t* x8, float* sx, double copy_gbs) {
  constexpr bool kBf16 = sizeof(T) == 2;
  const double in = static_cast<double>(sizeof(T)) * M * K;
  const double nv_bytes = in + M * K / 2.0 + M * K / 16.0, i8_bytes = in + 1.0 * M * K + 4.0 * M;
  const float amax_ms = median_ms([&] { amax_of(x, M * K, amax); });
  const float nv_ms = median_ms([&] { amax_of(x, M * K, amax), nvfp4_te(x, M, K, amax, xp, xs); });
  const float nvq_ms = median_ms([&] { nvfp4_te(x, M, K, amax, xp, xs); });
  const float nv1_ms = median_ms([&] { nvfp4_te_one_launch(x, M, K, amax, xp, xs); });
  const float i8_ms = median_ms([&] { int8_rows(x, M, K, x8, sx); });
  print_bw_row(kBf16 ? "nvfp4 te quantize A bf16 (amax + quantize)" : "nvfp4 te quantize A (amax + quantize)", nv_ms, nv_bytes, copy_gbs,
               kBf16 ? "bf16 in: 2 B read per element" : "target >= 0.85x copy");
  print_bw_row(kBf16 ? "nvfp4 te quantize A bf16 (quantize only)" : "nvfp4 te quantize A (quantize only)", nvq_ms, nv_bytes, copy_gbs,
               kBf16 ? "bf16 in, amax known" : "amax known: one pass");
  print_bw_row(kBf16 ? "nvfp4 te quantize A bf16 (one launch)" : "nvfp4 te quantize A (one launch)", nv1_ms, nv_bytes, copy_gbs,
               "amax + quantize, part kept on chip");
  print_bw_row(kBf16 ? "  tensor amax A bf16 alone" : "  tensor amax A alone", amax_ms, in, copy_gbs, "bytes read only");
  print_bw_row(kBf16 ? "int8 per-row quantize A bf16" : "int8 per-row quantize A", i8_ms, i8_bytes, copy_gbs, kBf16 ? "bf16 in" : "target >= 0.85x copy");
}

// NVFP4 of a weight W [N, K] (fp32 or bf16), with L2 emptied first (a weight fits in it): amax + quantize in two
// launches, and in one (nvfp4_quantize_fused_amax), against a copy of W's own bytes also from a cold L2 and against the
// 1 GiB copy (the issue's ratio). Bytes = W read once + codes and scales written.
template <typename T>
void bench_weight_quantizer(const T* w, int64_t N, int64_t K, float* amax, uint8_t* wp, uint8_t* ws, void* copy_dst, double copy_gbs,
                            const std::function<void()>& flush) {
  constexpr bool kBf16 = sizeof(T) == 2;
  const double in = static_cast<double>(sizeof(T)) * N * K, bytes = in + N * K / 2.0 + N * K / 16.0;
  const auto cold_ms = [&](const std::function<void()>& fn) { return median_ms(fn, 7, flush); };
  const float copy_ms = cold_ms([&] { SIXBIT_CUDA_CHECK(cudaMemcpyAsync(copy_dst, w, static_cast<size_t>(in), cudaMemcpyDeviceToDevice)); });
  const float two_ms = cold_ms([&] { amax_of(w, N * K, amax), nvfp4_te(w, N, K, amax, wp, ws); });
  const float one_ms = cold_ms([&] { nvfp4_te_one_launch(w, N, K, amax, wp, ws); });
  const double same_size_copy_gbs = 2.0 * in / (copy_ms * 1e6);
  char note[96];
  std::snprintf(note, sizeof note, "%.2fx a copy of W (%.0f GB/s); two launches %.3f ms", bytes / (one_ms * 1e6) / same_size_copy_gbs,
                same_size_copy_gbs, two_ms);
  print_bw_row(kBf16 ? "nvfp4 te quantize W bf16, two launches, cold" : "nvfp4 te quantize W, two launches, cold", two_ms, bytes, copy_gbs,
               "amax, then quantize");
  print_bw_row(kBf16 ? "nvfp4 te quantize W bf16, one launch, cold" : "nvfp4 te quantize W, one launch, cold", one_ms, bytes, copy_gbs, note);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string why;
    if (!cuda::device_available(&why)) {
      std::fprintf(stderr, "cuda_bench: no GPU: %s\n", why.c_str());
      return 1;
    }
    const int64_t M = argc > 1 ? std::atoll(argv[1]) : 32760;
    cudaDeviceProp prop{};
    SIXBIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device: %s, %d SMs, M = %lld\n", prop.name, prop.multiProcessorCount, static_cast<long long>(M));

    // Copy ceiling: 2 GiB moved (1 GiB read + 1 GiB written). First ~0.5 s of copies so the GPU's clocks and power
    // state have settled before any timed row (one run's first-shape quantizer rows were ~10% below the second's).
    const size_t copy_bytes = size_t{1} << 30;
    void *c0 = dalloc<char>(copy_bytes), *c1 = dalloc<char>(copy_bytes);
    for (int i = 0; i < 600; ++i) SIXBIT_CUDA_CHECK(cudaMemcpyAsync(c1, c0, copy_bytes, cudaMemcpyDeviceToDevice));
    SIXBIT_CUDA_CHECK(cudaDeviceSynchronize());
    const float copy_ms = median_ms([&] { SIXBIT_CUDA_CHECK(cudaMemcpyAsync(c1, c0, copy_bytes, cudaMemcpyDeviceToDevice)); });
    const double copy_gbs = 2.0 * copy_bytes / (copy_ms * 1e6);
    SIXBIT_CUDA_CHECK(cudaFree(c0));
    SIXBIT_CUDA_CHECK(cudaFree(c1));
    std::printf("\n%-44s %10s %12s %10s\n", "what", "ms", "rate", "ratio");
    std::printf("%-44s %10.3f %9.0f GB/s %10s\n", "device-to-device copy (read + write)", copy_ms, copy_gbs, "1.00x");

    const int64_t shapes[3][2] = {{1536, 1536}, {1536, 8960}, {8960, 1536}};
    for (const auto& kn : shapes) {
      const int64_t K = kn[0], N = kn[1];
      float *x = dalloc<float>(static_cast<size_t>(M * K)), *w = dalloc<float>(static_cast<size_t>(N * K)), *y = dalloc<float>(static_cast<size_t>(M * N));
      fill_kernel<<<1024, 256>>>(x, M * K, 1);
      fill_kernel<<<1024, 256>>>(w, N * K, 2);
      SIXBIT_CUDA_CHECK_LAUNCH();
      float* amax = dalloc<float>(1);
      uint8_t *xp = dalloc<uint8_t>(static_cast<size_t>(M * K / 2)), *xs = dalloc<uint8_t>(static_cast<size_t>(M * K / 16));
      uint8_t *wp = dalloc<uint8_t>(static_cast<size_t>(N * K / 2)), *ws = dalloc<uint8_t>(static_cast<size_t>(N * K / 16));
      int8_t *x8 = dalloc<int8_t>(static_cast<size_t>(M * K)), *w8 = dalloc<int8_t>(static_cast<size_t>(N * K));
      float *sx = dalloc<float>(static_cast<size_t>(M)), *sw = dalloc<float>(static_cast<size_t>(N));
      int32_t* acc = dalloc<int32_t>(static_cast<size_t>(M * N));
      __nv_bfloat16 *xb = dalloc<__nv_bfloat16>(static_cast<size_t>(M * K)), *wb = dalloc<__nv_bfloat16>(static_cast<size_t>(N * K)),
                    *yb = dalloc<__nv_bfloat16>(static_cast<size_t>(M * N));
      to_bf16_kernel<<<1024, 256>>>(x, xb, M * K);
      to_bf16_kernel<<<1024, 256>>>(w, wb, N * K);
      SIXBIT_CUDA_CHECK_LAUNCH();
      cuda::int8_quantize_rows(w, N, K, w8, sw, nullptr);
      std::printf("-- M=%lld K=%lld N=%lld\n", static_cast<long long>(M), static_cast<long long>(K), static_cast<long long>(N));
      {  // the weight W [N, K] (this shape's), from a cold L2; flushing writes 128 MiB (L2 is 50 MB)
        const size_t flush_bytes = size_t{128} << 20;
        void* flush_buf = dalloc<char>(flush_bytes);
        void* copy_dst = dalloc<float>(static_cast<size_t>(N * K));
        const auto flush = [&] { SIXBIT_CUDA_CHECK(cudaMemsetAsync(flush_buf, 0x5A, flush_bytes)); };
        bench_weight_quantizer<float>(w, N, K, amax, wp, ws, copy_dst, copy_gbs, flush);
        bench_weight_quantizer<__nv_bfloat16>(wb, N, K, amax, wp, ws, copy_dst, copy_gbs, flush);
        SIXBIT_CUDA_CHECK(cudaFree(flush_buf));
        SIXBIT_CUDA_CHECK(cudaFree(copy_dst));
      }
      cuda::tensor_amax(w, N * K, amax, nullptr, nullptr);  // the GEMMs take the fp32 W's codes (the bf16 row above left its own)
      cuda::nvfp4_quantize(w, N, K, quant::Nvfp4Recipe::kTe, amax, wp, ws, quant::ScaleLayout::kRowMajor, nullptr);

      bench_quantizers<float>(x, M, K, amax, xp, xs, x8, sx, copy_gbs);
      bench_quantizers<__nv_bfloat16>(xb, M, K, amax, xp, xs, x8, sx, copy_gbs);  // same bytes written, 2 B read per element
      cuda::int8_quantize_rows(x, M, K, x8, sx, nullptr);  // the GEMMs below take the fp32 input's codes

      const double flops = 2.0 * M * N * K;
      auto gemm_row = [&](const char* what, float ms, float base_ms, const char* note) {
        std::printf("%-44s %10.3f %8.0f TOP/s %9.2fx  (%s)\n", what, ms, flops / (ms * 1e9), base_ms / ms, note);
      };
      const float bf_ms = median_ms([&] { cuda::gemm_bf16_cublaslt(xb, wb, yb, M, N, K, nullptr); });
      const float bf32_ms = median_ms([&] { cuda::gemm_bf16_f32out_cublaslt(xb, wb, y, 1.0f, M, N, K, nullptr); });
      std::printf("%-44s %10.3f %8.0f TFLOP/s %9s\n", "cuBLASLt bf16 GEMM (baseline)", bf_ms, flops / (bf_ms * 1e9), "1.00x");
      gemm_row("  cuBLASLt bf16 GEMM, fp32 out, alone", bf32_ms, bf_ms, "fp32 out, alpha 1: the fast paths' GEMM");

      const float w8_ms = median_ms([&] { cuda::gemm_w8a8_cublaslt(x8, sx, w8, sw, nullptr, y, acc, M, N, K, nullptr); });
      const float i32_ms = median_ms([&] { cuda::gemm_i8_int32_cublaslt(x8, w8, acc, M, N, K, nullptr); });
      const float ep_ms = median_ms([&] { cuda::w8a8_epilogue(acc, sx, sw, nullptr, y, M, N, nullptr); });
      const float w8b_ms = median_ms([&] { cuda::gemm_w8a8_cublaslt(x8, sx, w8, sw, nullptr, yb, acc, M, N, K, nullptr); });
      gemm_row("W8A8 cuBLASLt int8 + exact epilogue", w8_ms, bf_ms, "target >= 1.8x bf16; fp32 out");
      gemm_row("W8A8 cuBLASLt int8 + exact epilogue, bf16", w8b_ms, bf_ms, "bf16 out, like the baseline");
      gemm_row("  of which cuBLASLt int8 GEMM", i32_ms, bf_ms, "int32 out, no epilogue");
      print_bw_row("  of which epilogue (int32 in, fp32 out)", ep_ms, 8.0 * M * N, copy_gbs, "vs copy bandwidth");
      // The fp32 output y after `run`, poisoned first (0xFF: NaN) so an output the kernel never wrote shows.
      auto output_of = [&](auto run) {
        std::vector<float> h(static_cast<size_t>(M * N));
        SIXBIT_CUDA_CHECK(cudaMemset(y, 0xFF, h.size() * sizeof(float)));
        run();
        SIXBIT_CUDA_CHECK(cudaMemcpy(h.data(), y, h.size() * sizeof(float), cudaMemcpyDeviceToHost));
        return h;
      };
      if (cuda::sm90_gemm_supported(0)) {  // the fused wgmma kernels, each checked bit-identical to the row above first
        const auto lt_y = output_of([&] { cuda::gemm_w8a8_cublaslt(x8, sx, w8, sw, nullptr, y, acc, M, N, K, nullptr); });
        for (const auto sched : {cuda::Sm90Schedule::kCooperative, cuda::Sm90Schedule::kPingpong, cuda::Sm90Schedule::kPingpongCluster2,
                                 cuda::Sm90Schedule::kPingpongWideCluster2}) {
          const std::string name = std::string("W8A8 wgmma ") + cuda::sm90_schedule_name(sched);
          const auto sm90_y = output_of([&] { cuda::gemm_w8a8_sm90(x8, sx, w8, sw, nullptr, y, M, N, K, nullptr, sched); });
          const bool same = std::memcmp(lt_y.data(), sm90_y.data(), lt_y.size() * sizeof(float)) == 0;
          const float f_ms = median_ms([&] { cuda::gemm_w8a8_sm90(x8, sx, w8, sw, nullptr, y, M, N, K, nullptr, sched); });
          const float fb_ms = median_ms([&] { cuda::gemm_w8a8_sm90(x8, sx, w8, sw, nullptr, yb, M, N, K, nullptr, sched); });
          gemm_row(name.c_str(), f_ms, bf_ms, same ? "target >= 1.8x bf16; fp32 out; == cuBLASLt path" : "OUTPUT DIFFERS from cuBLASLt path");
          gemm_row((name + ", bf16").c_str(), fb_ms, bf_ms, "bf16 out, like the baseline");
        }
      }

      // Fast W4A4: weights dequantized once (constant), A dequantized per call into xb, then bf16 GEMM, fp32 out.
      cuda::nvfp4_dequantize_bf16(wp, ws, N, K, wb, nullptr);
      const float deq_ms = median_ms([&] { cuda::nvfp4_dequantize_bf16(xp, xs, M, K, xb, nullptr); });
      const float fast_ms = median_ms([&] { cuda::gemm_w4a4_fast(xp, xs, 1.0f, nullptr, nullptr, 1.0f, y, xb, wb, M, N, K, nullptr); });
      const float fastb_ms = median_ms([&] { cuda::gemm_w4a4_fast(xp, xs, 1.0f, nullptr, nullptr, 1.0f, yb, xb, wb, M, N, K, nullptr); });
      gemm_row("W4A4 fast (dequant A + bf16 GEMM, fp32 out)", fast_ms, bf_ms, "target >= 0.95x bf16");
      gemm_row("W4A4 fast, bf16 out", fastb_ms, bf_ms, "bf16 out, like the baseline");
      print_bw_row("  of which NVFP4 -> bf16 dequantize A", deq_ms, M * K * (0.5 + 1.0 / 16 + 2.0), copy_gbs, "vs copy bandwidth");
      // A fused Hopper fast path against its two-pass cuBLASLt twin: `two_pass` writes y; `fused(w_packed, w_scales, out)`
      // runs the kernel into out (y or yb) with its own W workspace, written by the first call (the weight) and reused.
      auto fused_rows = [&](const char* name, const auto& two_pass, const auto& fused) {
        if (!cuda::sm90_gemm_supported(0)) return;
        const auto lt_y = output_of(two_pass);
        const auto sm90_y = output_of([&] { fused(wp, ws, y); });
        const std::string note = distance_note(lt_y, sm90_y);
        const float f_ms = median_ms([&] { fused(nullptr, nullptr, y); });
        const float fb_ms = median_ms([&] { fused(nullptr, nullptr, yb); });
        gemm_row(name, f_ms, bf_ms, note.c_str());
        gemm_row((std::string(name) + ", bf16").c_str(), fb_ms, bf_ms, "bf16 out, like the baseline");
      };
      void* wk = dalloc<uint16_t>(static_cast<size_t>(N * cuda::fast_sm90_padded_k(K)));  // the fused kernels' W, their K order
      fused_rows(
          "W4A4 fast wgmma (A decoded in registers), fused",
          [&] { cuda::gemm_w4a4_fast(xp, xs, 1.0f, nullptr, nullptr, 1.0f, y, xb, wb, M, N, K, nullptr); },
          [&](const uint8_t* w_packed, const uint8_t* w_scales, auto* out) {
            cuda::gemm_w4a4_fast_sm90(xp, xs, 1.0f, w_packed, w_scales, 1.0f, out, wk, M, N, K, nullptr);
          });
      // Fast W4A8: the same dequantized W, int8 A converted to bf16 per call into xb, bf16 GEMM, per-row epilogue.
      const float fast48_ms = median_ms([&] { cuda::gemm_w4a8_fast(x8, sx, nullptr, nullptr, 1.0f, nullptr, y, xb, wb, M, N, K, nullptr); });
      gemm_row("W4A8 fast (A to bf16 + bf16 GEMM + row scale)", fast48_ms, bf_ms, "target >= 0.95x bf16");
      fused_rows(
          "W4A8 fast wgmma (A in registers), fused",
          [&] { cuda::gemm_w4a8_fast(x8, sx, nullptr, nullptr, 1.0f, nullptr, y, xb, wb, M, N, K, nullptr); },
          [&](const uint8_t* w_packed, const uint8_t* w_scales, auto* out) {
            cuda::gemm_w4a8_fast_sm90(x8, sx, w_packed, w_scales, 1.0f, nullptr, out, wk, M, N, K, nullptr);
          });
      const float w4_ms = median_ms([&] { cuda::gemm_w4a4_exact(xp, xs, 1.0f, wp, ws, 1.0f, nullptr, y, M, N, K, nullptr); }, 3);
      const float w48_ms = median_ms([&] { cuda::gemm_w4a8_exact(x8, sx, wp, ws, 1.0f, nullptr, y, M, N, K, nullptr); }, 3);
      std::printf("%-44s %10.3f %8.1f TOP/s %9.3fx  (target >= 0.5x bf16)\n", "W4A4 exact kernel", w4_ms, flops / (w4_ms * 1e9), bf_ms / w4_ms);
      std::printf("%-44s %10.3f %8.1f TOP/s %9.3fx  (target >= 0.5x bf16)\n", "W4A8 exact kernel", w48_ms, flops / (w48_ms * 1e9), bf_ms / w48_ms);
      // The exact wgmma kernels (block sums on the tensor cores), each checked bit-identical to the IMMA kernel above first.
      auto exact_rows = [&](const char* name, const auto& tiled, const auto& wgmma) {
        if (!cuda::sm90_gemm_supported(0)) return;
        const auto tiled_y = output_of(tiled);
        const auto wgmma_y = output_of([&] { wgmma(wp, ws, y); });
        const bool same = std::memcmp(tiled_y.data(), wgmma_y.data(), tiled_y.size() * sizeof(float)) == 0;
        const float f_ms = median_ms([&] { wgmma(nullptr, nullptr, y); });
        const float fb_ms = median_ms([&] { wgmma(nullptr, nullptr, yb); });
        gemm_row(name, f_ms, bf_ms, same ? "target >= 0.5x bf16; fp32 out; == IMMA exact kernel" : "OUTPUT DIFFERS from the IMMA exact kernel");
        gemm_row((std::string(name) + ", bf16").c_str(), fb_ms, bf_ms, "bf16 out (the exact value rounded once)");
      };
      exact_rows(
          "W4A4 exact wgmma (block sums on tensor cores)", [&] { cuda::gemm_w4a4_exact(xp, xs, 1.0f, wp, ws, 1.0f, nullptr, y, M, N, K, nullptr); },
          [&](const uint8_t* w_packed, const uint8_t* w_scales, auto* out) {
            cuda::gemm_w4a4_exact_sm90(xp, xs, 1.0f, w_packed, w_scales, 1.0f, nullptr, out, wk, M, N, K, nullptr);
          });
      exact_rows(
          "W4A8 exact wgmma (block sums on tensor cores)", [&] { cuda::gemm_w4a8_exact(x8, sx, wp, ws, 1.0f, nullptr, y, M, N, K, nullptr); },
          [&](const uint8_t* w_packed, const uint8_t* w_scales, auto* out) {
            cuda::gemm_w4a8_exact_sm90(x8, sx, w_packed, w_scales, 1.0f, nullptr, out, wk, M, N, K, nullptr);
          });
      for (void* p : std::initializer_list<void*>{x, w, y, amax, xp, xs, wp, ws, x8, w8, sx, sw, acc, xb, wb, yb, wk}) SIXBIT_CUDA_CHECK(cudaFree(p));
    }
    {  // The first shape's fp32 quantizer rows once more, on fresh buffers, after everything else: one run showed the
       // first shape's NVFP4 rows ~10% below the second shape's identical ones, and this separates position from kernel.
      const int64_t K = shapes[0][0];
      float* x = dalloc<float>(static_cast<size_t>(M * K));
      fill_kernel<<<1024, 256>>>(x, M * K, 1);
      SIXBIT_CUDA_CHECK_LAUNCH();
      float* amax = dalloc<float>(1);
      uint8_t *xp = dalloc<uint8_t>(static_cast<size_t>(M * K / 2)), *xs = dalloc<uint8_t>(static_cast<size_t>(M * K / 16));
      int8_t* x8 = dalloc<int8_t>(static_cast<size_t>(M * K));
      float* sx = dalloc<float>(static_cast<size_t>(M));
      std::printf("-- again at the end: M=%lld K=%lld\n", static_cast<long long>(M), static_cast<long long>(K));
      bench_quantizers<float>(x, M, K, amax, xp, xs, x8, sx, copy_gbs);
      for (void* p : std::initializer_list<void*>{x, amax, xp, xs, x8, sx}) SIXBIT_CUDA_CHECK(cudaFree(p));
    }
    if (cuda::sm90_gemm_supported(0)) {  // where the W8A8 schedules cross over in K (Sm90Schedule::kAuto's rule)
      const int64_t N = 1536, k_max = 6144;
      float *x = dalloc<float>(static_cast<size_t>(M * k_max)), *w = dalloc<float>(static_cast<size_t>(N * k_max));
      float* y = dalloc<float>(static_cast<size_t>(M * N));
      __nv_bfloat16 *xb = dalloc<__nv_bfloat16>(static_cast<size_t>(M * k_max)), *wb = dalloc<__nv_bfloat16>(static_cast<size_t>(N * k_max)),
                    *yb = dalloc<__nv_bfloat16>(static_cast<size_t>(M * N));
      int8_t *x8 = dalloc<int8_t>(static_cast<size_t>(M * k_max)), *w8 = dalloc<int8_t>(static_cast<size_t>(N * k_max));
      float *sx = dalloc<float>(static_cast<size_t>(M)), *sw = dalloc<float>(static_cast<size_t>(N));
      for (const int64_t K : {1536, 2304, 3072, 4608, 6144}) {
        fill_kernel<<<1024, 256>>>(x, M * K, 1);
        fill_kernel<<<1024, 256>>>(w, N * K, 2);
        to_bf16_kernel<<<1024, 256>>>(x, xb, M * K);
        to_bf16_kernel<<<1024, 256>>>(w, wb, N * K);
        SIXBIT_CUDA_CHECK_LAUNCH();
        cuda::int8_quantize_rows(x, M, K, x8, sx, nullptr);
        cuda::int8_quantize_rows(w, N, K, w8, sw, nullptr);
        std::printf("-- W8A8 schedules: M=%lld K=%lld N=%lld\n", static_cast<long long>(M), static_cast<long long>(K), static_cast<long long>(N));
        const double flops = 2.0 * M * N * K;
        const float bf_ms = median_ms([&] { cuda::gemm_bf16_cublaslt(xb, wb, yb, M, N, K, nullptr); });
        std::printf("%-44s %10.3f %8.0f TFLOP/s %9s\n", "cuBLASLt bf16 GEMM (baseline)", bf_ms, flops / (bf_ms * 1e9), "1.00x");
        for (const auto sched : {cuda::Sm90Schedule::kCooperative, cuda::Sm90Schedule::kPingpongCluster2, cuda::Sm90Schedule::kPingpongWideCluster2,
                                 cuda::Sm90Schedule::kAuto}) {
          const char* name = cuda::sm90_schedule_name(sched);
          const float f_ms = median_ms([&] { cuda::gemm_w8a8_sm90(x8, sx, w8, sw, nullptr, y, M, N, K, nullptr, sched); });
          const float fb_ms = median_ms([&] { cuda::gemm_w8a8_sm90(x8, sx, w8, sw, nullptr, yb, M, N, K, nullptr, sched); });
          std::printf("W8A8 %-39s %10.3f %8.0f TOP/s %9.2fx\n", name, f_ms, flops / (f_ms * 1e9), bf_ms / f_ms);
          std::printf("W8A8 %-39s %10.3f %8.0f TOP/s %9.2fx\n", (std::string(name) + ", bf16").c_str(), fb_ms, flops / (fb_ms * 1e9), bf_ms / fb_ms);
        }
      }
      for (void* p : std::initializer_list<void*>{x, w, y, xb, wb, yb, x8, w8, sx, sw}) SIXBIT_CUDA_CHECK(cudaFree(p));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_bench: error: %s\n", e.what());
    return 1;
  }
}
