// sixbit/bench/sgemm_baseline.hpp: the OpenBLAS SGEMM every CPU benchmark measures as its baseline, declared once
// (CBLAS's C interface; no cblas.h needed) with the row-major call the benchmarks make. Only when SIXBIT_HAVE_BLAS.
#pragma once

#if defined(SIXBIT_HAVE_BLAS)
extern "C" void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc);

namespace sixbit::bench {
// Row-major Y[M,N] = A[M,K] * op(B), op(B) = B^T for B stored [N,K] (nn.Linear, trans_b) or B for B stored [K,N].
// CBLAS enum values: CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
inline void sgemm_row_major(int M, int N, int K, const float* a, int lda, const float* b, int ldb, bool trans_b, float* y, int ldc) {
  cblas_sgemm(101, 111, trans_b ? 112 : 111, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, y, ldc);
}
}  // namespace sixbit::bench
#endif
