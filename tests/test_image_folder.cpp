// Image folders on small PNG and JPEG trees written by the tests (stb_image_write): the scan, every bad
// input's one-line error, the crop and evaluation geometry, the in-memory load, the export round trip,
// the streaming loader's determinism across worker counts, and `mixup export` / `train --dataset folder`.
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "datasets/folder_loader.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

using namespace mx;
using namespace mx::data;
namespace fs = std::filesystem;

namespace {

using test::expect_error;
using test::TempDir;

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

void write_bytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A width x height image of `channels` channels with a varied pattern; JPEG when the path ends in .jpg.
std::string encode(int width, int height, int channels, int seed, bool jpeg) {
  std::vector<uint8_t> px(static_cast<size_t>(width) * height * channels);
  for (size_t k = 0; k < px.size(); ++k) px[k] = static_cast<uint8_t>((k * 7 + seed * 31 + k / 5) % 256);
  std::string bytes;
  if (jpeg) stbi_write_jpg_to_func(append_bytes, &bytes, width, height, channels, px.data(), 90);
  else stbi_write_png_to_func(append_bytes, &bytes, width, height, channels, px.data(), width * channels);
  return bytes;
}

void write_image(const std::string& path, int width, int height, int channels, int seed = 0) {
  const std::string ext = fs::path(path).extension().string();
  write_bytes(path, encode(width, height, channels, seed, ext == ".jpg" || ext == ".JPEG"));
}

// train/{cat,dog}, val/{cat,dog}: PNG and JPEG of mixed sizes, grey and RGB, and two non-image files.
void write_mixed_tree(const TempDir& d) {
  write_image(d / "train/dog/b.png", 40, 30, 1, 1);
  write_image(d / "train/dog/a.JPEG", 24, 36, 3, 2);
  write_image(d / "train/cat/z.jpg", 32, 32, 1, 3);
  write_image(d / "train/cat/sub/y.png", 20, 50, 3, 4);
  write_bytes(d / "train/cat/notes.txt", "not an image");
  write_bytes(d / "train/.DS_Store", "x");
  write_image(d / "val/cat/c.png", 64, 48, 3, 5);
  write_image(d / "val/dog/d.jpg", 30, 30, 1, 6);
}

// Every image grey and 12x12, as an exported Fashion-MNIST is at 28x28.
void write_grey_tree(const TempDir& d, int images_per_class) {
  for (const char* cls : {"0-a", "1-b", "2-c"})
    for (const char* split : {"train", "val"})
      for (int i = 0; i < images_per_class; ++i)
        write_image(d / (std::string(split) + "/" + cls + "/" + std::to_string(i) + ".png"), 12, 12, 1, i + cls[0]);
}

std::string big_endian32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return big_endian32(static_cast<uint32_t>(data.size())) + body + big_endian32(static_cast<uint32_t>(crc));
}

// A PNG of its header chunks only (IHDR, IEND), announcing width x height 8-bit grey pixels.
std::string png_header(uint32_t width, uint32_t height) {
  const std::string format("\x08\x00\x00\x00\x00", 5);  // 8 bits, grey, deflate, no filter, no interlace
  return "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", big_endian32(width) + big_endian32(height) + format) +
         png_chunk("IEND", "");
}

ImageFolder scan(const TempDir& d, FolderOptions opt = {}) { return scan_image_folder(d.path(), opt); }

std::vector<Batch> epoch_batches(BatchSource& loader, int epoch) {
  std::vector<Batch> out;
  loader.start_epoch(epoch);
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

void expect_same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].images.to_vector<float>(), b[i].images.to_vector<float>()) << "batch " << i;
    EXPECT_EQ(a[i].labels.to_vector<int32_t>(), b[i].labels.to_vector<int32_t>()) << "batch " << i;
  }
}

