#include "emulation/formats/e2m1.hpp"
__global__ void sixbit_probe_kernel(const float* x, unsigned char* y) { y[threadIdx.x] = sixbit::fmt::e2m1_encode(x[threadIdx.x]); }
