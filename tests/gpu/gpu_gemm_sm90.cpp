// The fused Hopper W8A8 GEMMs (cuda/gemm_sm90.cuh, cuda/gemm_sm90_pingpong.cuh) against the CPU emulator, EXACT:
// int32 sums are exact in any order and the epilogue is the same fp32 operations, so fp32 outputs must be the same
// bits and bf16 outputs the emulator's value rounded by cuda_bf16.h's host conversion. Every schedule (cooperative
// 128 x 256 tiles; ping-pong 128 x 128 tiles per warpgroup, alone and in clusters of 2 with W multicast) on shapes
// that cover every edge of the tiles: M = 1, M and N off the tile, an odd number of 128-row tiles (the cluster's
// second CTA then has no rows), K = 16 (one partial K block), K not a multiple of 128, odd N (the scalar store path),
// and many more tiles than SMs (the persistent loop, the ring's phase wrap, the warpgroups' turns several times
// round). Outputs are poisoned before each launch.
// Skips without a GPU, and on GPUs other than Hopper with the reason. Run: scripts/device.sh tests. (The fast W4A8
// kernel on the same machinery is bounded in gpu_quantize_more.cpp, GpuGemmFast.W4a8Int8ANvfp4WWithinDerivedBound.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emulation/gemm/qgemm.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "tests/gpu/gpu_test_support.hpp"

