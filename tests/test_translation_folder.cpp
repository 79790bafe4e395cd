// Image-translation folders on tiny PNG trees written with the engine's own writer (write_png): layout
// detection and --layout, --direction, the train and test transforms (crop windows, flips, the shared
// crop of aligned halves, pass-through), epoch reproducibility, worker-count independence, short last
// batches, partners, every one-line error, and the class-domains export behind `fashion_domains`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "datasets/class_domains.h"
#include "datasets/image_folder.h"
#include "datasets/translation_folder.h"
#include "engine/files.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/images.h"

using namespace mx;
using namespace mx::data;
namespace fs = std::filesystem;

namespace {

using test::expect_error;
using test::side_by_side;
using test::TempDir;

// A width x height image with a varied pattern (seeded), or of one value everywhere when `flat`.
Image pattern(int width, int height, int channels, int seed, bool flat = false) {
  Image img{width, height, channels, std::vector<uint8_t>(static_cast<size_t>(width) * height * channels)};
  for (size_t k = 0; k < img.pixels.size(); ++k)
    img.pixels[k] = static_cast<uint8_t>(flat ? seed : (k * 7 + seed * 31 + k / 5) % 256);
  return img;
}

void put(const std::string& path, const Image& img) {
  fs::create_directories(fs::path(path).parent_path());
  write_png(img, path);
}

// DIR/<phase>A with `na` and DIR/<phase>B with `nb` images of size x size (A grey, B colour).
void write_unaligned(const TempDir& d, const std::string& phase, int na, int nb, int size = 10) {
  for (int i = 0; i < na; ++i) put(d / (phase + "A/a" + std::to_string(i) + ".png"), pattern(size, size, 1, i));
  for (int i = 0; i < nb; ++i) put(d / (phase + "B/b" + std::to_string(i) + ".png"), pattern(size, size, 3, 50 + i));
}

// DIR/<folder>/<i>.png: n aligned files of two half x half halves with different patterns.
void write_aligned(const TempDir& d, const std::string& folder, int n, int half = 10, int channels = 3) {
  for (int i = 0; i < n; ++i)
    put(d / (folder + "/" + std::to_string(i) + ".png"),
        side_by_side(pattern(half, half, channels, i), pattern(half, half, channels, 100 + i)));
}

TranslationOptions options(int load, int crop) {
  TranslationOptions o;
  o.load_size = load;
  o.crop_size = crop;
  o.workers = 2;
  return o;
}

std::vector<TranslationBatch> epoch(TranslationLoader& loader, int e) {
  std::vector<TranslationBatch> out;
  loader.start_epoch(e);
  TranslationBatch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

std::vector<float> all_values(const std::vector<TranslationBatch>& batches, Tensor TranslationBatch::*side) {
  std::vector<float> v;
  for (const TranslationBatch& b : batches) {
    const std::vector<float> part = (b.*side).to_vector<float>();
    v.insert(v.end(), part.begin(), part.end());
  }
  return v;
}

void expect_same(const std::vector<TranslationBatch>& x, const std::vector<TranslationBatch>& y) {
  ASSERT_EQ(x.size(), y.size());
  for (auto side :
       {&TranslationBatch::a, &TranslationBatch::b, &TranslationBatch::a_partner, &TranslationBatch::b_partner})
    EXPECT_EQ(all_values(x, side), all_values(y, side));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].a_paths, y[i].a_paths);
    EXPECT_EQ(x[i].b_paths, y[i].b_paths);
  }
}

// The normalized CHW floats of an HWC image, as the loader writes them.
std::vector<float> normalized(const Image& img, bool flip = false) {
  std::vector<float> table;
  for (int c = 0; c < img.channels; ++c)
    for (int v = 0; v < 256; ++v) table.push_back(static_cast<float>((v / 255.0 - 0.5) / 0.5));
  std::vector<float> out(img.pixels.size());
  normalize_planar(img, flip, table, out.data());
  return out;
}

// Sample i of a batch side.
std::vector<float> sample(const Tensor& t, int64_t i) {
  const std::vector<float> v = t.to_vector<float>();
  const auto n = static_cast<size_t>(t.numel() / t.size(0));
  return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(i * n),
                            v.begin() + static_cast<std::ptrdiff_t>((i + 1) * n));
}

}  // namespace

