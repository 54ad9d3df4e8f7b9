// sixbit/reference/io/tensor_file.hpp: safetensors (memory-mapped reader, writer) and .npy (reader).
//
// safetensors: u64 little-endian header length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets":
// [begin, end)}, "__metadata__": {string: string}}, then the byte buffer the offsets index. Every field is
// validated; a malformed file gives sixbit::Error naming the file and what is wrong, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sixbit::io {

enum class DType : uint8_t { kF32, kF16, kBF16, kF64, kI8, kU8, kI32, kI64 };
size_t dtype_size(DType d);
std::string_view dtype_name(DType d);  // safetensors spelling: F32, F16, BF16, F64, I8, U8, I32, I64
DType dtype_from_name(std::string_view name, std::string_view context);
bool dtype_is_float(DType d);

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // not aligned in general: read through memcpy
  size_t nbytes = 0;
  int64_t numel() const;
};

// Exact widening of F32/F16/BF16 to fp32; F64 rounds once. Other dtypes: sixbit::Error.
std::vector<float> to_f32(const TensorView& t);

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();
  const std::vector<TensorView>& tensors() const { return tensors_; }  // in file order
  const TensorView& get(std::string_view name) const;                 // throws if absent
  bool contains(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct OwnedTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little endian, C order
};

// Writes tensors in the given order. Refuses to replace an existing file unless `overwrite` is set.
void write_safetensors(const std::string& path, const std::vector<OwnedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata, bool overwrite);

// .npy v1/v2/v3, C order, dtypes <f4 <f2 <f8 |i1 |u1 <i4 <i8.
OwnedTensor read_npy(const std::string& path);

// A safetensors or .npy file as float tensors (by file content, not extension); the npy tensor is named after
// the file stem. Non-float tensors are skipped when `skip_non_float`, otherwise an error.
struct FloatTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};
std::vector<FloatTensor> load_float_tensors(const std::string& path, bool skip_non_float);

// "[2, 3]": for error messages.
std::string shape_string(const std::vector<int64_t>& shape);

OwnedTensor make_f32_tensor(std::string name, std::vector<int64_t> shape, const float* values);

}  // namespace sixbit::io
