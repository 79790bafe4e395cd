// Dataset readers: Fashion-MNIST from gzip-compressed IDX files (inflated from memory only as far as the
// checked header announces), CIFAR-10/100 from their binary record files (image folders:
// image_folder.cpp), and the per-channel statistics used to normalize them. Every error is one line
// naming the file.
#include "datasets/datasets.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "datasets/big_endian.h"
#include "datasets/image_folder.h"
#include "engine/files.h"

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

// The densest deflate can pack: at most 1032 inflated bytes per compressed byte (zlib's FAQ).
constexpr uint64_t kDeflateMaxRatio = 1032;

// A gzip stream inflated from memory on demand, so that a reader inflates only what a header announces.
// Concatenated gzip members read as one stream, as with gunzip.
class GzReader {
 public:
  GzReader(const std::string& gz, const std::string& path) : path_(path) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z_.avail_in = static_cast<uInt>(gz.size());
    MX_CHECK(gz.size() == z_.avail_in, path, ": ", gz.size(), " bytes of gzip data are more than zlib takes at once");
    MX_CHECK(inflateInit2(&z_, 15 + 16) == Z_OK, path, ": cannot start inflating gzip data");  // 16: gzip only
  }
  ~GzReader() { inflateEnd(&z_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Inflates up to n bytes into dst and returns how many came: fewer only at the end of the stream.
  // Throws on truncated or corrupt data (the CRC is checked when the end is reached).
  size_t read(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n && !ended_) {
      const auto chunk = static_cast<uInt>(std::min<size_t>(n - got, 1u << 30));
      z_.next_out = dst + got;
      z_.avail_out = chunk;
      step();
      got += chunk - z_.avail_out;
    }
    return got;
  }

 private:
  // One inflate call; at the end of a member, either the stream ends or the next member starts.
  void step() {
    MX_CHECK(z_.avail_in > 0, path_, ": truncated gzip data (the stream ends before its trailer)");
    const int r = inflate(&z_, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      if (z_.avail_in == 0) ended_ = true;
      else MX_CHECK(inflateReset(&z_) == Z_OK, path_, ": cannot read the next gzip member");
      return;
    }
    MX_CHECK(r == Z_OK, path_, ": ", r == Z_DATA_ERROR || r == Z_NEED_DICT ? "corrupt" : "cannot inflate",
             " gzip data (", z_.msg ? z_.msg : "zlib error " + std::to_string(r), ")");
  }

  z_stream z_{};
  const std::string& path_;
  bool ended_ = false;
};

// Copies `count` labels spaced `stride` bytes apart into dst, checking each is below `classes`.
void copy_labels(const uint8_t* src, int64_t count, size_t stride, int classes, const std::string& path,
                 int32_t* dst) {
  for (int64_t i = 0; i < count; ++i) {
    int label = src[static_cast<size_t>(i) * stride];
    MX_CHECK(label < classes, path, ": label ", label, " of record ", i, " is out of range [0, ", classes, ")");
    dst[i] = label;
  }
}

// The sizes after the magic number of an IDX header of `dims` sizes, inflated from `in`; checks the
// magic number and that the first size, the item count, is positive.
std::vector<uint32_t> idx_header(GzReader& in, size_t dims, uint32_t magic, const char* what,
                                 const std::string& path) {
  uint8_t b[16];
  const size_t header = 4 * (dims + 1), got = in.read(b, header);
  MX_CHECK(got == header, path, ": too short for an IDX ", what, " header (", got, " bytes)");
  const uint32_t found = big_endian32(b);
  MX_CHECK(found == magic, path, ": wrong IDX magic number ", found, " (expected ", magic, " for ", what, ")");
  std::vector<uint32_t> sizes;
  for (size_t i = 1; i <= dims; ++i) sizes.push_back(big_endian32(b + 4 * i));
  MX_CHECK(sizes[0] > 0, path, ": header says the file holds no ", what);
  return sizes;
}

// Checks, before anything is allocated, that the `count` items of `item_bytes` the header announces
// are no more than `gz_bytes` of gzip data can inflate to, nor than kMaxIdxBytes.
uint64_t idx_payload(uint64_t count, uint64_t item_bytes, size_t gz_bytes, const char* what,
                     const std::string& path) {
  const uint64_t want = count * item_bytes, most = gz_bytes * kDeflateMaxRatio;
  MX_CHECK(want <= most, path, ": header says ", count, " ", what, " (", want, " bytes), more than its ", gz_bytes,
           " bytes of gzip data can inflate to (at most ", most, ")");
  MX_CHECK(want <= kMaxIdxBytes, path, ": header says ", count, " ", what, " (", want,
           " bytes), more than the IDX limit of ", kMaxIdxBytes, " bytes");
  return want;
}

// Inflates exactly the announced payload into dst, then checks that the stream ends there.
void read_idx_payload(GzReader& in, uint8_t* dst, uint64_t want, uint64_t count, const char* what,
                      const std::string& path) {
  const size_t got = in.read(dst, static_cast<size_t>(want));
  MX_CHECK(got == want, path, ": header says ", count, " ", what, " (", want, " bytes) but the data holds ", got,
           " bytes");
  uint8_t extra;
  MX_CHECK(in.read(&extra, 1) == 0, path, ": header says ", count, " ", what, " (", want,
           " bytes) but the data holds more");
}