TEST(TranslationFolder, DetectsTheUnalignedLayoutWithSortedDomains) {
  TempDir d;
  write_unaligned(d, "train", 3, 2);
  write_unaligned(d, "test", 1, 1);
  put(d / "trainA/sub/z.png", pattern(10, 10, 1, 9));
  std::ofstream(d / "trainA/notes.txt") << "not an image";
  const TranslationFolder f = scan_translation_folder(d.path(), "train", options(10, 8));
  EXPECT_FALSE(f.aligned);
  EXPECT_EQ(f.a, (std::vector<std::string>{d / "trainA/a0.png", d / "trainA/a1.png", d / "trainA/a2.png",
                                           d / "trainA/sub/z.png"}));
  EXPECT_EQ(f.b, (std::vector<std::string>{d / "trainB/b0.png", d / "trainB/b1.png"}));
  EXPECT_EQ(f.size(), 4) << "max(|A|, |B|)";
  EXPECT_EQ(f.channels, 3) << "B is colour";
  EXPECT_EQ(f.non_images, 1);
  EXPECT_NE(f.summary().find("unaligned train, 4 A and 2 B images, 3-channel, AtoB"), std::string::npos) << f.summary();
  EXPECT_EQ(scan_translation_folder(d.path(), "test", options(10, 8)).a,
            (std::vector<std::string>{d / "testA/a0.png"}));
  TranslationOptions grey = options(10, 8);
  grey.channels = 1;
  EXPECT_EQ(scan_translation_folder(d.path(), "train", grey).channels, 1);
}

TEST(TranslationFolder, DetectsTheAlignedLayoutAndTestFallsBackToVal) {
  TempDir d;
  write_aligned(d, "train", 3);
  write_aligned(d, "val", 2);
  const TranslationFolder f = scan_translation_folder(d.path(), "train", options(10, 8));
  EXPECT_TRUE(f.aligned);
  EXPECT_EQ(f.a.size(), 3u);
  EXPECT_TRUE(f.b.empty());
  EXPECT_EQ(f.size(), 3);
  const TranslationFolder val = scan_translation_folder(d.path(), "test", options(10, 8));
  EXPECT_EQ(val.a, (std::vector<std::string>{d / "val/0.png", d / "val/1.png"})) << "the pix2pix maps release has val/";
  write_aligned(d, "test", 1);
  EXPECT_EQ(scan_translation_folder(d.path(), "test", options(10, 8)).a, (std::vector<std::string>{d / "test/0.png"}));
}

TEST(TranslationFolder, BothOrNeitherLayoutIsAnErrorUnlessChosen) {
  TempDir d;
  expect_error([&] { scan_translation_folder(d.path(), "train", options(10, 8)); },
               {d.path(), "neither", "trainA/", "train/", "no folders"});
  fs::create_directories(d / "other");
  expect_error([&] { scan_translation_folder(d.path(), "train", options(10, 8)); }, {d.path(), "neither", "other/"});
  write_unaligned(d, "train", 2, 2);
  write_aligned(d, "train", 1);
  expect_error([&] { scan_translation_folder(d.path(), "train", options(10, 8)); },
               {d.path(), "both", "trainA/, trainB/", "--layout"});
  TranslationOptions o = options(10, 8);
  o.layout = "unaligned";
  EXPECT_FALSE(scan_translation_folder(d.path(), "train", o).aligned);
  o.layout = "aligned";
  EXPECT_EQ(scan_translation_folder(d.path(), "train", o).a, (std::vector<std::string>{d / "train/0.png"}));
  o.layout = "paired";
  expect_error([&] { scan_translation_folder(d.path(), "train", o); }, {"--layout", "paired"});
  o.layout = "aligned";
  expect_error([&] { scan_translation_folder(d.path(), "test", o); }, {d / "test", "missing", "aligned layout"});
}