// The scan of a grey tree of 2 images per class plus `bad`: skipped with one warning naming it, or with
// strict an error holding `fragments`.
void expect_skipped_in_the_scan(const TempDir& d, const std::string& bad,
                                std::initializer_list<std::string> fragments) {
  std::vector<std::string> warnings;
  FolderOptions opt;
  opt.warn = [&](const std::string& s) { warnings.push_back(s); };
  const ImageFolder f = scan(d, opt);
  EXPECT_EQ(f.train.size(), 6);
  EXPECT_EQ(f.undecodable, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(bad), std::string::npos) << warnings[0];
  opt.strict = true;
  expect_error([&] { scan(d, opt); }, fragments);
}

}  // namespace

TEST(ImageFolder, ScansSortedClassesAndFilesAndCountsNonImages) {
  TempDir d;
  write_mixed_tree(d);
  const ImageFolder f = scan(d);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(f.train.files, (std::vector<std::string>{d / "train/cat/sub/y.png", d / "train/cat/z.jpg",
                                                     d / "train/dog/a.JPEG", d / "train/dog/b.png"}));
  EXPECT_EQ(f.train.labels, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(f.val.labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(f.non_images, 2);
  EXPECT_EQ(f.channels, 3) << "two training images are colour";
  EXPECT_EQ(f.image_size, 224) << "mixed sizes fall back to 224";
  EXPECT_NE(f.summary().find("2 non-image files skipped"), std::string::npos) << f.summary();
  EXPECT_EQ(scan(d, FolderOptions{20, 0, false, {}}).image_size, 20);
}

TEST(ImageFolder, GreyImagesOfOneSizeKeepTheirChannelAndSize) {
  TempDir d;
  write_grey_tree(d, 2);
  const ImageFolder f = scan(d);
  EXPECT_EQ(f.channels, 1);
  EXPECT_EQ(f.image_size, 12);
  const Split s = load_image_folder(f, {});
  EXPECT_EQ(s.train.images.shape(), (Shape{6, 1, 12, 12}));
  EXPECT_EQ(s.train.num_classes, 3);
  EXPECT_EQ(s.test.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1, 1, 2, 2}));
  // Images already at the size are not resampled: the loaded bytes are the file's pixels.
  const Image first = decode_image(f.train.files[0], 1);
  const std::vector<uint8_t> loaded(s.train.images.data<uint8_t>(), s.train.images.data<uint8_t>() + 144);
  EXPECT_EQ(loaded, first.pixels);
}

TEST(ImageFolder, BadLayoutsAreOneLineErrorsNamingThePath) {
  {
    TempDir d;
    expect_error([&] { scan_image_folder(d / "nowhere", {}); }, {d / "nowhere", "not found"});
    write_image(d / "val/cat/a.png", 8, 8, 1);
    expect_error([&] { scan(d); }, {d / "train", "missing"});
  }
  {
    TempDir d;
    write_image(d / "train/cat/a.png", 8, 8, 1);
    expect_error([&] { scan(d); }, {d / "val", "missing"});
  }
  {
    TempDir d;
    write_grey_tree(d, 1);
    write_bytes(d / "train/3-empty/readme.md", "no images here");
    expect_error([&] { scan(d); }, {d / "train/3-empty", "empty class folder"});
  }
  {
    TempDir d;
    write_grey_tree(d, 1);
    write_image(d / "val/9-zebra/a.png", 12, 12, 1);
    expect_error([&] { scan(d); }, {d / "val/9-zebra", "'9-zebra' is not in", d / "train"});
  }
  {
    TempDir d;
    write_bytes(d / "train/readme.txt", "x");
    write_image(d / "val/cat/a.png", 8, 8, 1);
    expect_error([&] { scan(d); }, {d / "train", "no images"});
  }
}

TEST(ImageFolder, UndecodableImagesAreSkippedWithAWarningOrStopWithStrict) {
  TempDir d;
  write_grey_tree(d, 2);
  const std::string bad = d / "train/1-b/broken.png";
  write_bytes(bad, "this is not a PNG");
  expect_skipped_in_the_scan(d, bad, {bad, "cannot decode"});
}

