// Batches built from stored uint8 images (--data-on-device): the fused augment_mix kernel's CPU twin
// against the loader's augmentation and normalization followed by mix_batch, its front-end's checks,
// the loader's deferred batches, Mixer::mix_stored against Mixer::mix, and training runs with the images
// kept on the device against runs with a loader thread. tests/test_cuda_kernels.cpp compares the CUDA
// twin, tests/test_cuda_train.cpp the GPU runs.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <numeric>
#include <random>

#include "datasets/loader.h"
#include "engine/interrupt.h"
#include "engine/ops.h"
#include "mixup/mixer.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/mix_plans.h"
#include "train/trainer.h"

using namespace mx;

namespace {

// A dataset of `count` random images of shape [c, h, w] with labels 0..count-1.
data::Dataset random_dataset(int64_t count, int64_t c, int64_t h, int64_t w, std::mt19937& rng) {
  const std::vector<uint8_t> px = test::random_bytes(count * c * h * w, rng);
  std::vector<int32_t> labels(static_cast<size_t>(count));
  std::iota(labels.begin(), labels.end(), 0);
  return {Tensor::from_vector(px, {count, c, h, w}), Tensor::from_vector(labels, {count}), static_cast<int>(count)};
}

data::Normalization random_norm(int64_t c, std::mt19937& rng) {
  data::Normalization norm;
  for (int64_t ch = 0; ch < c; ++ch) {
    norm.mean.push_back(std::uniform_real_distribution<float>(0.f, 1.f)(rng));
    norm.std.push_back(std::uniform_real_distribution<float>(0.1f, 1.f)(rng));
  }
  return norm;
}

Tensor table_of(const data::Normalization& norm, int64_t c) {
  return Tensor::from_vector(data::normalization_table(norm, static_cast<int>(c)), {c * 256});
}

// The loader's way: each sample shifted and mirrored (shift_and_flip), normalized through the table,
// then the whole batch mixed by mix_batch.
std::vector<float> decoded_then_mixed(const data::Dataset& d, const std::vector<float>& table,
                                      const std::vector<kernels::AugmentSample>& augment,
                                      const std::vector<kernels::MixSample>& plan) {
  const int c = d.channels(), h = d.height(), w = d.width();
  const size_t image = static_cast<size_t>(c) * h * w;
  std::vector<float> x;
  std::vector<uint8_t> moved(image);
  for (const kernels::AugmentSample& a : augment) {
    data::shift_and_flip(d.images.data<uint8_t>() + a.source * static_cast<int64_t>(image), moved.data(), c, h, w,
                         a.dx, a.dy, a.flip != 0);
    for (size_t k = 0; k < image; ++k) x.push_back(table[k / (image / c) * 256 + moved[k]]);
  }
  std::vector<float> out(x.size());
  kernels::mix_batch<Device::CPU>(out.data(), x.data(), plan.data(), static_cast<int64_t>(augment.size()), c, h, w);
  return out;
}

std::vector<kernels::MixSample> copies(int64_t n) {
  std::vector<kernels::MixSample> plan(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) plan[static_cast<size_t>(i)].partner = static_cast<int32_t>(i);
  return plan;
}

}  // namespace

TEST(AugmentMix, EqualsTheLoadersAugmentationThenMixBatchBitForBit) {
  std::mt19937 rng(21);
  for (const Shape& s : {Shape{1, 1, 1, 1}, Shape{7, 3, 5, 9}, Shape{4, 2, 13, 3}, Shape{9, 1, 28, 28},
                         Shape{5, 3, 32, 32}, Shape{1, 3, 2, 1}}) {
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    const data::Dataset d = random_dataset(n + 4, c, h, w, rng);
    const Tensor table = table_of(random_norm(c, rng), c);
    for (int round = 0; round < 3; ++round) {
      const std::vector<kernels::AugmentSample> augment = test::random_augment(n, d.size(), h, w, rng);
      const std::vector<kernels::MixSample> plan = test::random_plan(n, h, w, rng);
      const Tensor got = ops::augment_mix(d.images, table, augment, plan);
      ASSERT_EQ(got.shape(), s);
      ASSERT_EQ(got.to_vector<float>(), decoded_then_mixed(d, table.to_vector<float>(), augment, plan))
          << "shape " << shape_str(s) << " round " << round;
    }
  }
}

