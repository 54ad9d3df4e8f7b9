// The caching device allocator of CudaDitOps with per-category accounting (dit_internal.hpp), and MemoryReport.
// Build: part of sixbit_cuda_dit. Run: tests/gpu/gpu_dit_{verify,fast}.cpp (Memory.*), cuda/bench/dit_e2e_bench.cpp.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "common/check.hpp"
#include "cuda/check.cuh"
#include "cuda/dit/dit_internal.hpp"

namespace sixbit::cuda {

std::string_view mem_category_name(MemCategory c) {
  static const char* names[] = {"weights bf16", "weights fp32", "NVFP4 codes", "NVFP4 E4M3 scales", "INT8 codes", "INT8 scales",
                                "activations", "residual cache", "workspace"};
  return int(c) >= 0 && c < MemCategory::kCount ? names[int(c)] : "?";
}

int64_t MemoryReport::weight_bytes() const {
  int64_t b = 0;
  for (MemCategory c : {MemCategory::kWeightBf16, MemCategory::kWeightF32, MemCategory::kNvfp4Codes, MemCategory::kNvfp4Scales,
                        MemCategory::kInt8Codes, MemCategory::kInt8Scales})
    b += live[int(c)];
  return b;
}

std::string MemoryReport::table() const {
  std::ostringstream os;
  const double mib = 1024.0 * 1024.0;
  os << std::fixed << std::setprecision(1);
  for (int c = 0; c < int(MemCategory::kCount); ++c)
    os << "  " << std::left << std::setw(20) << mem_category_name(MemCategory(c)) << std::right << std::setw(11) << live[c] / mib << " MiB live "
       << std::setw(11) << peak[c] / mib << " MiB peak\n";
  os << "  all buffers          " << std::setw(11) << live_total / mib << " MiB live " << std::setw(11) << peak_live_total / mib << " MiB peak\n";
  os << "  allocator reserved   " << std::setw(11) << reserved / mib << " MiB now  " << std::setw(11) << peak_reserved / mib << " MiB peak\n";
  os << "  device used (cudaMemGetInfo) " << device_used_now / mib << " MiB now, " << device_used_peak / mib << " MiB peak, "
     << device_used_at_start / mib << " MiB before, of " << device_total / mib << " MiB\n";
  os << std::setprecision(3) << "  weights: " << weight_params << " parameters, " << weight_bytes() / mib << " MiB, "
     << weight_reduction_vs_bf16() << "x smaller than bf16 (2 bytes/parameter)\n";
  return os.str();
}

namespace dit {

struct Arena::State {
  int device = 0;
  std::mutex mu;
  std::multimap<size_t, void*> free;  // rounded size -> cached block
  std::array<int64_t, int(MemCategory::kCount)> live{}, peak{};
  int64_t live_total = 0, peak_live_total = 0, reserved = 0, peak_reserved = 0;
  int64_t used_at_start = 0, used_peak = 0, total = 0;
  void sample_device() {
    size_t f = 0, t = 0;
    if (cudaMemGetInfo(&f, &t) == cudaSuccess) {
      total = int64_t(t);
      used_peak = std::max(used_peak, int64_t(t - f));
    }
  }
  ~State() {
    for (auto& [sz, p] : free) cudaFree(p);
  }
};

namespace {
bool is_weight(MemCategory c) { return c <= MemCategory::kInt8Scales; }
// Free-list granule: weights are never returned, so they take 512-byte granules (no slack); everything else rounds
// to 512 B below 1 MiB and to 2 MiB above, so a freed buffer serves the next request of about the same size.
size_t round_size(size_t bytes, MemCategory cat) {
  if (bytes == 0) bytes = 1;
  const size_t q = (bytes < (size_t(1) << 20) || is_weight(cat)) ? 512 : (size_t(2) << 20);
  return (bytes + q - 1) / q * q;
}
}  // namespace

Arena::Arena(int device) : s_(std::make_shared<State>()) {
  s_->device = device;
  size_t f = 0, t = 0;
  SIXBIT_CUDA_CHECK(cudaMemGetInfo(&f, &t));
  s_->used_at_start = int64_t(t - f), s_->used_peak = s_->used_at_start, s_->total = int64_t(t);
}

Arena::~Arena() = default;  // cached blocks are freed with the State, after the last buffer returns

std::shared_ptr<void> Arena::alloc(size_t bytes, MemCategory cat) {
  const size_t rs = round_size(bytes, cat);
  const int64_t req = int64_t(bytes);  // accounted: the bytes asked for (reserved counts the rounded blocks)
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    auto it = s_->free.find(rs);
    if (it != s_->free.end()) {
      p = it->second;
      s_->free.erase(it);
    }
  }
  if (!p) {
    cudaError_t e = cudaMalloc(&p, rs);
    if (e != cudaSuccess) {  // give the cache back to the device and try once more
      cudaGetLastError();
      release_cached();
      e = cudaMalloc(&p, rs);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      size_t f = 0, t = 0;
      cudaMemGetInfo(&f, &t);
      SIXBIT_CHECK(false, "device out of memory: ", rs, " bytes for ", mem_category_name(cat), " (", f >> 20, " MiB free of ", t >> 20,
                   " MiB; this allocator holds ", s_->reserved >> 20, " MiB)");
    }
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->reserved += int64_t(rs);
    s_->peak_reserved = std::max(s_->peak_reserved, s_->reserved);
    s_->sample_device();
  }
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->live[int(cat)] += req;
    s_->peak[int(cat)] = std::max(s_->peak[int(cat)], s_->live[int(cat)]);
    s_->live_total += req;
    s_->peak_live_total = std::max(s_->peak_live_total, s_->live_total);
  }
  if (poison_) SIXBIT_CUDA_CHECK(cudaMemsetAsync(p, 0xFF, rs, poison_stream_));
  std::shared_ptr<State> st = s_;
  return std::shared_ptr<void>(p, [st, rs, req, cat](void* q) {
    std::lock_guard<std::mutex> lock(st->mu);
    st->live[int(cat)] -= req;
    st->live_total -= req;
    st->free.emplace(rs, q);
  });
}

void Arena::release_cached() {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->free.empty()) return;
  SIXBIT_CUDA_CHECK(cudaDeviceSynchronize());  // cached blocks may still be read by queued work
  for (auto& [sz, p] : s_->free) {
    SIXBIT_CUDA_CHECK(cudaFree(p));
    s_->reserved -= int64_t(sz);
  }
  s_->free.clear();
}

MemoryReport Arena::report() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->sample_device();
  MemoryReport r;
  r.live = s_->live, r.peak = s_->peak;
  r.live_total = s_->live_total, r.peak_live_total = s_->peak_live_total;
  r.reserved = s_->reserved, r.peak_reserved = s_->peak_reserved;
  r.device_used_at_start = s_->used_at_start, r.device_used_peak = s_->used_peak, r.device_total = s_->total;
  size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) == cudaSuccess) r.device_used_now = int64_t(t - f);
  r.weight_params = weight_params_;
  return r;
}

void Arena::reset_peaks() {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->peak = s_->live;
  s_->peak_live_total = s_->live_total;
  s_->peak_reserved = s_->reserved;
  size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) == cudaSuccess) s_->used_peak = int64_t(t - f);
}

}  // namespace dit
}  // namespace sixbit::cuda