TEST(ImageFolder, ImagesAnnouncingAbsurdSizesAreRefusedBeforeDecoding) {
  TempDir d;
  write_grey_tree(d, 2);
  const std::string huge = d / "train/2-c/huge.png";
  write_bytes(huge, png_header(20000, 20000));  // 400 megapixels, which stb_image itself would accept
  const std::string limit = std::to_string(kMaxImagePixels) + " pixels";
  expect_error([&] { decode_image(huge, 1); }, {huge, "20000x20000", limit});
  expect_skipped_in_the_scan(d, huge, {huge, "20000x20000", limit});
  write_bytes(huge, encode(1, 101, 1, 0, false));  // evaluated at 224, it would become 256 x 25856
  expect_error([&] { decode_image(huge, 1); }, {huge, "1x101, one side more than 100 times the other"});
  write_bytes(huge, encode(1, 100, 1, 0, false));
  EXPECT_EQ(decode_image(huge, 1).height, 100);
  write_bytes(huge, png_header(8192, 8192));  // at the limit, but 45 bytes cannot hold 64 megapixels
  expect_error([&] { decode_image(huge, 1); }, {huge, "8192x8192 pixels, more than its 45 bytes can hold"});
  std::string jpeg = encode(16, 16, 3, 1, true);
  const size_t frame = jpeg.find("\xFF\xC0");
  ASSERT_NE(frame, std::string::npos);
  jpeg.replace(frame + 5, 4, "\x1f\x40\x1f\x40");  // 8000x8000, which stb_image would fill with grey
  write_bytes(huge, jpeg);
  expect_error([&] { decode_image(huge, 3); }, {huge, "8000x8000 pixels, more than its"});
}

TEST(ImageFolder, HeadersBeyondTheFirstKilobytesOfAFileAreRead) {
  TempDir d;
  write_grey_tree(d, 2);
  const std::string comment(20000, 'c');  // a JPEG comment segment before the frame header
  std::string jpeg = encode(16, 16, 1, 1, true);
  jpeg.insert(2, "\xFF\xFE" + big_endian32(static_cast<uint32_t>(comment.size() + 2)).substr(2) + comment);
  write_bytes(d / "train/0-a/commented.jpg", jpeg);
  FolderOptions strict;
  strict.strict = true;
  EXPECT_EQ(scan(d, strict).train.size(), 7);
}

TEST(ImageFolder, JpegWithAnOverfullHuffmanTableIsRefusedBeforeStbImageReadsIt) {
  TempDir d;
  write_grey_tree(d, 2);
  std::string jpeg = encode(16, 16, 3, 1, true);
  const size_t table = jpeg.find("\xFF\xC4");
  ASSERT_NE(table, std::string::npos);
  jpeg.replace(table + 5, 16, std::string(16, '\x20'));  // 16 x 32 codes where stb_image holds 256
  const std::string bad = d / "train/0-a/overfull.jpg";
  write_bytes(bad, jpeg);
  expect_error([&] { decode_image(bad, 3); }, {bad, "Huffman table of more than 256 codes"});
  FolderOptions strict;
  strict.strict = true;
  const ImageFolder f = scan(d, strict);  // the table follows the frame header, which stbi_info stops at
  EXPECT_EQ(f.train.size(), 7);
  expect_error([&] { load_image_folder(f, strict); }, {bad, "Huffman table of more than 256 codes"});
  const size_t length = static_cast<size_t>(static_cast<uint8_t>(jpeg[table + 2])) << 8 |
                        static_cast<uint8_t>(jpeg[table + 3]);
  jpeg.insert(2, jpeg.substr(table, 2 + length));  // the same segment before the frame header too
  write_bytes(bad, jpeg);
  expect_error([&] { scan(d, strict); }, {bad, "Huffman table of more than 256 codes"});
}