TEST(TranslationFolder, DirectionBtoASwapsTheDomains) {
  TempDir d;
  write_unaligned(d, "train", 3, 2);
  TranslationOptions o = options(10, 10);
  const TranslationFolder ab = scan_translation_folder(d.path(), "train", o);
  o.direction = "BtoA";
  const TranslationFolder ba = scan_translation_folder(d.path(), "train", o);
  EXPECT_EQ(ba.a, ab.b);
  EXPECT_EQ(ba.b, ab.a);
  EXPECT_TRUE(ba.swapped);

  TempDir p;
  write_aligned(p, "train", 3);
  o.direction = "AtoB";
  const TranslationFolder pab = scan_translation_folder(p.path(), "train", o);
  o.direction = "BtoA";
  const TranslationFolder pba = scan_translation_folder(p.path(), "train", o);
  TranslationLoader lab(pab, o, false, 2, 1), lba(pba, o, false, 2, 1);
  const std::vector<TranslationBatch> x = epoch(lab, 0), y = epoch(lba, 0);
  EXPECT_EQ(all_values(x, &TranslationBatch::a), all_values(y, &TranslationBatch::b));
  EXPECT_EQ(all_values(x, &TranslationBatch::b), all_values(y, &TranslationBatch::a));
  EXPECT_NE(all_values(x, &TranslationBatch::a), all_values(x, &TranslationBatch::b));
  o.direction = "sideways";
  expect_error([&] { scan_translation_folder(p.path(), "train", o); }, {"--direction", "sideways"});
}

TEST(TranslationFolder, TestModeVisitsInOrderAndPassesImagesOfTheLoadSizeThroughExactly) {
  TempDir d;
  write_unaligned(d, "test", 3, 5);
  const TranslationOptions o = options(10, 10);
  const TranslationFolder f = scan_translation_folder(d.path(), "test", o);
  TranslationLoader loader(f, o, false, 2, 3);
  const std::vector<TranslationBatch> batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  std::vector<std::string> a, b;
  for (const TranslationBatch& x : batches) {
    a.insert(a.end(), x.a_paths.begin(), x.a_paths.end());
    b.insert(b.end(), x.b_paths.begin(), x.b_paths.end());
  }
  EXPECT_EQ(a, (std::vector<std::string>{f.a[0], f.a[1], f.a[2], f.a[0], f.a[1]})) << "A[i % |A|]";
  EXPECT_EQ(b, f.b) << "B[i % |B|]";
  // The grey A image is expanded to three equal channels; no resize, no crop, no flip.
  const Image grey = decode_image(f.a[1], 1);
  const Image rgb = decode_image(f.a[1], 3);
  EXPECT_EQ(sample(batches[0].a, 1), normalized(rgb));
  EXPECT_EQ(sample(batches[2].b, 0), normalized(decode_image(f.b[4], 3)));
  EXPECT_EQ(grey.pixels.size() * 3, rgb.pixels.size());
  const std::vector<float> v = sample(batches[0].a, 1);
  EXPECT_TRUE(std::equal(v.begin(), v.begin() + 100, v.begin() + 100));
  EXPECT_GE(*std::min_element(v.begin(), v.end()), -1.f);
  EXPECT_LE(*std::max_element(v.begin(), v.end()), 1.f);
  // The test transform resizes and takes the centred crop.
  const TranslationOptions small = options(6, 4);
  TranslationLoader centred(f, small, false, 1, 3);
  centred.start_epoch(0);
  TranslationBatch first;
  ASSERT_TRUE(centred.next(first));
  EXPECT_EQ(first.a.shape(), (Shape{1, 3, 4, 4}));
  const Image first_a = decode_image(f.a[0], 3);
  EXPECT_EQ(sample(first.a, 0), normalized(crop(resize(first_a, {0, 0, 10, 10}, 6, 6), {1, 1, 4, 4})));
  EXPECT_EQ(sample(first.a, 0), sample(epoch(centred, 5)[0].a, 0)) << "no randomness in test mode";
}

