// Dataset readers: Fashion-MNIST from gzip-compressed IDX files, CIFAR-10/100 from their binary record
// files (image folders: image_folder.cpp), and the per-channel statistics used to normalize them. Every
// error is one line naming the file.
#include "datasets/datasets.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "datasets/image_folder.h"

namespace mx::data {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const char* const kFashionHint = "install it with `apt-get install dataset-fashion-mnist` or pass --data-dir";
const char* const kCifarHint =
    "download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html and pass --data-dir";

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

std::string join(const std::string& dir, const std::string& file) { return (fs::path(dir) / file).string(); }

void require_dir(const std::string& dir, const char* dataset, const char* hint) {
  MX_CHECK(is_dir(dir), dataset, " data directory ", dir, " does not exist; ", hint);
}

void require_file(const std::string& path, const char* hint) {
  std::error_code ec;
  MX_CHECK(fs::is_regular_file(path, ec), path, ": file is missing; ", hint);
}

// What went wrong in a gzip stream, from zlib's error code.
const char* gz_problem(int err) {
  if (err == Z_BUF_ERROR) return "truncated gzip data";
  if (err == Z_DATA_ERROR) return "corrupt gzip data";
  return "cannot read gzip data";
}

// zlib prefixes its messages with the path; drop it since the caller names the file already.
std::string gz_message(const char* msg, const std::string& path) {
  std::string m = msg ? msg : "";
  std::string prefix = path + ": ";
  return m.compare(0, prefix.size(), prefix) == 0 ? m.substr(prefix.size()) : m;
}

// The whole decompressed content of a .gz file; a truncated or corrupt stream is an error.
Bytes read_gz(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  MX_CHECK(file, path, ": cannot open (", std::strerror(errno), ")");
  constexpr unsigned kChunk = 1u << 20;
  gzbuffer(file.get(), kChunk);
  Bytes out;
  for (;;) {
    size_t old = out.size();
    out.resize(old + kChunk);
    int n = gzread(file.get(), out.data() + old, kChunk);
    out.resize(old + static_cast<size_t>(std::max(n, 0)));
    if (n <= 0) break;
  }
  int err = Z_OK;
  const char* msg = gzerror(file.get(), &err);
  MX_CHECK(err == Z_OK, path, ": ", gz_problem(err), " (", gz_message(msg, path), ")");
  return out;
}

Bytes read_file(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  Bytes out(bytes);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
  MX_CHECK(in && static_cast<size_t>(in.gcount()) == bytes, path, ": cannot read ", bytes, " bytes");
  return out;
}

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Copies `count` labels spaced `stride` bytes apart into dst, checking each is below `classes`.
void copy_labels(const uint8_t* src, int64_t count, size_t stride, int classes, const std::string& path,
                 int32_t* dst) {
  for (int64_t i = 0; i < count; ++i) {
    int label = src[static_cast<size_t>(i) * stride];
    MX_CHECK(label < classes, path, ": label ", label, " of record ", i, " is out of range [0, ", classes, ")");
    dst[i] = label;
  }
}

// Checks an IDX file's magic number and returns the item count its header announces.
int64_t idx_count(const Bytes& b, size_t header, uint32_t magic, const char* what, const std::string& path) {
  MX_CHECK(b.size() >= header, path, ": too short for an IDX ", what, " header (", b.size(), " bytes)");
  uint32_t got = big_endian32(&b[0]);
  MX_CHECK(got == magic, path, ": wrong IDX magic number ", got, " (expected ", magic, " for ", what, ")");
  int64_t count = big_endian32(&b[4]);
  MX_CHECK(count > 0, path, ": header says the file holds no ", what);
  return count;
}

// Checks that the payload after the header holds exactly `count` items of `item_bytes` each.
void check_idx_payload(const Bytes& b, size_t header, int64_t count, size_t item_bytes, const char* what,
                       const std::string& path) {
  uint64_t want = static_cast<uint64_t>(count) * item_bytes, payload = b.size() - header;
  MX_CHECK(payload == want, path, ": header says ", count, " ", what, " (", want, " bytes) but the data holds ",
           payload, " bytes");
}

Tensor parse_idx_images(const Bytes& b, const std::string& path) {
  constexpr uint32_t kSide = 28;
  int64_t n = idx_count(b, 16, 2051, "images", path);
  uint32_t rows = big_endian32(&b[8]), cols = big_endian32(&b[12]);
  MX_CHECK(rows == kSide && cols == kSide, path, ": images are ", rows, "x", cols, ", expected 28x28");
  check_idx_payload(b, 16, n, kSide * kSide, "images", path);
  Tensor images = Tensor::empty({n, 1, kSide, kSide}, DType::U8);
  std::memcpy(images.raw(), b.data() + 16, images.nbytes());
  return images;
}

Tensor parse_idx_labels(const Bytes& b, int classes, const std::string& path) {
  int64_t n = idx_count(b, 8, 2049, "labels", path);
  check_idx_payload(b, 8, n, 1, "labels", path);
  Tensor labels = Tensor::empty({n}, DType::I32);
  copy_labels(b.data() + 8, n, 1, classes, path, labels.data<int32_t>());
  return labels;
}

// One half of Fashion-MNIST: prefix "train" or "t10k".
Dataset load_fashion_part(const std::string& dir, const std::string& prefix) {
  std::string image_path = join(dir, prefix + "-images-idx3-ubyte.gz");
  std::string label_path = join(dir, prefix + "-labels-idx1-ubyte.gz");
  require_file(image_path, kFashionHint);
  require_file(label_path, kFashionHint);
  Dataset d;
  d.num_classes = 10;
  d.images = parse_idx_images(read_gz(image_path), image_path);
  d.labels = parse_idx_labels(read_gz(label_path), d.num_classes, label_path);
  MX_CHECK(d.images.size(0) == d.labels.size(0), image_path, " holds ", d.images.size(0), " images but ",
           label_path, " holds ", d.labels.size(0), " labels");
  return d;
}

// The binary CIFAR layout: per record `label_bytes` label bytes (the one used at `label_offset`), then a
// 3x32x32 image stored channel by channel, row by row.
struct CifarFormat {
  const char* name;
  const char* folder;
  size_t label_bytes;
  size_t label_offset;
  int classes;
  size_t record() const { return label_bytes + 3 * 32 * 32; }
};

const CifarFormat kCifar10{"CIFAR-10", "cifar-10-batches-bin", 1, 0, 10};
const CifarFormat kCifar100{"CIFAR-100", "cifar-100-binary", 2, 1, 100};

// Checks a record file's size and returns how many records it holds.
int64_t cifar_records(const std::string& path, const CifarFormat& f) {
  require_file(path, kCifarHint);
  std::error_code ec;
  uintmax_t bytes = fs::file_size(path, ec);
  MX_CHECK(!ec, path, ": cannot read its size (", ec.message(), ")");
  MX_CHECK(bytes > 0, path, ": file is empty");
  MX_CHECK(bytes % f.record() == 0, path, ": size ", bytes, " is not a multiple of the ", f.name,
           " record size ", f.record());
  return static_cast<int64_t>(bytes / f.record());
}

// Concatenates the records of several files into one dataset.
Dataset load_cifar_files(const std::vector<std::string>& paths, const CifarFormat& f) {
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const std::string& p : paths) total += counts.emplace_back(cifar_records(p, f));
  constexpr size_t kPixels = 3 * 32 * 32;
  Dataset d;
  d.num_classes = f.classes;
  d.images = Tensor::empty({total, 3, 32, 32}, DType::U8);
  d.labels = Tensor::empty({total}, DType::I32);
  uint8_t* images = d.images.data<uint8_t>();
  int32_t* labels = d.labels.data<int32_t>();
  for (size_t i = 0; i < paths.size(); ++i) {
    Bytes b = read_file(paths[i], static_cast<size_t>(counts[i]) * f.record());
    copy_labels(b.data() + f.label_offset, counts[i], f.record(), f.classes, paths[i], labels);
    for (int64_t r = 0; r < counts[i]; ++r, images += kPixels)
      std::memcpy(images, b.data() + static_cast<size_t>(r) * f.record() + f.label_bytes, kPixels);
    labels += counts[i];
  }
  return d;
}

