// Safetensors checkpoints: a writer that goes through files::AtomicFile (temporary, fsync, rename), and a reader
// that validates the header before it trusts a single offset. Assumes a little-endian host.
#include "engine/checkpoint.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/files.h"

namespace mx::checkpoint {

namespace {

using Json = nlohmann::ordered_json;  // keeps the header in file order
const char* const kMetadataKey = "__metadata__";

template <typename... Parts>
[[noreturn]] void fail(const std::string& path, Parts&&... parts) {
  MX_FAIL("checkpoint ", path, ": ", std::forward<Parts>(parts)...);
}

// ---- writing ----

// The JSON header, padded with spaces so the data section starts on an 8-byte boundary.
std::string make_header(const std::string& path, const nn::NamedTensors& tensors, const Metadata& meta) {
  Json h = Json::object();
  if (!meta.empty()) h[kMetadataKey] = meta;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) fail(path, "tensor ", name, " is undefined");
    if (name == kMetadataKey || h.contains(name)) fail(path, "duplicate or reserved tensor name ", name);
    uint64_t end = offset + t.nbytes();
    h[name] = {{"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", Json::array({offset, end})}};
    offset = end;
  }
  std::string s = h.dump();
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

// ---- reading ----

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

DType parse_dtype(const std::string& path, const std::string& name, const Json& v) {
  for (DType t : {DType::F32, DType::I32, DType::I64, DType::U8})
    if (v.is_string() && v.get<std::string>() == dtype_name(t)) return t;
  fail(path, "tensor ", name, " has unsupported dtype ", v.dump(), " (supported: F32, I32, I64, U8)");
}

const Json& field(const std::string& path, const std::string& name, const Json& entry, const char* key) {
  if (!entry.contains(key)) fail(path, "tensor ", name, " has no \"", key, "\"");
  return entry.at(key);
}

std::vector<uint64_t> unsigned_list(const std::string& path, const std::string& name, const Json& v,
                                    const char* key) {
  auto malformed = [&] { fail(path, "tensor ", name, " has a malformed \"", key, "\": ", v.dump()); };
  if (!v.is_array()) malformed();
  std::vector<uint64_t> out;
  for (const Json& x : v) {
    if (!x.is_number_unsigned()) malformed();
    out.push_back(x.get<uint64_t>());
  }
  return out;
}

// Checks one header entry, including that its byte range matches shape x dtype and lies in the data.
Entry parse_entry(const std::string& path, const std::string& name, const Json& v, uint64_t data_bytes) {
  if (!v.is_object()) fail(path, "tensor ", name, " is not a JSON object");
  Entry e{name, parse_dtype(path, name, field(path, name, v, "dtype")), {}, 0, 0};
  uint64_t bytes = dtype_size(e.dtype);
  for (uint64_t d : unsigned_list(path, name, field(path, name, v, "shape"), "shape")) {
    if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, d, &bytes))
      fail(path, "tensor ", name, " has an impossible shape");
    e.shape.push_back(static_cast<int64_t>(d));
  }
  std::vector<uint64_t> off = unsigned_list(path, name, field(path, name, v, "data_offsets"), "data_offsets");
  if (off.size() != 2) fail(path, "tensor ", name, " needs two data_offsets, got ", off.size());
  e.begin = off[0];
  e.end = off[1];
  if (e.begin > e.end || e.end > data_bytes)
    fail(path, "tensor ", name, " data_offsets [", e.begin, ", ", e.end, "] are out of range of the ", data_bytes,
         "-byte data section");
  if (e.end - e.begin != bytes)
    fail(path, "tensor ", name, " data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin, " bytes, shape ",
         shape_str(e.shape), " ", dtype_name(e.dtype), " needs ", bytes);
  return e;
}

Metadata parse_metadata(const std::string& path, const Json& v) {
  Metadata meta;
  if (!v.is_object()) fail(path, "__metadata__ is not a JSON object");
  for (const auto& [k, x] : v.items()) {
    if (!x.is_string()) fail(path, "__metadata__ value of ", k, " is not a string");
    meta[k] = x.get<std::string>();
  }
  return meta;
}