TEST(TranslationFolder, UnalignedTrainingTakesAModuloAAndARandomB) {
  TempDir d;
  write_unaligned(d, "train", 3, 5);
  const TranslationOptions o = options(10, 8);
  const TranslationFolder f = scan_translation_folder(d.path(), "train", o);
  TranslationLoader loader(f, o, true, 1, 7);
  std::map<std::string, int> a_seen;
  std::set<std::string> b_seen;
  for (int e = 0; e < 4; ++e) {
    std::map<std::string, int> a_count;
    for (const TranslationBatch& b : epoch(loader, e)) {
      ASSERT_EQ(b.a.shape(), (Shape{1, 3, 8, 8}));
      ++a_count[b.a_paths[0]];
      b_seen.insert(b.b_paths[0]);
    }
    // A shuffled order of [0, 5): indices 0 and 3 give A[0], 1 and 4 give A[1], 2 gives A[2].
    EXPECT_EQ(a_count, (std::map<std::string, int>{{f.a[0], 2}, {f.a[1], 2}, {f.a[2], 1}}));
  }
  EXPECT_GE(b_seen.size(), 3u) << "B is drawn at random among 5 images";
  for (const std::string& p : b_seen) EXPECT_NE(std::find(f.b.begin(), f.b.end(), p), f.b.end());
}

TEST(TranslationFolder, TrainingCropsAWindowOfTheResizedImageAndFlipsHalfTheTime) {
  TempDir d;
  write_unaligned(d, "train", 1, 1, 10);
  TranslationOptions o = options(10, 6);
  const TranslationFolder f = scan_translation_folder(d.path(), "train", o);
  const Image img = decode_image(f.a[0], 3);
  std::set<std::pair<int, int>> windows;
  std::map<bool, int> flipped;  // by opt.flip: epochs whose crop came out mirrored
  const int epochs = 40;
  for (bool flip : {true, false}) {
    o.flip = flip;
    TranslationLoader loader(f, o, true, 1, 11);
    for (int e = 0; e < epochs; ++e) {
      const std::vector<float> got = sample(epoch(loader, e)[0].a, 0);
      bool found = false;
      for (int y = 0; y <= 4 && !found; ++y)
        for (int x = 0; x <= 4 && !found; ++x)
          for (bool mirrored : {false, true})
            if (got == normalized(crop(img, {x, y, 6, 6}), mirrored)) {
              found = true;
              windows.insert({x, y});
              if (mirrored) ++flipped[flip];
              break;
            }
      EXPECT_TRUE(found) << "epoch " << e << ": not a 6x6 window of the 10x10 image";
    }
  }
  EXPECT_GT(windows.size(), 5u) << "crops vary";
  EXPECT_GT(flipped[true], 8) << "about half of the 40 epochs";
  EXPECT_LT(flipped[true], 32) << "about half of the 40 epochs";
  EXPECT_EQ(flipped[false], 0) << "no flip without opt.flip";
}

TEST(TranslationFolder, AlignedHalvesShareTheCropAndTheFlip) {
  TempDir d;
  for (int i = 0; i < 4; ++i) {  // identical halves of 9x9, file width 18, resized to 12 and cropped to 7
    const Image half = pattern(9, 9, 3, 20 + i);
    put(d / ("train/" + std::to_string(i) + ".png"), side_by_side(half, half));
  }
  put(d / "train/odd.png", side_by_side(pattern(9, 9, 3, 7), pattern(10, 9, 3, 8)));  // width 19: B is 10 wide
  TranslationOptions o = options(12, 7);
  o.partners = true;
  const TranslationFolder f = scan_translation_folder(d.path(), "train", o);
  ASSERT_TRUE(f.aligned);
  TranslationLoader loader(f, o, true, 2, 5);
  std::set<std::vector<float>> distinct;
  for (int e = 0; e < 6; ++e)
    for (const TranslationBatch& b : epoch(loader, e)) {
      EXPECT_EQ(b.a.shape(), b.b.shape());
      EXPECT_EQ(b.a.size(2), 7);
      EXPECT_EQ(b.a_paths, b.b_paths);
      for (int64_t i = 0; i < b.a.size(0); ++i) {
        if (b.a_paths[static_cast<size_t>(i)] == d / "train/odd.png") continue;
        EXPECT_EQ(sample(b.a, i), sample(b.b, i)) << "identical halves stay identical";
        distinct.insert(sample(b.a, i));
      }
    }
  EXPECT_GT(distinct.size(), 8u) << "the crops and flips vary from epoch to epoch";
}

