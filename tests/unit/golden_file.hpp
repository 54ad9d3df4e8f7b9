// Reader of the golden-fixture container written by experiments/make_sampler_golden.py (and make_golden.py):
// 8-byte magic, u32 version, u32 json_len, JSON, u32 count, then count entries (u32 name_len, name, u32 ndim,
// ndim x i64 dims, f32 data), little-endian. Throws std::runtime_error naming what is wrong.
#pragma once

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace sixbit::testing {

struct GoldenTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct GoldenFile {
  nlohmann::json meta;
  std::map<std::string, GoldenTensor> t;
  const GoldenTensor& at(const std::string& name) const {
    auto it = t.find(name);
    if (it == t.end()) throw std::runtime_error("golden fixture has no entry '" + name + "'");
    return it->second;
  }
};

inline GoldenFile load_golden(const std::filesystem::path& path, const char (&magic)[9], uint32_t version,
                              const std::string& regenerate) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string() + " (regenerate: " + regenerate + ")");
  auto pod = [&](auto v) {
    in.read(reinterpret_cast<char*>(&v), sizeof(v));
    if (!in) throw std::runtime_error(path.string() + " is truncated");
    return v;
  };
  char m[8];
  in.read(m, 8);
  if (!in || std::memcmp(m, magic, 8) != 0) throw std::runtime_error(path.string() + ": bad magic");
  if (pod(uint32_t{}) != version) throw std::runtime_error(path.string() + ": unsupported version");
  std::string js(pod(uint32_t{}), '\0');
  in.read(js.data(), std::streamsize(js.size()));
  GoldenFile f;
  f.meta = nlohmann::json::parse(js);
  const uint32_t count = pod(uint32_t{});
  for (uint32_t i = 0; i < count; ++i) {
    std::string name(pod(uint32_t{}), '\0');
    in.read(name.data(), std::streamsize(name.size()));
    GoldenTensor g;
    const uint32_t nd = pod(uint32_t{});
    int64_t n = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      g.shape.push_back(pod(int64_t{}));
      n *= g.shape.back();
    }
    g.data.resize(size_t(n));
    in.read(reinterpret_cast<char*>(g.data.data()), std::streamsize(g.data.size() * 4));
    if (!in) throw std::runtime_error(path.string() + " is truncated in " + name);
    f.t.emplace(name, std::move(g));
  }
  return f;
}

}  // namespace sixbit::testing
