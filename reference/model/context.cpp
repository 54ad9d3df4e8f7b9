// sixbit/reference/model/context.cpp: see context.hpp.
#include "reference/model/context.hpp"

#include <cmath>
#include <cstring>
#include <fstream>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"

namespace sixbit::model {

namespace {

bool is_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SIXBIT_CHECK(in.good(), "context file ", path, ": cannot open");
  char magic[6] = {};
  in.read(magic, 6);
  return in.gcount() == 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0;
}

// The one tensor of a safetensors file that holds the context.
const io::TensorView& pick_tensor(const io::SafetensorsFile& f, const std::string& path) {
  if (f.contains("context")) return f.get("context");
  const auto& ts = f.tensors();
  if (ts.size() == 1) return ts.front();
  std::string names;
  for (size_t i = 0; i < ts.size() && i < 8; ++i) names += (i ? ", " : "") + ts[i].name;
  if (ts.size() > 8) names += ", ...";
  SIXBIT_CHECK(false, "context file ", path, ": has ", ts.size(), " tensors (", names,
               ") and none named 'context'; name the context tensor 'context' or store it alone");
  return ts.front();
}

Mat to_context(const io::TensorView& t, const std::string& path, const DitConfig& cfg) {
  SIXBIT_CHECK(io::dtype_is_float(t.dtype), "context file ", path, ": tensor '", t.name, "' has dtype ",
               io::dtype_name(t.dtype), "; context embeddings must be a float type (F32, F16, BF16, F64)");
  std::vector<int64_t> s = t.shape;
  SIXBIT_CHECK(s.size() == 2 || (s.size() == 3 && s[0] == 1), "context file ", path, ": tensor '", t.name,
               "' has shape ", io::shape_string(s), "; expected [n, text_dim] or [1, n, text_dim]");
  if (s.size() == 3) s.erase(s.begin());
  SIXBIT_CHECK(s[1] == cfg.text_dim, "context file ", path, ": tensor '", t.name, "' has shape ",
               io::shape_string(t.shape), " but the model's text_dim is ", cfg.text_dim);
  SIXBIT_CHECK(s[0] >= 1 && s[0] <= cfg.text_len, "context file ", path, ": tensor '", t.name, "' has ", s[0],
               " tokens; the model takes 1 to text_len = ", cfg.text_len);
  Mat m(s[0], s[1]);
  m.v = io::to_f32(t);
  for (size_t i = 0; i < m.v.size(); ++i)
    SIXBIT_CHECK(std::isfinite(m.v[i]), "context file ", path, ": tensor '", t.name, "' has a non-finite value (",
                 m.v[i], ") at [", int64_t(i) / m.cols, ", ", int64_t(i) % m.cols, "]");
  return m;
}

}  // namespace

Mat load_context(const std::string& path, const DitConfig& cfg) {
  cfg.validate();
  if (is_npy(path)) {
    const io::OwnedTensor t = io::read_npy(path);
    return to_context(io::TensorView{t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()}, path, cfg);
  }
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  return to_context(pick_tensor(f, path), path, cfg);
}

}  // namespace sixbit::model