TEST(ImageFolder, PngsWithIdatChunksStbImageMishandlesAreRefused) {
  TempDir d;
  const std::string good = encode(3, 5, 4, 1, false), path = d / "bad.png";
  const size_t data = good.find("IDAT");
  ASSERT_NE(data, std::string::npos);
  write_bytes(path, std::string(good).insert(data - 4, png_chunk("IDAT", "")));
  expect_error([&] { decode_image(path, 3); }, {path, "an empty first IDAT chunk"});
  write_bytes(path, std::string(good).replace(data - 4, 4, "\x7f\xff\xff\xf0"));  // stb would allocate 2 GiB
  expect_error([&] { decode_image(path, 3); }, {path, "an IDAT chunk runs past the end of the file"});
}

TEST(ImageFolder, ImagesThatFailOnlyInTheFullDecodeAreHandledTheSameWay) {
  TempDir d;
  write_grey_tree(d, 2);
  const std::string cut = d / "train/0-a/cut.png";
  write_bytes(cut, encode(12, 12, 1, 9, false).substr(0, 40));  // the header survives, the pixels do not
  std::vector<std::string> warnings;
  FolderOptions opt;
  opt.warn = [&](const std::string& s) { warnings.push_back(s); };
  const ImageFolder f = scan(d, opt);
  ASSERT_EQ(f.train.size(), 7) << "stbi_info reads the header only";
  EXPECT_EQ(load_image_folder(f, opt).train.size(), 6);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(cut), std::string::npos);
  FolderOptions strict = opt;
  strict.strict = true;
  expect_error([&] { load_image_folder(f, strict); }, {cut, "cannot decode"});

  FolderLoaderOptions lo;
  lo.batch_size = 7;
  lo.train = false;
  lo.warn = opt.warn;
  FolderLoader loader(f, f.train, {{0.5f}, {0.25f}}, lo);
  const std::vector<Batch> batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  const std::vector<float> pixels = batches[0].images.to_vector<float>();
  EXPECT_EQ(f.train.files[2], cut) << "0.png, 1.png, cut.png";
  EXPECT_EQ(std::vector<float>(pixels.begin() + 2 * 144, pixels.begin() + 3 * 144), std::vector<float>(144, 0.f))
      << "the cut image is blank";
  EXPECT_NE(pixels[0], 0.f);
  EXPECT_NE(warnings.back().find(cut), std::string::npos);
  lo.strict = true;
  FolderLoader stopping(f, f.train, {{0.5f}, {0.25f}}, lo);
  expect_error([&] { epoch_batches(stopping, 0); }, {cut, "cannot decode"});
}

TEST(ImageFolder, RandomResizedCropStaysInsideAndInRange) {
  int fallbacks = 0;
  for (uint64_t k = 0; k < 2000; ++k) {
    random::SplitMix64 g{random::derive_key({k})};
    const Box b = random_resized_crop(500, 375, g);
    ASSERT_TRUE(b.x >= 0 && b.y >= 0 && b.width > 0 && b.height > 0 && b.x + b.width <= 500 && b.y + b.height <= 375);
    const double share = static_cast<double>(b.width) * b.height / (500.0 * 375);
    const double ratio = static_cast<double>(b.width) / b.height;
    if (b.width == 500 && b.height == 375) {
      ++fallbacks;
      continue;
    }
    EXPECT_GE(share, 0.08 * 0.98) << k;
    EXPECT_GE(ratio, 0.75 * 0.98) << k;
    EXPECT_LE(ratio, 4.0 / 3 * 1.02) << k;
  }
  EXPECT_LT(fallbacks, 20) << "ten tries nearly always find a box in a 4:3 image";
  random::SplitMix64 g{1};
  const Box strip = random_resized_crop(1000, 10, g);  // no try fits: the centred 4:3 box
  EXPECT_EQ(strip.width, 13);
  EXPECT_EQ(strip.height, 10);
  EXPECT_EQ(strip.x, 493);
  EXPECT_EQ(strip.y, 0);
}

