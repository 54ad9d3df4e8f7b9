// dtype helpers, exact float widening, the .npy reader, and the format-agnostic float loader.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"

namespace sixbit::io {

namespace {
struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
  const char* npy;  // numpy descr, little endian
};
constexpr DTypeInfo kDTypes[] = {{DType::kF32, "F32", 4, "<f4"}, {DType::kF16, "F16", 2, "<f2"}, {DType::kBF16, "BF16", 2, nullptr},
                                 {DType::kF64, "F64", 8, "<f8"}, {DType::kI8, "I8", 1, "|i1"},  {DType::kU8, "U8", 1, "|u1"},
                                 {DType::kI32, "I32", 4, "<i4"}, {DType::kI64, "I64", 8, "<i8"}};
const DTypeInfo& info(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i;
  return kDTypes[0];
}

// IEEE binary16 -> binary32, exact (every half value is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) bits = sign | 0x7F800000u | (mant << 13);  // Inf / NaN (payload kept)
  else if (exp != 0) bits = sign | ((exp + 112u) << 23) | (mant << 13);
  else if (mant == 0) bits = sign;
  else {  // subnormal half: mant * 2^-24, exact as a float
    float v = static_cast<float>(mant) * 5.9604644775390625e-08f;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

size_t dtype_size(DType d) { return info(d).size; }
std::string_view dtype_name(DType d) { return info(d).name; }
bool dtype_is_float(DType d) { return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16 || d == DType::kF64; }

DType dtype_from_name(std::string_view name, std::string_view context) {
  for (const auto& i : kDTypes)
    if (name == i.name) return i.dtype;
  SIXBIT_CHECK(false, context, ": unsupported dtype '", name, "' (supported: F32, F16, BF16, F64, I8, U8, I32, I64)");
  return DType::kF32;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> to_f32(const TensorView& t) {
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  switch (t.dtype) {
    case DType::kF32: std::memcpy(out.data(), t.data, n * 4); break;
    case DType::kF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = half_to_float(h);
      }
      break;
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;  // bf16 is the top half of an fp32
        std::memcpy(&out[i], &bits, 4);
      }
      break;
    case DType::kF64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, t.data + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default: SIXBIT_CHECK(false, "tensor '", t.name, "' has dtype ", dtype_name(t.dtype), ", not a float type");
  }
  return out;
}

OwnedTensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SIXBIT_CHECK(in.good(), path, ": cannot open");
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SIXBIT_CHECK(all.size() >= 10 && all.compare(0, 6, "\x93NUMPY") == 0, path, ": not a .npy file (bad magic)");
  const int major = static_cast<uint8_t>(all[6]);
  SIXBIT_CHECK(major >= 1 && major <= 3, path, ": unsupported .npy version ", major);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = static_cast<uint8_t>(all[8]) | (static_cast<size_t>(static_cast<uint8_t>(all[9])) << 8);
    hstart = 10;
  } else {
    SIXBIT_CHECK(all.size() >= 12, path, ": truncated .npy header");
    hlen = 0;
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<uint8_t>(all[8 + i]);
    hstart = 12;
  }
  SIXBIT_CHECK(hstart + hlen <= all.size(), path, ": truncated .npy header");
  const std::string header = all.substr(hstart, hlen);
  std::smatch m;
  SIXBIT_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'")), path, ": .npy header has no descr");
  const std::string descr = m[1];
  SIXBIT_CHECK(std::regex_search(header, m, std::regex("'fortran_order':\\s*(True|False)")), path, ": .npy header has no fortran_order");
  SIXBIT_CHECK(m[1] == "False", path, ": Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  SIXBIT_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), path, ": .npy header has no shape");
  OwnedTensor t;
  t.name = std::filesystem::path(path).stem().string();
  const std::string dims = m[1];
  const std::regex digits("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), digits), end; it != end; ++it) t.shape.push_back(std::stoll(it->str()));
  bool known = false;
  for (const auto& i : kDTypes)
    if (i.npy && descr == i.npy) {
      t.dtype = i.dtype;
      known = true;
    }
  SIXBIT_CHECK(known, path, ": unsupported .npy dtype '", descr, "' (supported: <f4 <f2 <f8 |i1 |u1 <i4 <i8, little endian)");
  size_t n = dtype_size(t.dtype);
  for (int64_t d : t.shape) n *= static_cast<size_t>(d);
  SIXBIT_CHECK(all.size() - hstart - hlen == n, path, ": .npy data is ", all.size() - hstart - hlen, " bytes but the header needs ", n,
               " (truncated?)");
  t.bytes.assign(all.begin() + static_cast<std::ptrdiff_t>(hstart + hlen), all.end());
  return t;
}

std::vector<FloatTensor> load_float_tensors(const std::string& path, bool skip_non_float) {
  std::ifstream probe(path, std::ios::binary);
  SIXBIT_CHECK(probe.good(), path, ": cannot open");
  char magic[6] = {};
  probe.read(magic, 6);
  std::vector<FloatTensor> out;
  auto take = [&](const TensorView& v) {
    if (!dtype_is_float(v.dtype)) {
      SIXBIT_CHECK(skip_non_float, path, ": tensor '", v.name, "' has non-float dtype ", dtype_name(v.dtype));
      return;
    }
    out.push_back({v.name, v.shape, to_f32(v)});
  };
  if (probe.gcount() == 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0) {
    const OwnedTensor t = read_npy(path);
    take(TensorView{t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  } else {
    const SafetensorsFile f = SafetensorsFile::open(path);
    for (const auto& v : f.tensors()) take(v);
  }
  return out;
}

OwnedTensor make_f32_tensor(std::string name, std::vector<int64_t> shape, const float* values) {
  OwnedTensor t{std::move(name), DType::kF32, std::move(shape), {}};
  size_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<size_t>(d);
  t.bytes.resize(n * 4);
  if (n) std::memcpy(t.bytes.data(), values, n * 4);  // values may be null for an empty tensor
  return t;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace sixbit::io
