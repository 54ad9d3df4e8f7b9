// sixbit/emulation/gemm/qgemm_tiles.hpp (internal to qgemm.cpp): the vectorized inner kernel shared by the three
// quantized GEMMs. Lanes are 16 consecutive outputs n; 8 rows m share each weight load. Weights are packed once
// per call as int16 pairs (k, k+1) per lane, so one multiply-add instruction (vpdpwssd / vpmaddwd) does 32 exact
// integer products. Per output the arithmetic is exactly the scalar definition in qgemm.hpp: integer sums per
// 16-element block (or over all of K for W8A8), then one fp32 multiply and one fp32 add per block in increasing
// block order (separate instructions; the build forbids FMA contraction).
#pragma once

#include <cstdint>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define SIXBIT_QGEMM_AVX512 1
#endif

namespace sixbit::gemm::detail {

inline constexpr int64_t kLanes = 16;  // outputs per vector
inline constexpr int64_t kRows = 8;    // rows of A per weight load (8 accumulators + 8 partial sums fit the 32 zmm registers)

// Weights [N, K] as int16 pairs: packed[((t * K/2) + q) * 16 + l] = w[16t + l][2q] | w[16t + l][2q+1] << 16.
// Rows past N are zero (their outputs are never stored).
inline std::vector<int32_t> pack_weight_pairs(const int8_t* w, int64_t N, int64_t K) {
  const int64_t tiles = (N + kLanes - 1) / kLanes, pairs = K / 2;
  std::vector<int32_t> packed(static_cast<size_t>(tiles * pairs * kLanes), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t q = 0; q < pairs; ++q) {
      const uint32_t lo = static_cast<uint16_t>(int16_t{w[n * K + 2 * q]}), hi = static_cast<uint16_t>(int16_t{w[n * K + 2 * q + 1]});
      packed[static_cast<size_t>(((n / kLanes) * pairs + q) * kLanes + n % kLanes)] = static_cast<int32_t>(lo | (hi << 16));
    }
  return packed;
}

// Activations [M, K] as int16 pairs, one int32 per pair (broadcast to all lanes in the kernel).
inline std::vector<int32_t> pack_activation_pairs(const int8_t* a, int64_t M, int64_t K) {
  std::vector<int32_t> packed(static_cast<size_t>(M * K / 2));
  for (int64_t i = 0; i < M * K / 2; ++i) {
    const uint32_t lo = static_cast<uint16_t>(int16_t{a[2 * i]}), hi = static_cast<uint16_t>(int16_t{a[2 * i + 1]});
    packed[static_cast<size_t>(i)] = static_cast<int32_t>(lo | (hi << 16));
  }
  return packed;
}

// Block scales of W transposed to [tile][block][lane] so one vector load gives 16 outputs' scales.
inline std::vector<float> pack_weight_block_scales(const float* sw, int64_t N, int64_t KB) {
  const int64_t tiles = (N + kLanes - 1) / kLanes;
  std::vector<float> packed(static_cast<size_t>(tiles * KB * kLanes), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < KB; ++j) packed[static_cast<size_t>(((n / kLanes) * KB + j) * kLanes + n % kLanes)] = sw[n * KB + j];
  return packed;
}

// Integer dot over all of K (W8A8): acc[r][l] for rows m0..m0+rows-1 and outputs 16t..16t+15.
inline void int_dot_tile(const int32_t* apairs, const int32_t* wpairs, int64_t K, int64_t m0, int64_t rows, int64_t t, int32_t acc[kRows][kLanes]) {
  const int64_t pairs = K / 2;
  const int32_t* wt = wpairs + t * pairs * kLanes;
#if defined(SIXBIT_QGEMM_AVX512)
  __m512i s[kRows];
  for (int r = 0; r < kRows; ++r) s[r] = _mm512_setzero_si512();
  for (int64_t q = 0; q < pairs; ++q) {
    const __m512i wv = _mm512_loadu_si512(wt + q * kLanes);
    for (int r = 0; r < kRows; ++r) {
      if (r >= rows) break;
      const __m512i av = _mm512_set1_epi32(apairs[(m0 + r) * pairs + q]);
#if defined(__AVX512VNNI__)
      s[r] = _mm512_dpwssd_epi32(s[r], av, wv);
#else
      s[r] = _mm512_add_epi32(s[r], _mm512_madd_epi16(av, wv));
#endif
    }
  }
  for (int r = 0; r < kRows; ++r) _mm512_storeu_si512(acc[r], s[r]);
#else
  for (int r = 0; r < rows; ++r)
    for (int l = 0; l < kLanes; ++l) {
      int32_t sum = 0;
      for (int64_t q = 0; q < pairs; ++q) {
        const int32_t a = apairs[(m0 + r) * pairs + q], w = wt[q * kLanes + l];
        sum += int32_t{static_cast<int16_t>(a & 0xFFFF)} * static_cast<int16_t>(w & 0xFFFF) + int32_t{static_cast<int16_t>(a >> 16)} * static_cast<int16_t>(w >> 16);
      }
      acc[r][l] = sum;
    }
#endif
}

// Block-scaled dot (W4A4 / W4A8): for each 16-element block j in increasing order,
//   acc = acc + (float)p_j * (row_scale[m][j] * sw[j][lane])   (W4A4: row_scale = A's block scales)
//   acc = acc + (float)p_j * sw[j][lane]                        (W4A8: row_scale == nullptr)
// Both products are exact in fp32 (qgemm.hpp), so only the additions round, in the defined order.
inline void block_dot_tile(const int32_t* apairs, const int32_t* wpairs, const float* a_block_scales, const float* w_scales_packed, int64_t K,
                           int64_t m0, int64_t rows, int64_t t, float out[kRows][kLanes]) {
  const int64_t pairs = K / 2, KB = K / 16;
  const int32_t* wt = wpairs + t * pairs * kLanes;
  const float* st = w_scales_packed + t * KB * kLanes;
#if defined(SIXBIT_QGEMM_AVX512)
  __m512 acc[kRows];
  for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t j = 0; j < KB; ++j) {
    __m512i p[kRows];
    for (int r = 0; r < kRows; ++r) p[r] = _mm512_setzero_si512();
    for (int64_t q = 8 * j; q < 8 * j + 8; ++q) {
      const __m512i wv = _mm512_loadu_si512(wt + q * kLanes);
      for (int r = 0; r < kRows; ++r) {
        if (r >= rows) break;
        const __m512i av = _mm512_set1_epi32(apairs[(m0 + r) * pairs + q]);
#if defined(__AVX512VNNI__)
        p[r] = _mm512_dpwssd_epi32(p[r], av, wv);
#else
        p[r] = _mm512_add_epi32(p[r], _mm512_madd_epi16(av, wv));
#endif
      }
    }
    const __m512 sw = _mm512_loadu_ps(st + j * kLanes);
    for (int r = 0; r < kRows; ++r) {
      if (r >= rows) break;
      const __m512 scale = a_block_scales ? _mm512_mul_ps(_mm512_set1_ps(a_block_scales[(m0 + r) * KB + j]), sw) : sw;
      acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_cvtepi32_ps(p[r]), scale));
    }
  }
  for (int r = 0; r < kRows; ++r) _mm512_storeu_ps(out[r], acc[r]);
#else
  for (int r = 0; r < rows; ++r)
    for (int l = 0; l < kLanes; ++l) {
      float acc = 0.0f;
      for (int64_t j = 0; j < KB; ++j) {
        int32_t p = 0;
        for (int64_t q = 8 * j; q < 8 * j + 8; ++q) {
          const int32_t a = apairs[(m0 + r) * pairs + q], w = wt[q * kLanes + l];
          p += int32_t{static_cast<int16_t>(a & 0xFFFF)} * static_cast<int16_t>(w & 0xFFFF) + int32_t{static_cast<int16_t>(a >> 16)} * static_cast<int16_t>(w >> 16);
        }
        const float sw = st[j * kLanes + l];
        const float scale = a_block_scales ? a_block_scales[(m0 + r) * KB + j] * sw : sw;
        acc = acc + static_cast<float>(p) * scale;
      }
      out[r][l] = acc;
    }
#endif
}

}  // namespace sixbit::gemm::detail
