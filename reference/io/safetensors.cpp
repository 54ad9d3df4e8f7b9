// safetensors reader (mmap) and writer; see tensor_file.hpp for the format and the validation contract.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"

namespace sixbit::io {

namespace {
// The format caps the header at 100 MB; anything larger is a corrupt length field, not a real header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
}  // namespace

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  std::swap(path_, o.path_);
  std::swap(map_, o.map_);
  std::swap(map_size_, o.map_size_);
  std::swap(tensors_, o.tensors_);
  std::swap(metadata_, o.metadata_);
  return *this;
}
SafetensorsFile::~SafetensorsFile() {
  if (map_ && map_size_) munmap(map_, map_size_);
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY);
  SIXBIT_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  const int stat_rc = fstat(fd, &st);
  if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    SIXBIT_CHECK(false, path, ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    SIXBIT_CHECK(false, path, ": truncated safetensors file (", size, " bytes; the 8-byte header length is missing)");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  SIXBIT_CHECK(map != MAP_FAILED, path, ": mmap failed: ", std::strerror(errno));
  f.map_ = map;
  f.map_size_ = size;
  const auto* bytes = static_cast<const uint8_t*>(map);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  SIXBIT_CHECK(header_len <= kMaxHeaderBytes && header_len <= size - 8, path, ": header length ", header_len,
               " runs past the end of the file (", size, " bytes): truncated or not a safetensors file");
  nlohmann::json header;
  // nlohmann keeps the last of duplicate keys silently; the callback sees every top-level key so a file that
  // names a tensor twice is rejected (the Rust safetensors crate also refuses duplicates).
  std::set<std::string> seen_keys;
  std::string duplicate;
  const auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
        !seen_keys.insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len, on_event);
  } catch (const std::exception& e) {
    SIXBIT_CHECK(false, path, ": header is not valid JSON: ", e.what());
  }
  SIXBIT_CHECK(duplicate.empty(), path, ": header names '", duplicate, "' more than once");
  SIXBIT_CHECK(header.is_object(), path, ": header must be a JSON object");
  const uint8_t* buffer = bytes + 8 + header_len;
  const uint64_t buffer_size = size - 8 - header_len;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      SIXBIT_CHECK(entry.is_object(), path, ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        SIXBIT_CHECK(v.is_string(), path, ": __metadata__[\"", k, "\"] is not a string");
        f.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    SIXBIT_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets"), path,
                 ": tensor '", name, "' needs dtype, shape and data_offsets");
    SIXBIT_CHECK(entry["dtype"].is_string(), path, ": tensor '", name, "': dtype is not a string");
    TensorView t;
    t.name = name;
    t.dtype = dtype_from_name(entry["dtype"].get<std::string>(), path + ": tensor '" + name + "'");
    SIXBIT_CHECK(entry["shape"].is_array(), path, ": tensor '", name, "': shape is not an array");
    for (const auto& d : entry["shape"]) {
      SIXBIT_CHECK(d.is_number_unsigned(), path, ": tensor '", name, "': shape entries must be non-negative integers");
      t.shape.push_back(d.get<int64_t>());
    }
    const auto& off = entry["data_offsets"];
    SIXBIT_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), path, ": tensor '", name,
                 "': data_offsets must be [begin, end]");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    SIXBIT_CHECK(begin <= end && end <= buffer_size, path, ": tensor '", name, "': data_offsets [", begin, ", ", end,
                 ") out of range of the ", buffer_size, "-byte data buffer (truncated file?)");
    uint64_t expected = dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      SIXBIT_CHECK(d == 0 || expected <= UINT64_MAX / static_cast<uint64_t>(d), path, ": tensor '", name, "': shape overflows");
      expected *= static_cast<uint64_t>(d);
    }
    SIXBIT_CHECK(end - begin == expected, path, ": tensor '", name, "': ", end - begin, " bytes of data but shape x dtype needs ", expected);
    t.data = buffer + begin;
    t.nbytes = end - begin;
    ranges.emplace_back(begin, end);
    f.tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    SIXBIT_CHECK(ranges[i].first >= ranges[i - 1].second, path, ": tensors overlap in the data buffer");
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const TensorView& a, const TensorView& b) { return a.data < b.data; });
  return f;
}

bool SafetensorsFile::contains(std::string_view name) const {
  return std::any_of(tensors_.begin(), tensors_.end(), [&](const TensorView& t) { return t.name == name; });
}

const TensorView& SafetensorsFile::get(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  SIXBIT_CHECK(false, path_, ": no tensor named '", name, "'");
  return tensors_.front();
}

void write_safetensors(const std::string& path, const std::vector<OwnedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                       bool overwrite) {
  SIXBIT_CHECK(overwrite || !std::filesystem::exists(path), path, ": already exists; refusing to overwrite (pass --overwrite to replace it)");
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    SIXBIT_CHECK(!header.contains(t.name), path, ": duplicate tensor name '", t.name, "'");
    uint64_t expected = dtype_size(t.dtype);
    for (int64_t d : t.shape) expected *= static_cast<uint64_t>(d);
    SIXBIT_CHECK(expected == t.bytes.size(), "tensor '", t.name, "': ", t.bytes.size(), " bytes for a shape that needs ", expected);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data buffer starts 8-byte aligned
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  SIXBIT_CHECK(out.good(), path, ": cannot open for writing");
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  out.close();
  SIXBIT_CHECK(out.good(), path, ": write failed");
}

}  // namespace sixbit::io
