// Safetensors checkpoints: round trips of every dtype, the byte-level format, validation of broken
// files (each error names the file), atomic writes, and loading into a model bit-exactly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "models/models.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

using namespace mx;
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// A fresh directory per test, removed afterwards.
class Checkpoint : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_ / name; }
  test::TempDir dir_;
};

using test::read_file;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return s;
}

// A file made of this header text (padded to 8) and `data_bytes` zero bytes of data.
std::string file_with_header(std::string header, size_t data_bytes) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

nn::NamedTensors sample_tensors() {
  return {{"w", Tensor::from_vector<float>({1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f}, {2, 3})},
          {"labels", Tensor::from_vector<int32_t>({-1, 7, 2147483647}, {3})},
          {"steps", Tensor::from_vector<int64_t>({1234567890123LL}, {})},
          {"pixels", Tensor::from_vector<uint8_t>({0, 255, 17}, {3, 1})},
          {"empty", Tensor::zeros({0, 4})}};
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

Tensor& entry(nn::NamedTensors& ts, const std::string& name) {
  for (auto& [n, t] : ts)
    if (n == name) return t;
  throw std::out_of_range(name);
}

}  // namespace

TEST_F(Checkpoint, RoundTripsEveryDtypeAndMetadata) {
  nn::NamedTensors ts = sample_tensors();
  checkpoint::save(path("a.safetensors"), ts, {{"epoch", "3"}, {"model", "quicknet"}});
  checkpoint::File f = checkpoint::load(path("a.safetensors"));
  ASSERT_EQ(f.tensors.size(), ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(f.tensors[i].first, ts[i].first);
    EXPECT_TRUE(same_bytes(f.tensors[i].second, ts[i].second)) << ts[i].first;
  }
  EXPECT_EQ(f.tensors[2].second.shape(), Shape{});
  EXPECT_EQ(f.meta, (checkpoint::Metadata{{"epoch", "3"}, {"model", "quicknet"}}));
}

TEST_F(Checkpoint, FileFollowsTheSafetensorsLayout) {
  nn::NamedTensors ts = sample_tensors();
  checkpoint::save(path("a.safetensors"), ts, {{"k", "v"}});
  std::string bytes = read_file(path("a.safetensors"));
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_LE(8 + n, bytes.size());
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));  // only spaces after the JSON
  auto h = Json::parse(header);
  EXPECT_EQ(h["__metadata__"], (Json{{"k", "v"}}));
  uint64_t offset = 0;
  for (const auto& [name, t] : ts) {
    const auto& e = h.at(name);
    EXPECT_EQ(e["dtype"], dtype_name(t.dtype())) << name;
    EXPECT_EQ(e["shape"].get<Shape>(), t.shape()) << name;
    EXPECT_EQ(e["data_offsets"], (Json{offset, offset + t.nbytes()})) << name;
    EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + offset, t.raw(), t.nbytes()), 0) << name;
    offset += t.nbytes();
  }
  EXPECT_EQ(8 + n + offset, bytes.size());
  EXPECT_EQ(h["steps"]["dtype"], "I64");
  EXPECT_EQ(h["steps"]["shape"], Json::array());
}

TEST_F(Checkpoint, ReadsTensorsInDataOrderWhateverTheHeaderOrder) {
  // PyTorch's safetensors may list keys in another order than the data; offsets decide.
  std::string data(12, '\0');
  float b = 2.f, a = 1.f;
  std::memcpy(&data[0], &b, 4);
  std::memcpy(&data[4], &a, 4);
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                       R"("c":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string file = file_with_header(header, 0) + data;
  write_bytes(path("x.safetensors"), file);
  checkpoint::File f = checkpoint::load(path("x.safetensors"));
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[0].first, "b");
  EXPECT_EQ(f.tensors[0].second.item<float>(), 2.f);
  EXPECT_EQ(f.tensors[1].first, "a");
  EXPECT_EQ(f.tensors[1].second.item<float>(), 1.f);
}

TEST_F(Checkpoint, BrokenFilesThrowNamingTheFile) {
  const std::string p = path("bad.safetensors");
  auto expect_load_error = [&](const std::string& bytes, const std::string& fragment) {
    write_bytes(p, bytes);
    test::expect_error([&] { checkpoint::load(p); }, {p, fragment});
  };
  checkpoint::save(p, sample_tensors());
  std::string good = read_file(p);
  expect_load_error(good.substr(0, good.size() - 3), "data section");  // truncated data
  expect_load_error(good.substr(0, 5), "too short");
  expect_load_error(le64(1ull << 40) + good.substr(8), "header length");
  expect_load_error(file_with_header("{\"w\": [1, 2", 0), "not valid JSON");
  expect_load_error(file_with_header("[1, 2]", 0), "not a JSON object");
  expect_load_error(file_with_header(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), "dtype");
  expect_load_error(file_with_header(R"({"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", 2), "BF16");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4), "shape");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "shape");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4), "needs 8");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 4),
                    "out of range");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                     R"("v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                     8),
                    "overlap");
  expect_load_error(file_with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "gap");
  expect_load_error(file_with_header(R"({"__metadata__":{"a":1}})", 0), "__metadata__");
  expect_load_error(file_with_header(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],)"
                                     R"("data_offsets":[0,0]}})",
                                     0),
                    "impossible shape");
  test::expect_error([&] { checkpoint::load(path("missing.safetensors")); }, {path("missing.safetensors")});
}

