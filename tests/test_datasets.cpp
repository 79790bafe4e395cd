// Dataset readers and the batch loader, on tiny IDX .gz and CIFAR .bin files written into a temporary
// folder, plus the real Fashion-MNIST when its Debian package is installed.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "datasets/datasets.h"
#include "datasets/loader.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

using namespace mx;
using namespace mx::data;
namespace fs = std::filesystem;

namespace {

using test::Bytes;
using test::expect_error;
using test::put_be32;
using test::read_file;
using test::TempDir;
using test::write_gz;

Bytes read_bytes(const std::string& path) {
  const std::string s = read_file(path);
  return Bytes(s.begin(), s.end());
}

void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                              static_cast<std::streamsize>(b.size()));
}

// A deterministic, varied pixel value for image i at flat offset k.
uint8_t pixel(int64_t i, int64_t k) { return static_cast<uint8_t>((i * 37 + k * 11) % 256); }

Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, uint32_t stored, uint32_t magic = 2051) {
  Bytes b;
  for (uint32_t v : {magic, count, rows, cols}) put_be32(b, v);
  for (uint32_t i = 0; i < stored; ++i)
    for (uint32_t k = 0; k < rows * cols; ++k) b.push_back(pixel(i, k));
  return b;
}

Bytes idx_labels(const Bytes& labels, uint32_t magic = 2049) {
  Bytes b;
  for (uint32_t v : {magic, static_cast<uint32_t>(labels.size())}) put_be32(b, v);
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

const char* const kTrainImages = "train-images-idx3-ubyte.gz";
const char* const kTrainLabels = "train-labels-idx1-ubyte.gz";
const char* const kTestImages = "t10k-images-idx3-ubyte.gz";
const char* const kTestLabels = "t10k-labels-idx1-ubyte.gz";

// A valid miniature Fashion-MNIST (3 training and 2 test images); tests break one file at a time.
class DataFashion : public ::testing::Test {
 protected:
  void SetUp() override {
    write_gz(dir.file(kTrainImages), idx_images(3, 28, 28, 3));
    write_gz(dir.file(kTrainLabels), idx_labels({0, 9, 4}));
    write_gz(dir.file(kTestImages), idx_images(2, 28, 28, 2));
    write_gz(dir.file(kTestLabels), idx_labels({1, 2}));
  }
  void expect_load_error(const std::string& file, const std::string& phrase) {
    expect_error([&] { load_fashion_mnist(dir.path()); }, {file, phrase});
  }
  TempDir dir;
};

TEST_F(DataFashion, ParsesImagesAndLabels) {
  Split s = load_dataset("fashion-mnist", dir.path());
  EXPECT_EQ(s.train.images.shape(), (Shape{3, 1, 28, 28}));
  EXPECT_EQ(s.test.images.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(s.train.images.dtype(), DType::U8);
  EXPECT_EQ(s.train.num_classes, 10);
  EXPECT_EQ(s.train.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 9, 4}));
  EXPECT_EQ(s.test.labels.to_vector<int32_t>(), (std::vector<int32_t>{1, 2}));
  std::vector<uint8_t> px = s.train.images.to_vector<uint8_t>();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 784; k += 97) EXPECT_EQ(px[static_cast<size_t>(i * 784 + k)], pixel(i, k));
}

TEST_F(DataFashion, MissingDirectorySaysHowToInstall) {
  std::string missing = dir.file("nowhere");
  expect_error([&] { load_fashion_mnist(missing); }, {missing, "apt-get install dataset-fashion-mnist", "--data-dir"});
}

TEST_F(DataFashion, MissingFile) {
  fs::remove(dir.file(kTestLabels));
  expect_load_error(kTestLabels, "missing");
}

TEST_F(DataFashion, TruncatedGzip) {
  Bytes gz = read_bytes(dir.file(kTrainImages));
  gz.resize(gz.size() / 2);
  write_bytes(dir.file(kTrainImages), gz);
  expect_load_error(kTrainImages, "truncated");
}

TEST_F(DataFashion, CorruptGzip) {
  Bytes gz = read_bytes(dir.file(kTestImages));
  gz[gz.size() - 6] ^= 0xFF;  // inside the CRC-32 trailer
  write_bytes(dir.file(kTestImages), gz);
  expect_load_error(kTestImages, "corrupt");
}

TEST_F(DataFashion, WrongMagic) {
  write_gz(dir.file(kTrainLabels), idx_labels({0, 9, 4}, 2051));
  expect_load_error(kTrainLabels, "magic");
}

