// sixbit/cuda/check.cuh: CUDA error checking. Every runtime call is wrapped; every launch is followed by
// SIXBIT_CUDA_CHECK_LAUNCH(), so a failure names the call, the file and the line (via sixbit::Error).
#pragma once

#include <cuda_runtime.h>

#include "common/check.hpp"

#define SIXBIT_CUDA_CHECK(expr)                                                                              \
  do {                                                                                                       \
    const cudaError_t sixbit_err_ = (expr);                                                                  \
    if (sixbit_err_ != cudaSuccess)                                                                          \
      ::sixbit::detail::check_failed(#expr, __FILE__, __LINE__, "CUDA error ", cudaGetErrorName(sixbit_err_), \
                                     ": ", cudaGetErrorString(sixbit_err_));                                 \
  } while (0)

#define SIXBIT_CUDA_CHECK_LAUNCH() SIXBIT_CUDA_CHECK(cudaGetLastError())