namespace {
using namespace sixbit;
using namespace gpu_test;

struct Shape {
  int64_t M, N, K;
};
// Both epilogues: the TMA store needs rows of whole 16-byte units (fp32: N % 4 == 0, bf16: N % 8 == 0), the others
// store from registers. 8200 x 600 / 602 / 640: 65 x 3 = 195 cooperative tiles, 65 x 5 = 325 ping-pong ones (> 132
// SMs: several per CTA) with 2 or 5 K blocks per tile: hundreds of ring slots, many phase wraps, tiles starting
// mid-lap; 8200 x 600 takes the TMA store in both precisions, 8200 x 602 in neither. 12800 x 1024 x 48: 800 ping-pong
// tiles of one K block (each warpgroup takes 3 turns per CTA, its loads interleaved with the other's); 4100 x 1040 x
// 272: 33 (odd) x 9 tiles of 3 K blocks.
const Shape kSm90Shapes[] = {{1, 1, 16},       {1, 37, 64},       {130, 65, 48},      {33, 64, 32},    {257, 129, 1536},
                             {128, 256, 128},  {200, 300, 144},   {129, 513, 272},    {8200, 600, 160}, {8200, 602, 160},
                             {8200, 600, 640}, {12800, 1024, 48}, {4100, 1040, 272}};
// kAuto too: the dispatch by K the DiT and the default call take.
const cuda::Sm90Schedule kSchedules[] = {cuda::Sm90Schedule::kCooperative, cuda::Sm90Schedule::kPingpong, cuda::Sm90Schedule::kPingpongCluster2,
                                         cuda::Sm90Schedule::kPingpongWideCluster2, cuda::Sm90Schedule::kAuto};

TEST(GpuGemmSm90, W8a8WgmmaFusedEpilogueMatchesEmulatorBitForBit) {
  SKIP_WITHOUT_SM90();
  int64_t nonzero = 0;
  for (const Shape s : kSm90Shapes) {
    const auto xa = adversarial(s.M, s.K, 41), xw = adversarial(s.N, s.K, 42);
    const std::vector<float> bias = test_bias(s.N);
    const auto a8 = quant::int8_quantize(xa.data(), s.M, s.K, quant::Int8Granularity::kPerRow);
    const auto w8 = quant::int8_quantize(xw.data(), s.N, s.K, quant::Int8Granularity::kPerRow);
    DeviceBuffer<int8_t> da(a8.codes), dw(w8.codes);
    DeviceBuffer<float> dsa(a8.scales), dsw(w8.scales), dbias(bias), y(static_cast<size_t>(s.M * s.N));
    DeviceBuffer<uint16_t> yb(static_cast<size_t>(s.M * s.N));
    for (const bool with_bias : {true, false}) {
      std::vector<float> ref(static_cast<size_t>(s.M * s.N));
      gemm::gemm_w8a8(a8, w8, with_bias ? bias.data() : nullptr, ref.data());
      for (float v : ref) nonzero += v != 0.0f;
      const std::vector<uint16_t> ref_bf16 = bf16_bits_of(ref);
      const float* b = with_bias ? dbias.ptr : nullptr;
      for (const cuda::Sm90Schedule sched : kSchedules) {
        const std::string at = std::string(" ") + cuda::sm90_schedule_name(sched) + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
                               " K=" + std::to_string(s.K) + " bias " + std::to_string(with_bias);
        y.poison();
        cuda::gemm_w8a8_sm90(da.ptr, dsa.ptr, dw.ptr, dsw.ptr, b, y.ptr, s.M, s.N, s.K, nullptr, sched);
        const auto first = y.host();
        EXPECT_TRUE(same_bits(first, ref)) << "fp32 out" << at;
        y.poison();
        cuda::gemm_w8a8_sm90(da.ptr, dsa.ptr, dw.ptr, dsw.ptr, b, y.ptr, s.M, s.N, s.K, nullptr, sched);
        EXPECT_TRUE(same_bits(y.host(), first)) << "run to run" << at;
        yb.poison();
        cuda::gemm_w8a8_sm90(da.ptr, dsa.ptr, dw.ptr, dsw.ptr, b, reinterpret_cast<__nv_bfloat16*>(yb.ptr), s.M, s.N, s.K, nullptr, sched);
        EXPECT_EQ(yb.host(), ref_bf16) << "bf16 out" << at;
      }
    }
  }
  EXPECT_GT(nonzero, 1000000);  // the comparisons were not between all-zero outputs
}

// The fast W4A4 kernel (A decoded from NVFP4 to fp16 in registers, fp16 wgmma, y = acc * ga*gw) sums the same exact
// products as the emulator in another order: the bound of GpuGemm.W4a4FastWithinDerivedBound (gpu_emulator.cpp), per
// output with P = sum_k |a_k w_k| (exact values) and u = 2^-24: tol = (KB*u + K*2^-22 + 8u) * ga*gw * P; bf16 out adds
// its one rounding, 2^-8 * (|ref| + tol). Shapes: kSm90Shapes with K a multiple of 32 (the others must be refused),
// with 4100 x 1040 x 288 for many tiles of 5 K blocks (the 4-stage ring's phase wraps mid-tile). Also required:
// some outputs differ from the emulator (not vacuous), run-to-run identical bits, the poison overwritten.
TEST(GpuGemmSm90, W4a4FastWgmmaWithinDerivedBound) {
  SKIP_WITHOUT_SM90();
  const Shape shapes[] = {{1, 37, 64}, {33, 64, 32}, {257, 129, 1536}, {128, 256, 128}, {200, 300, 160}, {129, 513, 288},
                          {8200, 600, 160}, {8200, 602, 160}, {4100, 1040, 288}};
  int64_t differing[2] = {}, checked = 0;
  for (const Shape s : shapes) {
    const W4a4Case c = w4a4_case(s.M, s.N, s.K, 61);
    const quant::Nvfp4Tensor &a4 = c.a, &w4 = c.w;
    const std::vector<float>& ref = c.ref;
    DeviceBuffer<uint8_t> dap(a4.packed), das(a4.scales), dwp(w4.packed), dws(w4.scales);
    DeviceBuffer<uint16_t> wf16(static_cast<size_t>(s.N * cuda::fast_sm90_padded_k(s.K))), yb(ref.size());
    DeviceBuffer<float> y(ref.size());
    std::vector<float> got[2];
    for (int call = 0; call < 2; ++call) {  // the first writes W's fp16 workspace, the second reuses it
      y.poison();
      if (call == 0) wf16.poison();
      cuda::gemm_w4a4_fast_sm90(dap.ptr, das.ptr, a4.global_decode, call == 0 ? dwp.ptr : nullptr, dws.ptr, w4.global_decode, y.ptr, wf16.ptr, s.M,
                                s.N, s.K, nullptr);
      got[call] = y.host();
    }
    const std::string at = " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K);
    EXPECT_TRUE(same_bits(got[1], got[0])) << "run to run" << at;
    {  // W4a4FastEpilogue: a bias and alpha read from device memory (the same RN(ga * gw)): EXACT, y = RN(y0 + bias[n])
      std::vector<float> bias(static_cast<size_t>(s.N));
      for (int64_t n = 0; n < s.N; ++n) bias[static_cast<size_t>(n)] = 0.375f * static_cast<float>(n % 7 - 3);
      DeviceBuffer<float> dbias(bias), dalpha(std::vector<float>{a4.global_decode * w4.global_decode});
      y.poison();
      cuda::gemm_w4a4_fast_sm90(dap.ptr, das.ptr, 1e30f, nullptr, nullptr, 1e30f, y.ptr, wf16.ptr, s.M, s.N, s.K, nullptr, {dbias.ptr, dalpha.ptr});
      const auto with_bias = y.host();
      std::vector<float> want(got[0].size());
      for (size_t i = 0; i < want.size(); ++i) want[i] = got[0][i] + bias[i % static_cast<size_t>(s.N)];
      EXPECT_TRUE(same_bits(with_bias, want)) << "bias + alpha from device memory" << at;
    }
    yb.poison();
    cuda::gemm_w4a4_fast_sm90(dap.ptr, das.ptr, a4.global_decode, nullptr, nullptr, w4.global_decode, reinterpret_cast<__nv_bfloat16*>(yb.ptr),
                              wf16.ptr, s.M, s.N, s.K, nullptr);
    const auto got16 = yb.host();
    int64_t failures = 0;
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        const size_t i = static_cast<size_t>(m * s.N + n);
        const double g16 = static_cast<double>(fmt::f32_from_bits(uint32_t{got16[i]} << 16));
        const bool ok32 = std::fabs(static_cast<double>(got[0][i]) - ref[i]) <= c.tol[i];  // NaN (poison) fails too
        const bool ok16 = std::fabs(g16 - ref[i]) <= c.bf16_tol(i);
        if ((!ok32 || !ok16) && ++failures <= 5)
          ADD_FAILURE() << "at " << m << "," << n << at << ": fp32 " << got[0][i] << ", bf16 " << g16 << ", emulator " << ref[i] << ", tol " << c.tol[i];
        differing[0] += got[0][i] != ref[i];
        differing[1] += g16 != ref[i];
        ++checked;
      }
    EXPECT_EQ(failures, 0) << at;
  }
  EXPECT_GT(differing[0], 0) << "fp32 out bit-identical to the emulator on all " << checked << " outputs: the comparison looks vacuous";
  EXPECT_GT(differing[1], 0) << "bf16 out bit-identical to the emulator on all outputs: the comparison looks vacuous";
  std::printf("W4A4 fast wgmma: %lld (fp32 out) and %lld (bf16 out) of %lld outputs differ from the emulator, all within the bound\n",
              static_cast<long long>(differing[0]), static_cast<long long>(differing[1]), static_cast<long long>(checked));
  // K not a multiple of 32 (the packed rows would not be 16-byte units for TMA): refused, nothing launched.
  for (const int64_t K : {16, 48}) {
    DeviceBuffer<uint8_t> a(64 * 64), sc(64 * 4);
    DeviceBuffer<uint16_t> wk(64 * 64);
    DeviceBuffer<float> y(64 * 64);
    EXPECT_THROW(cuda::gemm_w4a4_fast_sm90(a.ptr, sc.ptr, 1.0f, nullptr, nullptr, 1.0f, y.ptr, wk.ptr, 64, 64, K, nullptr), Error) << "K=" << K;
  }
}