// The folder holding the record files: `dir` itself or its subfolder named like the official archive.
std::string cifar_dir(const std::string& dir, const CifarFormat& f) {
  require_dir(dir, f.name, kCifarHint);
  std::string sub = join(dir, f.folder);
  return is_dir(sub) ? sub : dir;
}

}  // namespace

std::vector<std::string> dataset_names() { return {"fashion-mnist", "cifar10", "cifar100", "folder"}; }

std::string class_name(const std::string& dataset, int label) {
  static const std::vector<std::string> fashion = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Boot"};
  static const std::vector<std::string> cifar10 = {"plane", "car",  "bird", "cat",  "deer",
                                                   "dog",   "frog", "horse", "ship", "truck"};
  const std::vector<std::string>* names = dataset == "fashion-mnist" ? &fashion : dataset == "cifar10" ? &cifar10 : nullptr;
  if (names && label >= 0 && label < static_cast<int>(names->size())) return (*names)[static_cast<size_t>(label)];
  return std::to_string(label);
}

std::string default_data_dir(const std::string& name) {
  return name == "fashion-mnist" ? "/usr/share/datasets/fashion-mnist" : "data";
}

Split load_dataset(const std::string& name, const std::string& dir) {
  if (name == "fashion-mnist") return load_fashion_mnist(dir);
  if (name == "cifar10") return load_cifar10(dir);
  if (name == "cifar100") return load_cifar100(dir);
  if (name == "folder") {
    const FolderOptions opt;
    return load_image_folder(scan_image_folder(dir, opt), opt);
  }
  MX_FAIL("unknown dataset '", name, "' (known: fashion-mnist, cifar10, cifar100, folder)");
}