TEST_F(DataFashion, WrongImageSize) {
  write_gz(dir.file(kTrainImages), idx_images(3, 27, 28, 3));
  expect_load_error(kTrainImages, "28x28");
}

TEST_F(DataFashion, HeaderCountDisagreesWithData) {
  write_gz(dir.file(kTrainImages), idx_images(4, 28, 28, 3));
  expect_load_error(kTrainImages, "header says 4 images");
}

TEST_F(DataFashion, ImageAndLabelCountsDiffer) {
  write_gz(dir.file(kTestLabels), idx_labels({1}));
  expect_error([&] { load_fashion_mnist(dir.path()); }, {kTestImages, kTestLabels, "2 images", "1 labels"});
}

TEST_F(DataFashion, LabelOutOfRange) {
  write_gz(dir.file(kTrainLabels), idx_labels({0, 10, 4}));
  expect_load_error(kTrainLabels, "out of range");
}

// Hostile IDX files: the header is judged against what the file's bytes can hold before anything is
// allocated, and a stream longer than its header says is not inflated to its end.
TEST_F(DataFashion, HeaderAnnouncingBillionsOfImagesIsRefusedBeforeAllocating) {
  write_gz(dir.file(kTrainImages), idx_images(4000000000u, 28, 28, 1));
  expect_load_error(kTrainImages, "header says 4000000000 images (3136000000000 bytes), more than its");
  Bytes labels;
  for (uint32_t v : {2049u, 3000000000u}) put_be32(labels, v);
  write_gz(dir.file(kTrainImages), idx_images(3, 28, 28, 3));
  write_gz(dir.file(kTrainLabels), labels);
  expect_load_error(kTrainLabels, "header says 3000000000 labels (3000000000 bytes), more than its");
}

TEST_F(DataFashion, HeaderBeyondTheIdxLimitIsRefusedEvenWhenTheFileCouldHoldIt) {
  const uint32_t count = kMaxIdxBytes / 784 + 1;
  Bytes b = idx_images(count, 28, 28, 0);
  uint64_t state = 1;  // incompressible bytes, so that the ratio bound alone would let the header pass
  for (uint64_t i = 0; i < kMaxIdxBytes / 1000; ++i) {
    state = state * 6364136223846793005ull + 1;
    b.push_back(static_cast<uint8_t>(state >> 56));
  }
  write_gz(dir.file(kTestImages), b);
  expect_load_error(kTestImages, "more than the IDX limit of 4294967296 bytes");
}

TEST_F(DataFashion, StreamLongerThanTheHeaderSaysIsNotInflatedToItsEnd) {
  Bytes b = idx_images(3, 28, 28, 3);
  b.resize(b.size() + (size_t{64} << 20));  // a 64 MiB tail of zeros, which gzip packs into 64 KiB
  write_gz(dir.file(kTrainImages), b);
  expect_load_error(kTrainImages, "header says 3 images (2352 bytes) but the data holds more");
}

TEST(DataParsers, WorkOnBytesInMemory) {
  TempDir dir;
  write_gz(dir.file("images.gz"), idx_images(2, 28, 28, 2));
  const std::string gz = read_file(dir.file("images.gz"));
  EXPECT_EQ(parse_idx_images(gz, "mem.gz").shape(), (Shape{2, 1, 28, 28}));
  test::expect_error([&] { parse_idx_images(gz.substr(0, 20), "mem.gz"); }, {"mem.gz", "truncated"});
  EXPECT_EQ(parse_cifar10(std::string(2 * 3073, '\1'), "mem.bin").labels.to_vector<int32_t>(),
            (std::vector<int32_t>{1, 1}));
  test::expect_error([&] { parse_cifar100(std::string(3074 + 5, '\0'), "mem.bin"); },
                     {"mem.bin", "not a multiple of", "3074"});
}

TEST(DataDatasets, UnknownNameListsKnownOnes) {
  expect_error([] { load_dataset("mnist", "/tmp"); }, {"mnist", "fashion-mnist, cifar10, cifar100"});
  EXPECT_EQ(default_data_dir("fashion-mnist"), "/usr/share/datasets/fashion-mnist");
}

// CIFAR records: `label_bytes` label bytes then 3072 pixels; record r's pixel k is pixel(first + r, k).
Bytes cifar_records(const std::vector<Bytes>& labels, int64_t first) {
  Bytes b;
  for (size_t r = 0; r < labels.size(); ++r) {
    b.insert(b.end(), labels[r].begin(), labels[r].end());
    for (int64_t k = 0; k < 3072; ++k) b.push_back(pixel(first + static_cast<int64_t>(r), k));
  }
  return b;
}