// A misaligned output (odd element offset) takes the one-value store path; the result must not change.
TEST(GpuGemmSm90, W8a8WgmmaUnalignedOutputMatches) {
  SKIP_WITHOUT_SM90();
  const int64_t M = 70, N = 96, K = 64;
  const auto xa = adversarial(M, K, 51), xw = adversarial(N, K, 52);
  const auto a8 = quant::int8_quantize(xa.data(), M, K, quant::Int8Granularity::kPerRow);
  const auto w8 = quant::int8_quantize(xw.data(), N, K, quant::Int8Granularity::kPerRow);
  std::vector<float> ref(static_cast<size_t>(M * N));
  gemm::gemm_w8a8(a8, w8, nullptr, ref.data());
  DeviceBuffer<int8_t> da(a8.codes), dw(w8.codes);
  DeviceBuffer<float> dsa(a8.scales), dsw(w8.scales), y(ref.size());
  for (const cuda::Sm90Schedule sched : kSchedules) {
    y.poison();
    cuda::gemm_w8a8_sm90(da.ptr, dsa.ptr, dw.ptr, dsw.ptr, nullptr, y.ptr + 1, M, N, K, nullptr, sched);
    std::vector<float> got_all(ref.size());  // y.ptr + 1 .. + M*N: the last value lives in the buffer's spare slots
    SIXBIT_CUDA_CHECK(cudaMemcpy(got_all.data(), y.ptr + 1, ref.size() * sizeof(float), cudaMemcpyDeviceToHost));
    EXPECT_TRUE(same_bits(got_all, ref)) << cuda::sm90_schedule_name(sched);
  }
}