Split load_fashion_mnist(const std::string& dir) {
  require_dir(dir, "Fashion-MNIST", kFashionHint);
  return {load_fashion_part(dir, "train"), load_fashion_part(dir, "t10k")};
}

Split load_cifar10(const std::string& dir) {
  std::string root = cifar_dir(dir, kCifar10);
  std::vector<std::string> train;
  for (int i = 1; i <= 5; ++i) train.push_back(join(root, "data_batch_" + std::to_string(i) + ".bin"));
  return {load_cifar_files(train, kCifar10), load_cifar_files({join(root, "test_batch.bin")}, kCifar10)};
}

Split load_cifar100(const std::string& dir) {
  std::string root = cifar_dir(dir, kCifar100);
  return {load_cifar_files({join(root, "train.bin")}, kCifar100),
          load_cifar_files({join(root, "test.bin")}, kCifar100)};
}

Dataset head(const Dataset& d, int64_t limit) {
  if (limit <= 0 || limit >= d.size()) return d;
  Dataset out = d;
  out.images = d.images.slice(0, limit);
  out.labels = d.labels.slice(0, limit);
  return out;
}

Dataset subset(const Dataset& d, const std::vector<int64_t>& indices) {
  const auto n = static_cast<int64_t>(indices.size());
  const size_t sample = static_cast<size_t>(d.channels()) * d.height() * d.width();
  Dataset out;
  out.num_classes = d.num_classes;
  out.images = Tensor::empty({n, d.channels(), d.height(), d.width()}, DType::U8);
  out.labels = Tensor::empty({n}, DType::I32);
  const uint8_t* src = d.images.data<uint8_t>();
  const int32_t* labels = d.labels.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = indices[static_cast<size_t>(i)];
    MX_CHECK(k >= 0 && k < d.size(), "subset: index ", k, " outside a dataset of ", d.size());
    std::memcpy(out.images.data<uint8_t>() + static_cast<size_t>(i) * sample, src + static_cast<size_t>(k) * sample,
                sample);
    out.labels.data<int32_t>()[i] = labels[k];
  }
  return out;
}

Normalization compute_normalization(const Dataset& d) {
  MX_CHECK(d.size() > 0, "compute_normalization: the dataset is empty");
  const int channels = d.channels();
  const int64_t plane = int64_t{d.height()} * d.width();
  // A histogram per channel counts exactly; the moments are then taken in double.
  std::vector<std::array<uint64_t, 256>> hist(static_cast<size_t>(channels));
  for (auto& h : hist) h.fill(0);
  const uint8_t* p = d.images.data<uint8_t>();
  for (int64_t n = 0; n < d.size(); ++n)
    for (auto& h : hist)
      for (int64_t k = 0; k < plane; ++k) ++h[*p++];
  Normalization norm;
  const double count = static_cast<double>(d.size() * plane);
  for (const auto& h : hist) {
    double sum = 0, sq = 0;
    for (int v = 0; v < 256; ++v) sum += static_cast<double>(h[v]) * (v / 255.0);
    const double mean = sum / count;
    for (int v = 0; v < 256; ++v) sq += static_cast<double>(h[v]) * std::pow(v / 255.0 - mean, 2);
    norm.mean.push_back(static_cast<float>(mean));
    norm.std.push_back(static_cast<float>(std::sqrt(sq / count)));
  }
  return norm;
}

}  // namespace mx::data