TEST_F(Checkpoint, AbsurdLengthsAndOffsetsAreRefusedBeforeAllocating) {
  const std::string p = path("hostile.safetensors");
  const std::string good = file_with_header(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4);
  const std::string body = good.substr(8);
  for (uint64_t len : {uint64_t{3} << 30, ~uint64_t{0}, ~uint64_t{0} - 7, uint64_t{body.size()} + 1}) {
    write_bytes(p, le64(len) + body);
    test::expect_error([&] { checkpoint::load(p); }, {p, "header length " + std::to_string(len), "beyond the end"});
  }
  const std::string far =
      R"({"w":{"dtype":"U8","shape":[3],"data_offsets":[18446744073709551612,18446744073709551615]}})";
  test::expect_error([&] { checkpoint::parse(file_with_header(far, 4), "in-memory"); }, {"in-memory", "out of range"});
  EXPECT_EQ(checkpoint::parse(good, "in-memory").tensors.at(0).second.shape(), Shape{4});
}

TEST_F(Checkpoint, FailedSaveLeavesNoFileBehind) {
  const std::string into_missing_dir = path("no/such/dir/a.safetensors");
  test::expect_error([&] { checkpoint::save(into_missing_dir, sample_tensors()); }, {into_missing_dir});
  EXPECT_FALSE(test::has_temporary_files(dir_.path()));
  // The rename fails when the target is a directory: the written temporary file must go.
  fs::create_directory(path("taken"));
  test::expect_error([&] { checkpoint::save(path("taken"), sample_tensors()); }, {path("taken"), "rename"});
  EXPECT_FALSE(test::has_temporary_files(dir_.path()));
  EXPECT_TRUE(fs::is_directory(path("taken")));
}

TEST_F(Checkpoint, SaveReplacesAnExistingFile) {
  const std::string p = path("a.safetensors");
  checkpoint::save(p, sample_tensors());
  checkpoint::save(p, {{"only", Tensor::full({2}, 3.f)}});
  checkpoint::File f = checkpoint::load(p);
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].first, "only");
  EXPECT_FALSE(test::has_temporary_files(dir_.path()));
}

TEST_F(Checkpoint, SaveRejectsDuplicateNames) {
  const std::string p = path("a.safetensors");
  test::expect_error([&] { checkpoint::save(p, {{"x", Tensor::zeros({1})}, {"x", Tensor::zeros({1})}}); }, {p, "x"});
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(Checkpoint, LoadIntoRestoresAModelBitExactly) {
  auto saved = models::make_model("quicknet", {1, 28, 10, 1});
  auto fresh = models::make_model("quicknet", {1, 28, 10, 2});
  nn::NamedTensors state = saved->state_dict();
  entry(state, "features.1.weight").data<float>()[0] = 0.123f;
  for (const auto& [name, t] : saved->named_buffers()) {
    Tensor b = t;
    if (b.dtype() == DType::I64) b.data<int64_t>()[0] = 17;
    else b.fill(0.5f);
  }
  const std::string p = path("model.safetensors");
  checkpoint::save(p, saved->state_dict());
  checkpoint::load_into(p, checkpoint::load(p), fresh->state_dict());
  auto a = saved->state_dict(), b = fresh->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bytes(a[i].second, b[i].second)) << a[i].first;
}

TEST_F(Checkpoint, LoadIntoNamesTheFirstMismatch) {
  const std::string p = path("m.safetensors");
  auto model = models::make_model("quicknet", {1, 28, 10, 0});
  nn::NamedTensors state = model->state_dict();
  nn::NamedTensors before = model->state_dict();
  for (auto& [name, t] : before) t = t.clone();

  checkpoint::save(p, models::make_model("quicknet", {3, 28, 10, 0})->state_dict());
  checkpoint::File other_shape = checkpoint::load(p);
  test::expect_error([&] { checkpoint::load_into(p, other_shape, state); },
                     {p, "tensor features.0.weight has shape [16,3,3,3], model expects [16,1,3,3]"});

  checkpoint::File missing{nn::NamedTensors(state.begin() + 1, state.end()), {}};
  test::expect_error([&] { checkpoint::load_into(p, missing, state); }, {p, "missing tensor features.0.weight"});

  checkpoint::File unknown{state, {}};
  unknown.tensors.emplace_back("extra.weight", Tensor::zeros({1}));
  test::expect_error([&] { checkpoint::load_into(p, unknown, state); }, {p, "unknown tensor extra.weight"});

  checkpoint::File wrong_dtype{state, {}};
  entry(wrong_dtype.tensors, "features.1.num_batches_tracked") = Tensor::zeros({}, DType::I32);
  test::expect_error([&] { checkpoint::load_into(p, wrong_dtype, state); },
                     {p, "num_batches_tracked", "I32", "I64"});

  // A rejected file changes nothing.
  for (size_t i = 0; i < state.size(); ++i)
    EXPECT_TRUE(same_bytes(state[i].second, before[i].second)) << state[i].first;
}