TEST(GpuGemmSm90, W8a8WgmmaRejectsBadInputClearly) {
  SKIP_WITHOUT_SM90();
  DeviceBuffer<int8_t> a(64 * 48), w(64 * 48);
  DeviceBuffer<float> s(64), y(64 * 64);
  EXPECT_THROW(cuda::gemm_w8a8_sm90(a.ptr, s.ptr, w.ptr, s.ptr, nullptr, y.ptr, 64, 64, 24, nullptr), Error);      // K % 16
  EXPECT_THROW(cuda::gemm_w8a8_sm90(a.ptr + 1, s.ptr, w.ptr, s.ptr, nullptr, y.ptr, 64, 64, 32, nullptr), Error);  // misaligned A
  EXPECT_THROW(cuda::gemm_w8a8_sm90(a.ptr, s.ptr, w.ptr, s.ptr, nullptr, y.ptr, 64, 64, 0, nullptr), Error);       // K = 0
  EXPECT_THROW(cuda::gemm_w8a8_sm90(a.ptr, nullptr, w.ptr, s.ptr, nullptr, y.ptr, 64, 64, 32, nullptr), Error);     // no sa
  for (const cuda::Sm90Schedule sched : kSchedules) {
    EXPECT_THROW(cuda::gemm_w8a8_sm90(a.ptr, s.ptr, w.ptr, s.ptr, nullptr, y.ptr, 64, 64, 24, nullptr, sched), Error);      // K % 16
    EXPECT_THROW(cuda::gemm_w8a8_sm90(a.ptr, s.ptr, w.ptr + 8, s.ptr, nullptr, y.ptr, 64, 64, 32, nullptr, sched), Error);  // misaligned W
  }
  EXPECT_THROW(cuda::gemm_w4a8_fast_sm90(a.ptr, s.ptr, nullptr, nullptr, 1.0f, nullptr, y.ptr, nullptr, 64, 64, 32, nullptr), Error);  // no W
}

TEST(GpuGemmSm90, RefusesClearlyOffHopper) {
  SKIP_WITHOUT_GPU();
  std::string why;
  if (cuda::sm90_gemm_supported(0, &why)) GTEST_SKIP() << "Hopper device: the kernel runs here (tested above)";
  EXPECT_FALSE(why.empty());
  EXPECT_THROW(cuda::gemm_w8a8_sm90(nullptr, nullptr, nullptr, nullptr, nullptr, static_cast<float*>(nullptr), 1, 1, 16, nullptr), Error);
}

}  // namespace