TEST(AugmentMix, TheFrontEndNamesWhatIsWrong) {
  std::mt19937 rng(22);
  const data::Dataset d = random_dataset(3, 2, 4, 5, rng);
  const Tensor table = table_of(random_norm(2, rng), 2);
  std::vector<kernels::AugmentSample> augment = test::random_augment(2, 3, 4, 5, rng);
  const std::vector<kernels::MixSample> plan = copies(2);
  test::expect_error([&] { ops::augment_mix(d.images, table.slice(0, 256), augment, plan); },
                     {"augment_mix", "normalization table", "[512]"});
  test::expect_error([&] { ops::augment_mix(Tensor::zeros({3, 2, 4, 5}), table, augment, plan); },
                     {"augment_mix", "stored images"});
  test::expect_error([&] { ops::augment_mix(d.images, table, augment, copies(3)); },
                     {"augment_mix", "3 plans for a batch of 2"});
  augment[1].source = 3;
  test::expect_error([&] { ops::augment_mix(d.images, table, augment, plan); },
                     {"augment_mix", "stored image 3 of 3 out of range"});
  augment[1].source = 0;
  std::vector<kernels::MixSample> far = plan;
  far[0].partner = 2;
  test::expect_error([&] { ops::augment_mix(d.images, table, augment, far); }, {"augment_mix", "partner 2"});
  far[0] = {0, kernels::kPaste, 1.f, 0, 5, 0, 1};
  test::expect_error([&] { ops::augment_mix(d.images, table, augment, far); }, {"augment_mix", "paste box"});
}

// With deferred pixels the loader gives the same labels and, through augment_mix, the same images as
// the decoding loader, epoch after epoch, from any first batch, on every rank's shard.
TEST(DeferredLoader, GivesTheBatchesOfTheDecodingLoader) {
  std::mt19937 rng(23);
  const data::Dataset d = random_dataset(37, 3, 6, 5, rng);
  const data::Normalization norm = random_norm(3, rng);
  const Tensor table = table_of(norm, 3);
  for (int rank = 0; rank < 2; ++rank) {
    data::LoaderOptions opt{8, true, false, true, 2, 5, {rank, 2, false}};
    data::Loader decoding(d, norm, opt);
    opt.defer_pixels = true;
    data::Loader deferred(d, norm, opt);
    for (int epoch : {1, 2}) {
      const int64_t first = epoch == 2 ? 1 : 0;
      decoding.start_epoch(epoch, first);
      deferred.start_epoch(epoch, first);
      int64_t batches = 0;
      for (data::Batch want, got; decoding.next(want);) {
        ASSERT_TRUE(deferred.next(got));
        SCOPED_TRACE("rank " + std::to_string(rank) + " epoch " + std::to_string(epoch));
        EXPECT_FALSE(got.images.defined());
        EXPECT_TRUE(want.augment.empty());
        ASSERT_EQ(got.labels.to_vector<int32_t>(), want.labels.to_vector<int32_t>());
        for (size_t i = 0; i < got.augment.size(); ++i)
          EXPECT_EQ(got.augment[i].source, got.labels.to_vector<int32_t>()[i]);  // label k is image k
        const Tensor built = ops::augment_mix(d.images, table, got.augment, copies(got.labels.numel()));
        ASSERT_EQ(built.to_vector<float>(), want.images.to_vector<float>());
        ++batches;
      }
      data::Batch extra;
      EXPECT_FALSE(deferred.next(extra));
      EXPECT_EQ(batches, decoding.batches_per_epoch() - first);
    }
  }
}

TEST(MixStored, GivesWhatMixGivesForTheDecodedBatch) {
  std::mt19937 rng(24);
  const data::Dataset d = random_dataset(20, 3, 7, 6, rng);
  const data::Normalization norm = random_norm(3, rng);
  const Tensor table = table_of(norm, 3);
  for (const char* mix : {"none", "c", "hvr"}) {
    for (const char* per : {"batch", "sample"}) {
      mixup::MixerOptions o;
      o.mix = mix;
      o.per = per;
      const mixup::Mixer mixer(o);
      const std::vector<kernels::AugmentSample> augment = test::random_augment(11, d.size(), 7, 6, rng);
      std::vector<int32_t> ids;
      for (const auto& a : augment) ids.push_back(static_cast<int32_t>(a.source));
      const Tensor labels = Tensor::from_vector(ids, {11});
      const Tensor decoded = Tensor::from_vector(decoded_then_mixed(d, table.to_vector<float>(), augment, copies(11)),
                                                 {11, 3, 7, 6});
      random::Rng r1 = random::make_rng({8, 1}), r2 = random::make_rng({8, 1});
      const mixup::MixedBatch want = mixer.mix(decoded, labels, r1);
      const mixup::MixedBatch got = mixer.mix_stored(d.images, table, augment, labels, r2);
      SCOPED_TRACE(std::string("--mix ") + mix + " --mix-per " + per);
      EXPECT_EQ(got.images.to_vector<float>(), want.images.to_vector<float>());
      EXPECT_EQ(got.ya.to_vector<int32_t>(), want.ya.to_vector<int32_t>());
      EXPECT_EQ(got.yb.to_vector<int32_t>(), want.yb.to_vector<int32_t>());
      EXPECT_EQ(got.lam.to_vector<float>(), want.lam.to_vector<float>());
    }
  }
}