TEST(TranslationFolder, SameSeedAndEpochReplayOtherEpochsDiffer) {
  TempDir d;
  write_unaligned(d, "train", 4, 3);
  TranslationOptions o = options(12, 8);
  o.partners = true;
  const TranslationFolder f = scan_translation_folder(d.path(), "train", o);
  TranslationLoader one(f, o, true, 3, 42), two(f, o, true, 3, 42), other_seed(f, o, true, 3, 43);
  const std::vector<TranslationBatch> e1 = epoch(one, 1);
  epoch(two, 0);  // a resumed run starts at epoch 1 with a fresh loader; an earlier epoch changes nothing
  expect_same(e1, epoch(two, 1));
  expect_same(e1, epoch(one, 1));
  TranslationBatch part;
  one.start_epoch(2);
  ASSERT_TRUE(one.next(part));  // the next batch is being made ahead when the epoch restarts
  expect_same(epoch(one, 1), e1);
  EXPECT_NE(all_values(e1, &TranslationBatch::a), all_values(epoch(one, 2), &TranslationBatch::a));
  EXPECT_NE(all_values(e1, &TranslationBatch::a), all_values(epoch(other_seed, 1), &TranslationBatch::a));
}

TEST(TranslationFolder, BatchesDoNotDependOnTheWorkerCount) {
  TempDir u, p;
  write_unaligned(u, "train", 5, 4, 14);
  write_aligned(p, "train", 5, 13);
  for (const TempDir* d : {&u, &p}) {
    TranslationOptions o = options(16, 12);
    o.partners = true;
    const TranslationFolder f = scan_translation_folder(d->path(), "train", o);
    o.workers = 1;
    TranslationLoader serial(f, o, true, 2, 9);
    o.workers = 5;
    TranslationLoader parallel(f, o, true, 2, 9);
    expect_same(epoch(serial, 3), epoch(parallel, 3));
  }
}

TEST(TranslationFolder, TheLastBatchIsShort) {
  TempDir d;
  write_aligned(d, "train", 5);
  const TranslationOptions o = options(10, 8);
  const TranslationFolder f = scan_translation_folder(d.path(), "train", o);
  TranslationLoader loader(f, o, true, 2, 1);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  const std::vector<TranslationBatch> batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].a.shape(), (Shape{2, 3, 8, 8}));
  EXPECT_EQ(batches[2].a.shape(), (Shape{1, 3, 8, 8}));
  EXPECT_EQ(batches[2].a_paths.size(), 1u);
  EXPECT_FALSE(batches[2].a_partner.defined()) << "no partners unless asked for";
  TranslationBatch after;
  EXPECT_FALSE(loader.next(after));
  TranslationLoader whole(f, o, true, 8, 1);
  EXPECT_EQ(whole.batches_per_epoch(), 1);
  EXPECT_EQ(epoch(whole, 0)[0].a.size(0), 5);
  std::set<std::string> files;
  for (const TranslationBatch& b : batches) files.insert(b.a_paths.begin(), b.a_paths.end());
  EXPECT_EQ(files.size(), 5u) << "every aligned file once per epoch";
}

TEST(TranslationFolder, PartnersAreOtherImagesOfTheSameDomain) {
  // Flat images (one value each) keep their value through resize, crop and flip, so a value names the file.
  TempDir u;
  for (int i = 0; i < 3; ++i) put(u / ("trainA/" + std::to_string(i) + ".png"), pattern(8, 8, 1, 10 + 10 * i, true));
  for (int i = 0; i < 4; ++i) put(u / ("trainB/" + std::to_string(i) + ".png"), pattern(8, 8, 1, 200 + 10 * i, true));
  TranslationOptions o = options(10, 6);
  o.partners = true;
  const TranslationFolder f = scan_translation_folder(u.path(), "train", o);
  TranslationLoader loader(f, o, true, 3, 2);
  const auto value = [](const Tensor& t, int64_t i) { return std::lround((sample(t, i)[0] * 0.5 + 0.5) * 255); };
  std::set<long> a_partners, b_partners;
  for (int e = 0; e < 5; ++e)
    for (const TranslationBatch& b : epoch(loader, e))
      for (int64_t i = 0; i < b.a.size(0); ++i) {
        const long a = value(b.a, i), ap = value(b.a_partner, i), bv = value(b.b, i), bp = value(b.b_partner, i);
        EXPECT_TRUE(ap == 10 || ap == 20 || ap == 30) << ap;
        EXPECT_TRUE(bp >= 200 && bp <= 230 && bp % 10 == 0) << bp;
        EXPECT_NE(ap, a) << "another image than the sample's own";
        EXPECT_NE(bp, bv);
        a_partners.insert(ap);
        b_partners.insert(bp);
      }
  EXPECT_EQ(a_partners.size(), 3u);
  EXPECT_GE(b_partners.size(), 3u);
  // Aligned partners are one other file: its A half and its B half (values 10+i and 100+i).
  TempDir p;
  for (int i = 0; i < 3; ++i)
    put(p / ("train/" + std::to_string(i) + ".png"),
        side_by_side(pattern(8, 8, 1, 10 + i, true), pattern(8, 8, 1, 100 + i, true)));
  const TranslationFolder g = scan_translation_folder(p.path(), "train", o);
  TranslationLoader aligned(g, o, true, 3, 2);
  for (const TranslationBatch& b : epoch(aligned, 0))
    for (int64_t i = 0; i < b.a.size(0); ++i) {
      EXPECT_EQ(value(b.b_partner, i), value(b.a_partner, i) + 90);
      EXPECT_NE(value(b.a_partner, i), value(b.a, i));
    }
}