TEST(ImageFolder, EvaluationResizesTheShorterSideThenCropsTheCentre) {
  const EvalGeometry wide = eval_geometry(500, 375, 224);
  EXPECT_EQ(wide.resized_width, 341);
  EXPECT_EQ(wide.resized_height, 256);
  EXPECT_EQ(wide.crop.x, 59);  // round(58.5)
  EXPECT_EQ(wide.crop.y, 16);
  const EvalGeometry tall = eval_geometry(30, 60, 28);
  EXPECT_EQ(tall.resized_width, 32);
  EXPECT_EQ(tall.resized_height, 64);
  EXPECT_EQ(tall.crop.x, 2);
  EXPECT_EQ(tall.crop.y, 18);
  Image flat{30, 60, 3, std::vector<uint8_t>(30 * 60 * 3, 77)};
  const Image out = eval_transform(flat, 28);
  EXPECT_EQ(out.width, 28);
  EXPECT_EQ(out.height, 28);
  EXPECT_EQ(out.pixels, std::vector<uint8_t>(28 * 28 * 3, 77));
  Image at_size{28, 28, 1, std::vector<uint8_t>(28 * 28)};
  for (size_t k = 0; k < at_size.pixels.size(); ++k) at_size.pixels[k] = static_cast<uint8_t>(k * 13);
  EXPECT_EQ(eval_transform(at_size, 28).pixels, at_size.pixels);
}

TEST(ImageFolder, ResizeInterpolatesWhenEnlargingAndAveragesWhenShrinking) {
  const Image pair{2, 1, 1, {0, 200}};
  EXPECT_EQ(resize(pair, {0, 0, 2, 1}, 4, 1).pixels, (std::vector<uint8_t>{0, 50, 150, 200}));
  Image board{30, 30, 1, std::vector<uint8_t>(900)};
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 30; ++x) board.pixels[static_cast<size_t>(y) * 30 + x] = (x + y) % 2 ? 200 : 0;
  const Image small = resize(board, {0, 0, 30, 30}, 10, 10);  // every output centre lies on a source pixel
  for (int y = 1; y < 9; ++y)
    for (int x = 1; x < 9; ++x) {
      const int v = small.pixels[static_cast<size_t>(y) * 10 + x];
      EXPECT_TRUE(v > 60 && v < 140) << "a 1:3 checkerboard averages to grey, got " << v;
    }
  const Image box = resize(board, {3, 5, 2, 1}, 2, 1);  // a box the size of its output is copied
  EXPECT_EQ(box.pixels, (std::vector<uint8_t>{0, 200}));
}