// Sorted by offset, the tensors must tile the data section exactly: no overlap, no gap, no tail.
void check_tiling(const std::string& path, const std::vector<Entry>& entries, uint64_t data_bytes) {
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    if (e.begin != expected)
      fail(path, "tensor ", e.name, " starts at byte ", e.begin, " of the data section, expected ", expected,
           e.begin < expected ? " (overlap)" : " (gap)");
    expected = e.end;
  }
  if (expected != data_bytes)
    fail(path, "the data section has ", data_bytes, " bytes but the tensors cover ", expected);
}

uint64_t read_le64(const std::string& bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  return v;
}

}  // namespace

void save(const std::string& path, const nn::NamedTensors& tensors, const Metadata& meta) {
  std::string header = make_header(path, tensors, meta);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  files::AtomicFile out(path);
  out.write(len, sizeof(len));
  out.write(header.data(), header.size());
  for (const auto& entry : tensors) {
    const Tensor& t = entry.second;
    Tensor host = t.device() == Device::CPU ? t : t.to(Device::CPU);
    out.write(host.raw(), host.nbytes());
  }
  out.commit();
}

File load(const std::string& path) {
  std::string bytes;
  try {
    bytes = files::read_all(path);
  } catch (const Error& e) {
    MX_FAIL("checkpoint ", e.what());  // "checkpoint PATH: reason", as every other load error
  }
  return parse(bytes, path);
}

File parse(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 8) fail(path, "file too short (", bytes.size(), " bytes) to hold a safetensors header");
  uint64_t header_len = read_le64(bytes);
  if (header_len > bytes.size() - 8)
    fail(path, "header length ", header_len, " goes beyond the end of the file (", bytes.size(), " bytes)");
  Json h;
  try {
    h = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const Json::exception& e) {
    fail(path, "header is not valid JSON: ", e.what());
  }
  if (!h.is_object()) fail(path, "header is not a JSON object");

  const size_t data_start = 8 + static_cast<size_t>(header_len);
  const uint64_t data_bytes = bytes.size() - data_start;
  File file;
  std::vector<Entry> entries;
  for (const auto& [key, v] : h.items()) {
    if (key == kMetadataKey) file.meta = parse_metadata(path, v);
    else entries.push_back(parse_entry(path, key, v, data_bytes));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  check_tiling(path, entries, data_bytes);

  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    std::memcpy(t.raw(), bytes.data() + data_start + e.begin, e.end - e.begin);
    file.tensors.emplace_back(e.name, std::move(t));
  }
  return file;
}

void load_into(const std::string& path, const File& file, const nn::NamedTensors& state) {
  std::map<std::string, const Tensor*> in_file;
  for (const auto& [name, t] : file.tensors) in_file[name] = &t;
  std::set<std::string> in_model;
  for (const auto& [name, want] : state) {
    in_model.insert(name);
    auto it = in_file.find(name);
    if (it == in_file.end())
      fail(path, "missing tensor ", name, " (model expects ", shape_str(want.shape()), " ", dtype_name(want.dtype()),
           ")");
    const Tensor& got = *it->second;
    if (got.shape() != want.shape())
      fail(path, "tensor ", name, " has shape ", shape_str(got.shape()), ", model expects ", shape_str(want.shape()));
    if (got.dtype() != want.dtype())
      fail(path, "tensor ", name, " has dtype ", dtype_name(got.dtype()), ", model expects ", dtype_name(want.dtype()));
  }
  for (const auto& entry : file.tensors)
    if (!in_model.count(entry.first)) fail(path, "unknown tensor ", entry.first, " (not in the model)");
  for (const auto& [name, want] : state) {
    Tensor dst = want;
    dst.copy_from(*in_file.at(name));
  }
}

}  // namespace mx::checkpoint