TEST(TranslationFolder, BadInputsAreOneLineErrorsNamingThePath) {
  const TranslationOptions o = options(10, 8);
  {
    TempDir d;
    expect_error([&] { scan_translation_folder(d / "nowhere", "train", o); }, {d / "nowhere", "not found"});
    write_unaligned(d, "train", 2, 0);
    expect_error([&] { scan_translation_folder(d.path(), "train", o); }, {d / "trainB", "missing"});
    fs::create_directories(d / "trainB");
    std::ofstream(d / "trainB/readme.md") << "no images";
    expect_error([&] { scan_translation_folder(d.path(), "train", o); }, {d / "trainB", "empty domain"});
    expect_error([&] { scan_translation_folder(d.path(), "val", o); }, {"phase", "val"});
  }
  {
    TempDir d;
    write_aligned(d, "train", 2);
    put(d / "train/thin.png", pattern(1, 10, 3, 1));
    expect_error([&] { scan_translation_folder(d.path(), "train", o); }, {d / "train/thin.png", "1 pixel wide", "A|B"});
  }
  {
    TempDir d;
    write_aligned(d, "train", 2);
    const TranslationFolder f = scan_translation_folder(d.path(), "train", o);
    expect_error([&] { TranslationLoader(f, options(7, 8), true, 1, 0); }, {"--load-size 7", "--crop-size 8"});
    expect_error([&] { TranslationLoader(f, options(8, 0), true, 1, 0); }, {"--crop-size", "0"});
    expect_error([&] { TranslationLoader(f, o, true, 0, 0); }, {"--batch-size", "0"});
    TranslationOptions two = o;
    two.channels = 2;
    expect_error([&] { scan_translation_folder(d.path(), "train", two); }, {"--channels", "2"});
    TranslationLoader early(f, o, true, 1, 0);
    TranslationBatch b;
    expect_error([&] { early.next(b); }, {"start_epoch"});
  }
}

TEST(TranslationFolder, UndecodableImagesAreSkippedBlankedOrStopWithStrict) {
  TempDir d;
  write_unaligned(d, "train", 2, 2);
  std::ofstream(d / "trainA/broken.png") << "this is not a PNG";
  std::vector<std::string> warnings;
  TranslationOptions o = options(10, 10);
  o.warn = [&](const std::string& s) { warnings.push_back(s); };
  TranslationFolder f = scan_translation_folder(d.path(), "train", o);
  EXPECT_EQ(f.a.size(), 2u);
  EXPECT_EQ(f.undecodable, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(d / "trainA/broken.png"), std::string::npos) << warnings[0];
  TranslationOptions strict = o;
  strict.strict = true;
  expect_error([&] { scan_translation_folder(d.path(), "train", strict); }, {d / "trainA/broken.png", "cannot decode"});
  TempDir all_broken;
  write_unaligned(all_broken, "train", 0, 1);
  fs::create_directories(all_broken / "trainA");
  std::ofstream(all_broken / "trainA/x.png") << "not a PNG either";
  expect_error([&] { scan_translation_folder(all_broken.path(), "train", o); },
               {all_broken / "trainA", "no decodable images"});
  // A file whose header reads but whose pixels do not: a blank image and a warning, or an error.
  fs::remove(d / "trainA/broken.png");
  const std::string cut = d / "trainA/a1.png";
  const std::string head_only = files::read_all(cut).substr(0, 40);  // the header survives, the pixels do not
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << head_only;
  f = scan_translation_folder(d.path(), "train", o);
  ASSERT_EQ(f.a.size(), 2u);
  TranslationLoader loader(f, o, false, 2, 0);
  const std::vector<TranslationBatch> batches = epoch(loader, 0);
  EXPECT_EQ(sample(batches[0].a, 1), std::vector<float>(300, 0.f));
  EXPECT_NE(warnings.back().find(cut), std::string::npos) << warnings.back();
  for (int64_t batch : {2, 1}) {  // the cut file in the first batch, or in the second (made ahead)
    TranslationLoader stopping(f, strict, false, batch, 0);
    expect_error([&] { epoch(stopping, 0); }, {cut, "cannot decode"});
  }
}