namespace {

// A short quicknet run on the tiny dataset: 70 training images in batches of 16, every mixing mode
// per sample, flips and translations.
class DataOnDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_ / "data");
    test::write_tiny_fashion_mnist(tmp_ / "data", 70, 30);
  }
  train::TrainConfig config(const std::string& on_device, const std::string& out) const {
    train::TrainConfig c = test::tiny_run(tmp_ / "data", tmp_ / out, 16);
    c.mixing.mix = "hvc";
    c.mixing.per = "sample";
    c.translate = 3;
    c.data_on_device = on_device;
    return c;
  }
  // The final checkpoint's bytes: weights, batch-norm statistics and metadata.
  std::string trained(const std::string& on_device) {
    train::TrainCallbacks cb;
    cb.notice = [this](const std::string& line) { notices_.push_back(line); };
    train::Trainer t(config(on_device, "run-" + on_device), cb);
    t.run();
    return test::read_file(tmp_ / ("run-" + on_device + "/checkpoint.safetensors"));
  }
  bool noticed(const std::string& phrase) const {
    for (const std::string& line : notices_)
      if (line.find(phrase) != std::string::npos) return true;
    return false;
  }
  test::TempDir tmp_;
  std::vector<std::string> notices_;
};

}  // namespace

TEST_F(DataOnDevice, ARunEndsWithTheWeightsOfARunWithALoaderThread) {
  const std::string with_loader = trained("off");
  ASSERT_FALSE(with_loader.empty());
  EXPECT_FALSE(noticed("training images kept on"));
  const std::string automatic = trained("auto");  // the CPU: a loader thread
  EXPECT_FALSE(noticed("training images kept on"));
  const std::string kept = trained("on");
  EXPECT_TRUE(noticed("training images kept on cpu as uint8 (54.9 kB)"));
  EXPECT_NE(test::read_file(tmp_ / "run-on/summary.json").find("\"data_on_device\": true"), std::string::npos);
  EXPECT_NE(test::read_file(tmp_ / "run-auto/summary.json").find("\"data_on_device\": false"), std::string::npos);
  EXPECT_TRUE(automatic == with_loader);
  EXPECT_TRUE(kept == with_loader) << "the weights differ from the run with a loader thread";
}

// Stopped after its first step and resumed, a run with the training set kept on the device ends with the
// checkpoint of an uninterrupted one: the resumed loader names the same stored images and shifts.
TEST_F(DataOnDevice, AStoppedAndResumedRunEndsWithTheWeightsOfAnUninterruptedOne) {
  const std::string whole = trained("on");
  ASSERT_FALSE(whole.empty());
  interrupt::clear();
  interrupt::request(SIGINT);
  ASSERT_NO_FATAL_FAILURE(test::expect_stopped([&] { train::Trainer(config("on", "stopped"), {}).run(); }, 130,
                                               "stopped at epoch 1 step 1"));
  interrupt::clear();
  train::TrainConfig c = config("on", "stopped");
  c.resume = tmp_ / "stopped/checkpoint.safetensors";
  train::Trainer(c, {}).run();
  EXPECT_TRUE(test::read_file(tmp_ / "stopped/checkpoint.safetensors") == whole)
      << "the resumed run's weights differ from the uninterrupted run's";
}

TEST_F(DataOnDevice, OnWithStreamedImagesIsAnErrorNamingTheFlag) {
  train::TrainConfig c = config("on", "streamed");
  c.dataset = "folder";
  c.augment = "rrc";
  test::expect_error([&] { train::Trainer t(c, {}); }, {"--data-on-device on", "--augment rrc"});
}