void expect_cifar_pixels(const Dataset& d) {
  std::vector<uint8_t> px = d.images.to_vector<uint8_t>();
  for (int64_t i = 0; i < d.size(); ++i)
    for (int64_t k = 0; k < 3072; k += 101) EXPECT_EQ(px[static_cast<size_t>(i * 3072 + k)], pixel(i, k));
}

// Five training batches of 1..5 records (labels 0..14 mod 10) and a test batch of 2 records.
class DataCifar10 : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(root);
    int64_t first = 0;
    for (int b = 1; b <= 5; ++b) {
      std::vector<Bytes> labels;
      for (int r = 0; r < b; ++r) labels.push_back({static_cast<uint8_t>((first + r) % 10)});
      write_bytes(file(b), cifar_records(labels, first));
      first += b;
    }
    write_bytes(root + "/test_batch.bin", cifar_records({{7}, {3}}, 0));
  }
  std::string file(int batch) const { return root + "/data_batch_" + std::to_string(batch) + ".bin"; }
  TempDir dir;
  std::string root = dir.file("cifar-10-batches-bin");
};

TEST_F(DataCifar10, ParsesFromParentOrFolder) {
  for (const std::string& where : {dir.path(), root}) {
    Split s = load_dataset("cifar10", where);
    ASSERT_EQ(s.train.images.shape(), (Shape{15, 3, 32, 32}));
    EXPECT_EQ(s.train.num_classes, 10);
    std::vector<int32_t> labels = s.train.labels.to_vector<int32_t>();
    for (int i = 0; i < 15; ++i) EXPECT_EQ(labels[static_cast<size_t>(i)], i % 10);
    expect_cifar_pixels(s.train);
    EXPECT_EQ(s.test.labels.to_vector<int32_t>(), (std::vector<int32_t>{7, 3}));
    expect_cifar_pixels(s.test);
  }
}

TEST_F(DataCifar10, SizeNotMultipleOfRecord) {
  Bytes b = read_bytes(file(2));
  b.push_back(0);
  write_bytes(file(2), b);
  expect_error([&] { load_cifar10(dir.path()); }, {"data_batch_2.bin", "not a multiple of", "3073"});
}

TEST_F(DataCifar10, EmptyFile) {
  write_bytes(file(4), {});
  expect_error([&] { load_cifar10(dir.path()); }, {"data_batch_4.bin", "empty"});
}

TEST_F(DataCifar10, MissingFile) {
  fs::remove(file(3));
  expect_error([&] { load_cifar10(dir.path()); }, {"data_batch_3.bin", "missing"});
}

TEST_F(DataCifar10, LabelOutOfRange) {
  write_bytes(file(1), cifar_records({{10}}, 0));
  expect_error([&] { load_cifar10(dir.path()); }, {"data_batch_1.bin", "out of range"});
}

TEST_F(DataCifar10, MissingDirectory) {
  std::string missing = dir.file("nowhere");
  expect_error([&] { load_cifar10(missing); }, {missing, "does not exist"});
}

TEST(DataCifar100, UsesFineLabels) {
  TempDir dir;
  write_bytes(dir.file("train.bin"), cifar_records({{19, 99}, {0, 5}, {3, 42}}, 0));
  write_bytes(dir.file("test.bin"), cifar_records({{1, 64}}, 0));
  Split s = load_cifar100(dir.path());
  EXPECT_EQ(s.train.num_classes, 100);
  EXPECT_EQ(s.train.labels.to_vector<int32_t>(), (std::vector<int32_t>{99, 5, 42}));
  EXPECT_EQ(s.test.labels.to_vector<int32_t>(), (std::vector<int32_t>{64}));
  expect_cifar_pixels(s.train);
  Bytes odd = cifar_records({{1, 64}}, 0);
  odd.pop_back();
  write_bytes(dir.file("test.bin"), odd);
  expect_error([&] { load_cifar100(dir.path()); }, {"test.bin", "not a multiple of", "3074"});
}

Dataset make_dataset(const Shape& shape, const std::vector<uint8_t>& pixels) {
  Dataset d;
  d.images = Tensor::from_vector<uint8_t>(pixels, shape);
  std::vector<int32_t> labels(static_cast<size_t>(shape[0]));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i);
  d.labels = Tensor::from_vector<int32_t>(labels, {shape[0]});
  d.num_classes = static_cast<int>(shape[0]);
  return d;
}