TEST(ClassDomains, WritesTwoClassesPaddedAsTheFourFoldersOfAnUnalignedTree) {
  Split s;
  for (Dataset* d : {&s.train, &s.test}) {
    const int64_t n = d == &s.train ? 12 : 6;
    d->num_classes = 3;
    d->images = Tensor::empty({n, 1, 4, 4}, DType::U8);
    d->labels = Tensor::empty({n}, DType::I32);
    for (int64_t i = 0; i < d->images.numel(); ++i)
      d->images.data<uint8_t>()[i] = static_cast<uint8_t>(1 + i * 13 % 250);
    for (int64_t i = 0; i < n; ++i) d->labels.data<int32_t>()[i] = static_cast<int32_t>(i % 3);
  }
  TempDir tmp;
  const std::string out = tmp / "domains";
  ClassDomainsOptions opt;
  opt.a = 2;
  opt.b = 0;
  opt.pad = 1;
  const ClassDomainsCounts n = export_class_domains(s, opt, out);
  EXPECT_EQ(n.train_a, 4);
  EXPECT_EQ(n.train_b, 4);
  EXPECT_EQ(n.test_a, 2);
  EXPECT_EQ(n.test_b, 2);
  const TranslationFolder f = scan_translation_folder(out, "train", options(6, 6));
  EXPECT_FALSE(f.aligned);
  EXPECT_EQ(f.channels, 1);
  ASSERT_EQ(f.a.size(), 4u);
  // trainA/1.png is the second image of class 2: train index 5, inside a black border.
  const Image got = decode_image(f.a[1], 1);
  ASSERT_EQ(got.width, 6);
  const Image want = dataset_image(s.train, 5);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      const bool inside = x >= 1 && x <= 4 && y >= 1 && y <= 4;
      EXPECT_EQ(got.pixels[static_cast<size_t>(y * 6 + x)],
                inside ? want.pixels[static_cast<size_t>((y - 1) * 4 + x - 1)] : 0)
          << x << "," << y;
    }
  EXPECT_EQ(scan_translation_folder(out, "test", options(6, 6)).b.size(), 2u);
  expect_error([&] { export_class_domains(s, opt, out); }, {out, "already exists"});
  opt.limit = 3;
  EXPECT_EQ(export_class_domains(s, opt, tmp / "limited").train_a, 3);
  EXPECT_EQ(export_class_domains(s, opt, tmp / "limited2").test_b, 2) << "the limit caps, never pads";
  opt.a = 3;
  expect_error([&] { export_class_domains(s, opt, tmp / "x"); }, {"--a 3", "0 to 2"});
  opt.a = 0;
  expect_error([&] { export_class_domains(s, opt, tmp / "x"); }, {"--a and --b", "different"});
  opt.a = 1;
  opt.pad = -1;
  expect_error([&] { export_class_domains(s, opt, tmp / "x"); }, {"--pad"});
  opt.pad = 0;
  Split no_a = s;
  no_a.test = subset(s.test, {0, 3});  // class 0 only
  expect_error([&] { export_class_domains(no_a, opt, tmp / "x"); }, {"--a 1", "test split"});
  EXPECT_FALSE(fs::exists(tmp / "x"));
  EXPECT_FALSE(test::has_temporary_files(tmp.path())) << "a failed export leaves nothing behind";
}