// One half of Fashion-MNIST: prefix "train" or "t10k".
Dataset load_fashion_part(const std::string& dir, const std::string& prefix) {
  std::string image_path = join(dir, prefix + "-images-idx3-ubyte.gz");
  std::string label_path = join(dir, prefix + "-labels-idx1-ubyte.gz");
  require_file(image_path, kFashionHint);
  require_file(label_path, kFashionHint);
  Dataset d;
  d.num_classes = 10;
  d.images = parse_idx_images(files::read_all(image_path), image_path);
  d.labels = parse_idx_labels(files::read_all(label_path), d.num_classes, label_path);
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

// How many records a file of `bytes` bytes holds; it must be a positive whole number.
int64_t cifar_records(uintmax_t bytes, const CifarFormat& f, const std::string& path) {
  MX_CHECK(bytes > 0, path, ": file is empty");
  MX_CHECK(bytes % f.record() == 0, path, ": size ", bytes, " is not a multiple of the ", f.name,
           " record size ", f.record());
  return static_cast<int64_t>(bytes / f.record());
}

Dataset empty_cifar(int64_t records, const CifarFormat& f) {
  Dataset d;
  d.num_classes = f.classes;
  d.images = Tensor::empty({records, 3, 32, 32}, DType::U8);
  d.labels = Tensor::empty({records}, DType::I32);
  return d;
}

// Copies the records of one file into d from record `first` on; returns how many there were.
int64_t copy_cifar(const std::string& bytes, const CifarFormat& f, const std::string& path, Dataset& d,
                   int64_t first) {
  const int64_t n = cifar_records(bytes.size(), f, path);
  MX_CHECK(first + n <= d.size(), path, ": the file grew while it was read");
  constexpr size_t kPixels = 3 * 32 * 32;
  const auto* src = reinterpret_cast<const uint8_t*>(bytes.data());
  copy_labels(src + f.label_offset, n, f.record(), f.classes, path, d.labels.data<int32_t>() + first);
  uint8_t* images = d.images.data<uint8_t>() + static_cast<size_t>(first) * kPixels;
  for (int64_t r = 0; r < n; ++r, images += kPixels)
    std::memcpy(images, src + static_cast<size_t>(r) * f.record() + f.label_bytes, kPixels);
  return n;
}

Dataset parse_cifar(const std::string& bytes, const CifarFormat& f, const std::string& path) {
  Dataset d = empty_cifar(cifar_records(bytes.size(), f, path), f);
  copy_cifar(bytes, f, path, d, 0);
  return d;
}

// Concatenates the records of several files into one dataset, sized from the files' sizes.
Dataset load_cifar_files(const std::vector<std::string>& paths, const CifarFormat& f) {
  int64_t total = 0;
  for (const std::string& p : paths) {
    require_file(p, kCifarHint);
    std::error_code ec;
    const uintmax_t bytes = fs::file_size(p, ec);
    MX_CHECK(!ec, p, ": cannot read its size (", ec.message(), ")");
    total += cifar_records(bytes, f, p);
  }
  Dataset d = empty_cifar(total, f);
  int64_t first = 0;
  for (const std::string& p : paths) first += copy_cifar(files::read_all(p), f, p, d, first);
  MX_CHECK(first == total, paths.back(), ": a file shrank while it was read");
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

Tensor parse_idx_images(const std::string& gz, const std::string& path) {
  constexpr uint32_t kSide = 28;
  GzReader in(gz, path);
  const std::vector<uint32_t> h = idx_header(in, 3, 2051, "images", path);
  MX_CHECK(h[1] == kSide && h[2] == kSide, path, ": images are ", h[1], "x", h[2], ", expected 28x28");
  const uint64_t want = idx_payload(h[0], kSide * kSide, gz.size(), "images", path);
  Tensor images = Tensor::empty({h[0], 1, kSide, kSide}, DType::U8);
  read_idx_payload(in, images.data<uint8_t>(), want, h[0], "images", path);
  return images;
}

Tensor parse_idx_labels(const std::string& gz, int classes, const std::string& path) {
  GzReader in(gz, path);
  const uint32_t n = idx_header(in, 1, 2049, "labels", path)[0];
  const uint64_t want = idx_payload(n, 1, gz.size(), "labels", path);
  Bytes raw(static_cast<size_t>(want));
  read_idx_payload(in, raw.data(), want, n, "labels", path);
  Tensor labels = Tensor::empty({n}, DType::I32);
  copy_labels(raw.data(), n, 1, classes, path, labels.data<int32_t>());
  return labels;
}

Dataset parse_cifar10(const std::string& bytes, const std::string& path) { return parse_cifar(bytes, kCifar10, path); }
Dataset parse_cifar100(const std::string& bytes, const std::string& path) {
  return parse_cifar(bytes, kCifar100, path);
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