TEST(DataNormalization, MatchesHandComputation) {
  // Two images, two channels of 1x2 pixels: channel 0 holds 0, 255, 255, 0; channel 1 holds 51..204.
  Dataset d = make_dataset({2, 2, 1, 2}, {0, 255, 51, 102, 255, 0, 153, 204});
  Normalization n = compute_normalization(d);
  ASSERT_EQ(n.mean.size(), 2u);
  EXPECT_NEAR(n.mean[0], 0.5, 1e-6);
  EXPECT_NEAR(n.std[0], 0.5, 1e-6);
  EXPECT_NEAR(n.mean[1], 0.5, 1e-6);                                    // 0.2, 0.4, 0.6, 0.8
  EXPECT_NEAR(n.std[1], std::sqrt((0.09 + 0.01 + 0.01 + 0.09) / 4), 1e-6);  // population std
}

// n images of c x h x w with pixel(i, k) content and label i; normalization maps pixel v to v / 255.
Dataset indexed_dataset(int64_t n, int64_t c = 2, int64_t h = 5, int64_t w = 4) {
  std::vector<uint8_t> px;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c * h * w; ++k) px.push_back(pixel(i, k));
  return make_dataset({n, c, h, w}, px);
}

Normalization identity_norm(int channels) {
  return {std::vector<float>(static_cast<size_t>(channels), 0.f), std::vector<float>(static_cast<size_t>(channels), 1.f)};
}

std::vector<Batch> run_epoch(Loader& loader, int epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  for (Batch b; loader.next(b);) out.push_back(b);
  return out;
}

// Sample j of a batch as pixel bytes (undoing the v / 255 normalization exactly).
std::vector<uint8_t> sample_pixels(const Batch& b, int64_t j) {
  const int64_t size = b.images.numel() / b.images.size(0);
  const float* p = b.images.data<float>() + j * size;
  std::vector<uint8_t> out;
  for (int64_t k = 0; k < size; ++k) out.push_back(static_cast<uint8_t>(std::lround(p[k] * 255.f)));
  return out;
}

std::vector<uint8_t> source_pixels(const Dataset& d, int64_t i) {
  const int64_t size = d.images.numel() / d.size();
  const uint8_t* p = d.images.data<uint8_t>() + i * size;
  return std::vector<uint8_t>(p, p + size);
}

std::vector<uint8_t> transformed(const Dataset& d, int64_t i, int dx, int dy, bool flip) {
  std::vector<uint8_t> src = source_pixels(d, i), out(src.size());
  shift_and_flip(src.data(), out.data(), d.channels(), d.height(), d.width(), dx, dy, flip);
  return out;
}

TEST(DataDatasets, HeadAndSubsetPickImagesWithTheirLabels) {
  const Dataset d = indexed_dataset(6);
  const Dataset h = head(d, 4);
  EXPECT_EQ(h.size(), 4);
  EXPECT_EQ(h.images.data<uint8_t>(), d.images.data<uint8_t>()) << "head shares storage";
  EXPECT_EQ(head(d, 0).size(), 6);
  const Dataset s = subset(d, {5, 0, 5});
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.num_classes, d.num_classes);
  const int64_t per = 2 * 5 * 4;
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t src = i == 1 ? 0 : 5;
    EXPECT_EQ(s.labels.data<int32_t>()[i], d.labels.data<int32_t>()[src]);
    for (int64_t k = 0; k < per; ++k) ASSERT_EQ(s.images.data<uint8_t>()[i * per + k], pixel(src, k));
  }
  mx::test::expect_error([&] { subset(d, {6}); }, {"subset", "6"});
}

TEST(DataLoader, EverySampleOncePerEpoch) {
  Dataset d = indexed_dataset(10);
  LoaderOptions opt;
  opt.batch_size = 3;
  Loader loader(d, identity_norm(2), opt);
  EXPECT_EQ(loader.batches_per_epoch(), 4);
  std::vector<Batch> batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 4u);
  std::multiset<int32_t> seen;
  for (const Batch& b : batches) {
    EXPECT_EQ(b.images.shape(), (Shape{b.labels.size(0), 2, 5, 4}));
    std::vector<int32_t> labels = b.labels.to_vector<int32_t>();
    for (size_t j = 0; j < labels.size(); ++j) {
      seen.insert(labels[j]);
      EXPECT_EQ(sample_pixels(b, static_cast<int64_t>(j)), source_pixels(d, labels[j]));
    }
  }
  EXPECT_EQ(batches.back().labels.size(0), 1);
  EXPECT_EQ(seen, (std::multiset<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DataLoader, NormalizesWithMeanAndStd) {
  Dataset d = make_dataset({1, 2, 1, 2}, {0, 255, 51, 102});
  LoaderOptions opt;
  opt.batch_size = 1;
  Loader loader(d, {{0.5f, 0.2f}, {0.5f, 0.1f}}, opt);
  std::vector<float> got = run_epoch(loader, 0)[0].images.to_vector<float>();
  std::vector<float> want = {-1.f, 1.f, 0.f, 2.f};
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5);
}