TEST(ImageFolder, ExportReloadsToIdenticalImagesAndLabels) {
  EXPECT_EQ(class_folder_name("fashion-mnist", 0, 10), "0-t-shirt");
  EXPECT_EQ(class_folder_name("cifar100", 7, 100), "07");
  for (int channels : {1, 3}) {
    Split s;
    for (Dataset* d : {&s.train, &s.test}) {
      const int64_t n = d == &s.train ? 11 : 5;
      d->num_classes = 3;
      d->images = Tensor::empty({n, channels, 6, 6}, DType::U8);
      d->labels = Tensor::empty({n}, DType::I32);
      for (int64_t i = 0; i < d->images.numel(); ++i) d->images.data<uint8_t>()[i] = static_cast<uint8_t>(i * 29 + n);
      for (int64_t i = 0; i < n; ++i) d->labels.data<int32_t>()[i] = static_cast<int32_t>((i * 2) % 3);
    }
    TempDir tmp;
    const std::string out = tmp / "folder";
    EXPECT_EQ(export_image_folder(s, "fashion-mnist", out), 16);
    EXPECT_TRUE(fs::is_directory(out + "/train/2-pullover"));
    const Split back = load_image_folder(scan_image_folder(out, {}), {});
    // The folder holds the images class by class, each class in dataset order.
    for (const auto& [orig, got] : {std::pair{&s.train, &back.train}, std::pair{&s.test, &back.test}}) {
      std::vector<int64_t> order;
      for (int32_t cls = 0; cls < 3; ++cls)
        for (int64_t i = 0; i < orig->size(); ++i)
          if (orig->labels.data<int32_t>()[i] == cls) order.push_back(i);
      const Dataset want = subset(*orig, order);
      EXPECT_EQ(got->images.shape(), want.images.shape());
      EXPECT_EQ(got->images.to_vector<uint8_t>(), want.images.to_vector<uint8_t>()) << channels << " channels";
      EXPECT_EQ(got->labels.to_vector<int32_t>(), want.labels.to_vector<int32_t>());
    }
    expect_error([&] { export_image_folder(s, "fashion-mnist", out); }, {out, "already exists"});
    EXPECT_FALSE(test::has_temporary_files(tmp.path()));
  }
}

TEST(ImageFolder, StreamedBatchesDependOnTheSeedNotOnTheWorkers) {
  TempDir d;
  write_mixed_tree(d);
  write_image(d / "train/cat/x.png", 50, 20, 3, 7);
  const ImageFolder f = scan(d, FolderOptions{16, 0, false, {}});
  const Normalization norm = imagenet_normalization(3);
  auto loader = [&](int workers, uint64_t seed) {
    return std::make_unique<FolderLoader>(f, f.train, norm, FolderLoaderOptions{2, true, workers, false, seed, {}, {}});
  };
  const std::vector<Batch> one = epoch_batches(*loader(1, 5), 1);
  ASSERT_EQ(one.size(), 3u);
  EXPECT_EQ(one[2].images.shape(), (Shape{1, 3, 16, 16}));
  expect_same_batches(one, epoch_batches(*loader(3, 5), 1));
  EXPECT_NE(one[0].images.to_vector<float>(), epoch_batches(*loader(2, 5), 2)[0].images.to_vector<float>())
      << "another epoch draws other crops";
  // Evaluation streams exactly what the in-memory load holds.
  FolderLoader streamed(f, f.val, norm, FolderLoaderOptions{2, false, 2, false, 0, {}, {}});
  Loader in_memory(load_image_folder(f, {}).test, norm, LoaderOptions{2, false, false, false, 0, 0, {}});
  expect_same_batches(epoch_batches(streamed, 0), epoch_batches(in_memory, 0));
}

TEST(ImageFolder, ExportedDatasetTrainsFromTheCommandLine) {
  TempDir tmp;
  fs::create_directories(tmp / "idx");
  test::write_tiny_fashion_mnist(tmp / "idx", 40, 20);
  test::RunResult r = test::run_mixup("export --data-dir " + tmp / "idx" + " --out " + tmp / "folder", tmp);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 60 images"), std::string::npos) << r.out;
  const std::string run = "train --dataset folder --data-dir " + tmp / "folder" +
                          " --epochs 1 --batch-size 16 --threads 1 --workers 2 --device cpu --out ";
  r = test::run_mixup(run + tmp / "mem", tmp);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1-channel 28x28; 0 non-image files skipped"), std::string::npos) << r.out;
  r = test::run_mixup(run + tmp / "rrc" + " --augment rrc --image-size 20 --norm imagenet --strict-images", tmp);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1-channel 20x20"), std::string::npos) << r.out;
  test::expect_one_line_error("train --augment rrc --data-dir " + tmp / "idx" + " --out " + tmp / "x",
                              "--augment rrc: needs --dataset folder", tmp);
  test::expect_one_line_error("export --data-dir " + tmp / "idx" + " --out " + tmp / "folder", "already exists", tmp);
}