std::vector<float> concat_images(const std::vector<Batch>& batches) {
  std::vector<float> out;
  for (const Batch& b : batches) {
    std::vector<float> v = b.images.to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<int32_t> concat_labels(const std::vector<Batch>& batches) {
  std::vector<int32_t> out;
  for (const Batch& b : batches) {
    std::vector<int32_t> v = b.labels.to_vector<int32_t>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

LoaderOptions augmenting_options(uint64_t seed) {
  LoaderOptions opt;
  opt.batch_size = 7;
  opt.flip = true;
  opt.translate = 2;
  opt.seed = seed;
  return opt;
}

TEST(DataLoader, SameSeedAndEpochGiveIdenticalBatches) {
  Dataset d = indexed_dataset(30);
  Loader a(d, identity_norm(2), augmenting_options(5)), b(d, identity_norm(2), augmenting_options(5));
  std::vector<Batch> first = run_epoch(a, 3);
  run_epoch(a, 4);
  for (const std::vector<Batch>& other : {run_epoch(b, 3), run_epoch(a, 3)}) {
    EXPECT_EQ(concat_labels(first), concat_labels(other));
    EXPECT_EQ(concat_images(first), concat_images(other));
  }
}

TEST(DataLoader, DifferentEpochOrSeedGivesDifferentOrder) {
  Dataset d = indexed_dataset(50);
  Loader a(d, identity_norm(2), augmenting_options(5)), b(d, identity_norm(2), augmenting_options(6));
  std::vector<int32_t> epoch0 = concat_labels(run_epoch(a, 0));
  EXPECT_NE(epoch0, concat_labels(run_epoch(a, 1)));
  EXPECT_NE(epoch0, concat_labels(run_epoch(b, 0)));
  std::vector<int64_t> order = epoch_order(50, 5, 0);
  EXPECT_EQ(epoch0, std::vector<int32_t>(order.begin(), order.end()));
}

TEST(DataLoader, WithoutShuffleKeepsDatasetOrder) {
  Dataset d = indexed_dataset(5);
  LoaderOptions opt;
  opt.shuffle = false;
  opt.batch_size = 2;
  Loader loader(d, identity_norm(2), opt);
  EXPECT_EQ(concat_labels(run_epoch(loader, 7)), (std::vector<int32_t>{0, 1, 2, 3, 4}));
}

TEST(DataLoader, DropLastDropsThePartialBatch) {
  Dataset d = indexed_dataset(10);
  LoaderOptions opt;
  opt.batch_size = 3;
  opt.drop_last = true;
  Loader loader(d, identity_norm(2), opt);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  std::vector<Batch> batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  for (const Batch& b : batches) EXPECT_EQ(b.labels.size(0), 3);
}

TEST(DataLoader, BatchLargerThanDataset) {
  Dataset d = indexed_dataset(10);
  LoaderOptions opt;
  opt.batch_size = 100;
  Loader loader(d, identity_norm(2), opt);
  std::vector<Batch> batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].images.shape(), (Shape{10, 2, 5, 4}));
  opt.drop_last = true;
  Loader dropping(d, identity_norm(2), opt);
  EXPECT_EQ(dropping.batches_per_epoch(), 0);
  EXPECT_TRUE(run_epoch(dropping, 0).empty());
}

TEST(DataLoader, BatchSizeOne) {
  Dataset d = indexed_dataset(10);
  LoaderOptions opt;
  opt.batch_size = 1;
  Loader loader(d, identity_norm(2), opt);
  std::vector<Batch> batches = run_epoch(loader, 2);
  ASSERT_EQ(batches.size(), 10u);
  for (const Batch& b : batches) EXPECT_EQ(b.images.shape(), (Shape{1, 2, 5, 4}));
  std::vector<int32_t> labels = concat_labels(batches);
  EXPECT_EQ(std::set<int32_t>(labels.begin(), labels.end()).size(), 10u);
}

TEST(DataAugment, FlipIsAnExactMirror) {
  // Two channels of 2x3.
  Bytes src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out(src.size());
  shift_and_flip(src.data(), out.data(), 2, 2, 3, 0, 0, true);
  EXPECT_EQ(out, (Bytes{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}));
}

TEST(DataAugment, TranslationShiftsContentWithZeroFill) {
  // One 3x4 channel moved right by 1 and up by 1: row 0 takes source row 1, the last row is zeros.
  Bytes src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out(src.size());
  shift_and_flip(src.data(), out.data(), 1, 3, 4, 1, -1, false);
  EXPECT_EQ(out, (Bytes{0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0}));
  shift_and_flip(src.data(), out.data(), 1, 3, 4, -2, 2, true);  // shift left 2, down 2, then mirror
  EXPECT_EQ(out, (Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 3}));
}

TEST(DataLoader, AugmentsEachSampleWithinTheOptions) {
  // Flip only: every sample is its source or its mirror, and both occur. Translate only: every sample is
  // its source shifted by at most 1 pixel each way with zero fill.
  Dataset d = indexed_dataset(64);
  for (bool flip : {true, false}) {
    LoaderOptions opt;
    opt.batch_size = 16;
    opt.flip = flip;
    opt.translate = flip ? 0 : 1;
    Loader loader(d, identity_norm(2), opt);
    std::set<std::pair<int, int>> shifts;
    int flipped = 0;
    for (const Batch& b : run_epoch(loader, 1)) {
      std::vector<int32_t> labels = b.labels.to_vector<int32_t>();
      for (size_t j = 0; j < labels.size(); ++j) {
        std::vector<uint8_t> got = sample_pixels(b, static_cast<int64_t>(j));
        bool matched = false;
        for (int dy = -opt.translate; dy <= opt.translate && !matched; ++dy)
          for (int dx = -opt.translate; dx <= opt.translate && !matched; ++dx)
            for (bool f : {false, true}) {
              if ((f && !flip) || got != transformed(d, labels[j], dx, dy, f)) continue;
              matched = true;
              shifts.insert({dx, dy});
              flipped += f;
              break;
            }
        EXPECT_TRUE(matched) << "sample " << labels[j];
      }
    }
    if (flip) {
      EXPECT_GT(flipped, 0);
      EXPECT_LT(flipped, 64);
    } else {
      EXPECT_EQ(shifts.size(), 9u);
    }
  }
}

TEST(DataLoader, RestartMidEpochAndDestroyWithBatchPending) {
  Dataset d = indexed_dataset(40);
  Loader loader(d, identity_norm(2), augmenting_options(1));
  std::vector<Batch> full = run_epoch(loader, 0);
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  std::vector<Batch> again = run_epoch(loader, 0);  // restarts while the second batch is pending
  EXPECT_EQ(concat_images(full), concat_images(again));
  loader.start_epoch(1);
  ASSERT_TRUE(loader.next(b));  // the destructor now runs with the next batch prepared or in progress
}

TEST(DataLoader, RejectsMisuse) {
  Dataset d = indexed_dataset(4);
  LoaderOptions opt;
  opt.batch_size = 0;
  expect_error([&] { Loader l(d, identity_norm(2), opt); }, {"batch size"});
  expect_error([&] { Loader l(d, identity_norm(3), LoaderOptions{}); }, {"for 2 channels"});
  Loader loader(d, identity_norm(2), LoaderOptions{});
  Batch b;
  expect_error([&] { loader.next(b); }, {"start_epoch"});
}

TEST(DataFashionReal, LoadsInstalledPackage) {
  const std::string dir = default_data_dir("fashion-mnist");
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " not installed (apt-get install dataset-fashion-mnist)";
  Split s = load_fashion_mnist(dir);
  EXPECT_EQ(s.train.images.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(s.test.images.shape(), (Shape{10000, 1, 28, 28}));
  for (const Dataset* part : {&s.train, &s.test}) {
    std::vector<int32_t> labels = part->labels.to_vector<int32_t>();
    std::set<int32_t> classes(labels.begin(), labels.end());
    EXPECT_EQ(classes, (std::set<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  }
  Normalization n = compute_normalization(s.train);
  EXPECT_NEAR(n.mean[0], 0.2860, 1e-3);
  EXPECT_NEAR(n.std[0], 0.3530, 1e-3);
}

}  // namespace
