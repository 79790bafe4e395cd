// MixCycleGAN and its CycleGAN baseline (gan/, models/cyclegan_nets.*): the networks' layouts against the
// PyTorch twins, the eq. 3 stitching, the image pool, and whole runs on tiny unaligned and aligned trees
// written here: grids, metrics, checkpoints, bit-identical resume, cyclegan-test, one-line errors.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <random>

#include "datasets/image_folder.h"
#include "engine/checkpoint.h"
#include "engine/files.h"
#include "engine/interrupt.h"
#include "gan/cyclegan.h"
#include "gan/image_pool.h"
#include "gan/stitch.h"
#include "gan/translate.h"
#include "models/cyclegan_nets.h"
#include "tests/cuda_fixtures.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/images.h"
#include "tests/layouts.h"
#include "tests/ops/op_inputs.h"

using namespace mx;
using mx::test::key_shapes;
using mx::test::reference_layout;
using mx::test::TempDir;

namespace {

namespace fs = std::filesystem;

TEST(CycleGanNets, LayoutsMatchThePyTorchTwins) {
  EXPECT_EQ(key_shapes(*models::resnet_generator({3, 3, 64, 9, 0})), reference_layout("cyclegan-resnet-9blocks"));
  EXPECT_EQ(key_shapes(*models::resnet_generator({1, 1, 32, 6, 0})),
            reference_layout("cyclegan-resnet-6blocks-ngf32-grey"));
  EXPECT_EQ(key_shapes(*models::patch_discriminator({3, 64, 3, 0})), reference_layout("cyclegan-patchgan-70"));
}

TEST(CycleGanNets, ShapesRangeAndInitialisation) {
  std::mt19937 rng(5);
  auto g = models::resnet_generator({1, 1, 8, 2, 7});
  const Tensor x = test::random_tensor({2, 1, 20, 12}, rng);
  const Tensor y = (*g)(x);
  ASSERT_EQ(y.shape(), x.shape());
  for (float v : y.to_vector<float>()) ASSERT_TRUE(v > -1.f && v < 1.f);
  auto d = models::patch_discriminator({1, 8, 3, 7});
  EXPECT_EQ((*d)(test::random_tensor({2, 1, 32, 32}, rng)).shape(), (Shape{2, 1, 2, 2}));
  // N(0, 0.02) weights, zero biases; seeds give different draws.
  const auto big = models::resnet_generator({3, 3, 64, 9, 1});
  for (const auto& [name, t] : big->named_parameters()) {
    const std::vector<float> v = t.to_vector<float>();
    if (name.find("bias") != std::string::npos) {
      for (float b : v) ASSERT_EQ(b, 0.f) << name;
      continue;
    }
    if (v.size() < 100000) continue;
    double sum = 0, sq = 0;
    for (float w : v) sum += w, sq += static_cast<double>(w) * w;
    const double mean = sum / static_cast<double>(v.size());
    EXPECT_NEAR(mean, 0, 1e-3) << name;
    EXPECT_NEAR(std::sqrt(sq / static_cast<double>(v.size()) - mean * mean), 0.02, 5e-4) << name;
  }
  EXPECT_NE(models::resnet_generator({1, 1, 8, 2, 7})->named_parameters()[0].second.to_vector<float>(),
            models::resnet_generator({1, 1, 8, 2, 8})->named_parameters()[0].second.to_vector<float>());
}

TEST(Stitch, SeamIsTheFloorOfLambdaTimesTheSide) {
  std::mt19937 rng(3);
  const Tensor a = test::random_tensor({2, 2, 7, 5}, rng), b = test::random_tensor({2, 2, 7, 5}, rng);
  const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  for (mixup::Mode mode : {mixup::Mode::H, mixup::Mode::V})
    for (double lam : {0.0, 0.2, 0.5, 0.99, 1.0}) {
      const gan::StitchDraw d{mode, lam};
      const int64_t side = mode == mixup::Mode::H ? 7 : 5;
      const int64_t seam = gan::stitch_seam(d, side);
      EXPECT_EQ(seam, static_cast<int64_t>(std::floor(lam * static_cast<double>(side))));
      const std::vector<float> out = gan::stitch(a, b, d).to_vector<float>();
      ASSERT_EQ(out.size(), va.size());
      for (size_t i = 0; i < out.size(); ++i) {
        const int64_t row = static_cast<int64_t>(i / 5) % 7, col = static_cast<int64_t>(i % 5);
        const bool own = (mode == mixup::Mode::H ? row : col) < seam;
        ASSERT_EQ(out[i], own ? va[i] : vb[i]) << "lam " << lam << " element " << i;
      }
    }
  const gan::StitchDraw clean{mixup::Mode::N, 0.3};
  EXPECT_EQ(gan::stitch(a, b, clean).to_vector<float>(), va);
}

TEST(Stitch, DrawsKeepTheCleanShareAndBalanceHAndV) {
  random::Rng rng(11);
  int clean = 0, h = 0, v = 0;
  double lam_sum = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const gan::StitchDraw d = gan::draw_stitch(0.1, 1.0, rng);
    clean += d.mode == mixup::Mode::N, h += d.mode == mixup::Mode::H, v += d.mode == mixup::Mode::V;
    ASSERT_TRUE(d.lam >= 0 && d.lam <= 1);
    lam_sum += d.lam;
  }
  EXPECT_NEAR(clean / double(kDraws), 0.1, 0.01);  // 4.7 standard deviations
  EXPECT_NEAR(h / double(h + v), 0.5, 0.015);
  EXPECT_NEAR(lam_sum / kDraws, 0.5, 0.01);
}

TEST(ImagePool, FillsThenSwapsAndRestores) {
  std::mt19937 rng(9);
  random::Rng r(1);
  gan::ImagePool pool(3);
  const Tensor first = test::random_tensor({2, 1, 2, 2}, rng);
  EXPECT_EQ(pool.query(first, r).to_vector<float>(), first.to_vector<float>());  // not full: returned as given
  EXPECT_EQ(pool.size(), 2);
  const std::vector<float> before = pool.contents().to_vector<float>();
  int returned_old = 0;
  for (int step = 0; step < 40; ++step) {
    const Tensor x = test::random_tensor({1, 1, 2, 2}, rng);
    const std::vector<float> stored = pool.size() > 0 ? pool.contents().to_vector<float>() : std::vector<float>();
    const std::vector<float> got = pool.query(x, r).to_vector<float>();
    if (got == x.to_vector<float>()) continue;
    ++returned_old;  // must be one of the stored images
    bool found = false;
    for (size_t k = 0; k + 4 <= stored.size(); k += 4) found |= std::equal(got.begin(), got.end(), stored.begin() + k);
    EXPECT_TRUE(found) << "step " << step;
  }
  EXPECT_GT(returned_old, 8);
  EXPECT_LT(returned_old, 32);
  EXPECT_EQ(pool.size(), 3);
  gan::ImagePool copy(3);
  copy.restore(pool.contents(), Device::CPU);
  EXPECT_EQ(copy.contents().to_vector<float>(), pool.contents().to_vector<float>());
  gan::ImagePool small(1);
  EXPECT_THROW(small.restore(pool.contents(), Device::CPU), Error);
  gan::ImagePool none(0);
  EXPECT_EQ(none.query(first, r).to_vector<float>(), first.to_vector<float>());
  EXPECT_EQ(none.size(), 0);
  (void)before;
}

// A grey image of 24x24 whose pattern depends on the domain and index: A has a bright square, B a bright bar.
data::Image tiny_image(char domain, int index, int width = 24) {
  data::Image img{width, 24, 1, std::vector<uint8_t>(static_cast<size_t>(width * 24), 20)};
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < width; ++x) {
      const int xx = x % 24;
      const bool on = domain == 'A' ? (y / 6 == index % 4 && xx / 6 == (index / 4) % 4) : (xx / 4 == index % 6);
      if (on) img.pixels[static_cast<size_t>(y * width + x)] = static_cast<uint8_t>(200 + index);
    }
  return img;
}

void write_unaligned_tree(const std::string& dir, int train, int test) {
  for (const char* split : {"trainA", "trainB", "testA", "testB"}) {
    fs::create_directories(dir + "/" + split);
    const char domain = split[std::strlen(split) - 1];
    const int n = split[1] == 'r' ? train : test;
    for (int i = 0; i < n + (domain == 'B'); ++i)  // B one larger: unequal domains
      data::write_png(tiny_image(domain, i), dir + "/" + split + "/" + std::to_string(i) + ".png");
  }
}

// A|B side by side in one 48x24 file: left half A, right half B.
void write_aligned_tree(const std::string& dir, int train, int test) {
  for (const char* split : {"train", "val"}) {
    fs::create_directories(dir + "/" + split);
    for (int i = 0; i < (split[0] == 't' ? train : test); ++i)
      data::write_png(mx::test::side_by_side(tiny_image('A', i), tiny_image('B', i)),
                      dir + "/" + split + "/" + std::to_string(i) + ".png");
  }
}

gan::CycleGanConfig tiny_config(const std::string& data, const std::string& out, const std::string& mode) {
  gan::CycleGanConfig c = gan::default_cyclegan_config();
  c.data_dir = data, c.out = out, c.mode = mode;
  c.load_size = 28, c.crop_size = 24, c.ngf = 4, c.ndf = 4, c.g_blocks = 1, c.d_layers = 2;
  c.epochs = 2, c.epochs_decay = 0, c.pool_size = 3, c.grid_rows = 2, c.threads = 1, c.device = "cpu";
  c.seed = 7;
  return c;
}

std::vector<float> weights(const std::string& path) {
  std::vector<float> all;
  for (const auto& [name, t] : checkpoint::load(path).tensors) {
    const std::vector<float> v = t.to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

class CycleGanRun : public ::testing::TestWithParam<std::string> {};

// Two epochs write two grids, two metrics rows and the five checkpoint files; one epoch then a resumed one
// ends with the same weights, optimizer state and pools, bit for bit.
TEST_P(CycleGanRun, TwoEpochsWriteEverythingAndResumeIsBitIdentical) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 5, 3);
  gan::CycleGanConfig c = tiny_config(tmp / "data", tmp / "full", GetParam());
  gan::CycleGan(c, {}).run();
  for (const char* f : {"samples/epoch_001.png", "samples/epoch_002.png", "metrics.csv", "config.json",
                        "summary.json", "latest.state.safetensors"})
    EXPECT_TRUE(fs::exists(tmp / ("full/" + std::string(f)))) << f;
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"}) EXPECT_TRUE(fs::exists(gan::net_path(tmp / "full", net)));
  const std::string csv = test::read_file(tmp / "full/metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  EXPECT_EQ(csv.rfind("epoch,lr,G,D_A,D_B,G_A,G_B,cycle_A,cycle_B,idt_A,idt_B,", 0), 0u) << csv;
  EXPECT_FALSE(test::has_temporary_files(tmp / "full"));

  gan::CycleGanConfig first = tiny_config(tmp / "data", tmp / "part", GetParam());
  first.epochs = 1;
  gan::CycleGan(first, {}).run();
  gan::CycleGanConfig rest = tiny_config(tmp / "data", tmp / "part", GetParam());
  rest.resume = tmp / "part";
  gan::CycleGan(rest, {}).run();
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    EXPECT_EQ(weights(gan::net_path(tmp / "full", net)), weights(gan::net_path(tmp / "part", net))) << net;
  EXPECT_EQ(weights(tmp / "full/latest.state.safetensors"), weights(tmp / "part/latest.state.safetensors"));
  const std::string resumed_csv = test::read_file(tmp / "part/metrics.csv");
  EXPECT_EQ(std::count(resumed_csv.begin(), resumed_csv.end(), '\n'), 3) << resumed_csv;
}

// A SIGTERM during the first step: the run saves the latest_* files in the middle of epoch 1 (with its
// place, loss rows and pools) and stops; resumed, it ends with the uninterrupted run's files.
TEST_P(CycleGanRun, AStopRequestSavesMidEpochAndTheResumedRunEndsBitIdentical) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 5, 3);
  gan::CycleGanConfig c = tiny_config(tmp / "data", tmp / "stopped", GetParam());
  c.batch_size = 2;  // three steps per epoch
  gan::CycleGanConfig full = c;
  full.out = tmp / "full2";
  gan::CycleGan(full, {}).run();
  interrupt::request(SIGTERM);
  test::expect_stopped([&] { gan::CycleGan(c, {}).run(); }, 143, "stopped at epoch 1 step 1");
  interrupt::clear();
  EXPECT_EQ(checkpoint::load(tmp / "stopped/latest.state.safetensors").meta.at("step"), "1");
  c.resume = tmp / "stopped";
  gan::CycleGan(c, {}).run();
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    EXPECT_EQ(weights(gan::net_path(tmp / "full2", net)), weights(gan::net_path(tmp / "stopped", net))) << net;
  EXPECT_EQ(weights(tmp / "full2/latest.state.safetensors"), weights(tmp / "stopped/latest.state.safetensors"));
  EXPECT_EQ(test::without_last_fields(test::read_file(tmp / "stopped/metrics.csv"), 2),
            test::without_last_fields(test::read_file(tmp / "full2/metrics.csv"), 2))
      << "the losses of every epoch, not the timings";
}

// Non-finite numbers in the middle of epoch 2 (a generator weight poisoned after its step 1): a stop
// request after that step saves nothing and names the weights; without one, the epoch's end names the
// first step whose losses are not finite (or, where the 2-second progress check came first, the
// weights). Either way the state of epoch 1 stays as it was, and no sample grid of epoch 2 is written.
TEST_P(CycleGanRun, NonFiniteNumbersStopTheRunBeforeAnythingIsSavedOverEpoch1) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 5, 3);
  for (const bool stop_request : {true, false}) {
    gan::CycleGanConfig c = tiny_config(tmp / "data", tmp / (stop_request ? "stopped" : "plain"), GetParam());
    c.batch_size = 2;  // three steps per epoch
    gan::GanCallbacks cb;
    std::string epoch1_state;
    cb.epoch = [&](const gan::GanEpoch&) { epoch1_state = test::read_file(c.out + "/latest.state.safetensors"); };
    cb.after_step = [&](int epoch, int64_t step, ParameterStore& g, ParameterStore&) {
      if (epoch != 2 || step != 1) return;
      g.params().slice(5, 6).fill(std::nanf(""));
      if (stop_request) interrupt::request(SIGTERM);
    };
    const std::string good = "the last good checkpoint is " + c.out + "/latest.state.safetensors (the end of epoch 1)";
    const std::string weights = "epoch 2 after step 1: the generator weights are not finite (norm nan); " + good;
    const std::string losses = "epoch 2 step 2: the losses are not finite (G nan, D_A ";
    try {
      gan::CycleGan(c, cb).run();
      ADD_FAILURE() << "a non-finite weight must stop the run";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.find(weights) != std::string::npos || (!stop_request && what.find(losses) != std::string::npos))
          << what;
      EXPECT_NE(what.find(good + "; try a lower --lr"), std::string::npos) << what;
    }
    interrupt::clear();
    ASSERT_FALSE(epoch1_state.empty());
    EXPECT_EQ(test::read_file(c.out + "/latest.state.safetensors"), epoch1_state);
    EXPECT_FALSE(fs::exists(c.out + "/samples/epoch_002.png"));
  }
}

// A process killed at I/O steps all through the saves of epoch 2 (grid, metrics, state file, the four
// networks) leaves a run that resumes, from epoch 1 or epoch 2.
TEST_P(CycleGanRun, KilledDuringTheSavesOfAnEpochLeavesARunThatResumes) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 5, 3);
  gan::CycleGanConfig c = tiny_config(tmp / "data", tmp / "run", GetParam());
  c.epochs = 1;
  gan::CycleGan(c, {}).run();
  fs::copy(tmp / "run", tmp / "epoch1", fs::copy_options::recursive);
  c.epochs = 2;
  c.resume = tmp / "run";
  int killed = 0;
  for (int64_t at = 1;; at += 3) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      files::set_fault_plan({files::FaultPlan::Kind::Kill, at});
      try {
        gan::CycleGan(c, {}).run();
      } catch (...) {
        _exit(3);
      }
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0);
      break;
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ++killed;
    const std::string epoch = checkpoint::load(tmp / "run/latest.state.safetensors").meta.at("epoch");
    EXPECT_TRUE(epoch == "1" || epoch == "2") << at;
    EXPECT_NO_THROW(gan::CycleGan(c, {})) << "killed at I/O step " << at;
    fs::remove_all(tmp / "run");
    fs::copy(tmp / "epoch1", tmp / "run", fs::copy_options::recursive);
  }
  EXPECT_GT(killed, 10);
}

INSTANTIATE_TEST_SUITE_P(Modes, CycleGanRun, ::testing::Values("plain", "mix"));

// The whole MixCycleGAN step on the GPU: each d-mix form trains one epoch with the losses of the CPU run
// (cuDNN's convolutions sum in another order, so a few steps drift by float rounding), and a resumed
// GPU run ends bit-identical to the uninterrupted one.
class CudaCycleGan : public test::CudaTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(CudaCycleGan, MatchesTheCpuRunAndResumesBitForBit) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 4, 2);
  auto losses = [&](const std::string& device, const std::string& out, int epochs) {
    gan::CycleGanConfig c = tiny_config(tmp / "data", out, "mix");
    c.d_mix = GetParam(), c.device = device, c.epochs = epochs;
    std::vector<double> l;
    gan::GanCallbacks cb;
    cb.epoch = [&](const gan::GanEpoch& e) { l.assign(e.loss.begin(), e.loss.end()); };
    gan::CycleGan(c, cb).run();
    return l;
  };
  const std::vector<double> cpu = losses("cpu", tmp / "cpu", 1), gpu = losses("cuda", tmp / "gpu", 1);
  ASSERT_EQ(cpu.size(), gpu.size());
  for (size_t k = 0; k < cpu.size(); ++k) EXPECT_NEAR(gpu[k], cpu[k], 1e-3 * std::fabs(cpu[k]) + 1e-6) << "loss " << k;

  losses("cuda", tmp / "full", 2);
  gan::CycleGanConfig rest = tiny_config(tmp / "data", tmp / "gpu", "mix");
  rest.d_mix = GetParam(), rest.device = "cuda", rest.resume = tmp / "gpu";
  gan::CycleGan(rest, {}).run();
  for (const char* net : {"G_A", "G_B", "D_A", "D_B"})
    EXPECT_EQ(weights(gan::net_path(tmp / "full", net)), weights(gan::net_path(tmp / "gpu", net))) << net;
}

INSTANTIATE_TEST_SUITE_P(DMix, CudaCycleGan, ::testing::Values("paper", "real-fake"));

TEST(CycleGan, RealFakeDiscriminatorMixAndBceLossTrain) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 3, 2);
  gan::CycleGanConfig c = tiny_config(tmp / "data", tmp / "run", "mix");
  c.d_mix = "real-fake", c.gan_loss = "bce", c.epochs = 1, c.batch_size = 2, c.clean_share = 0.5;
  std::vector<gan::GanEpoch> epochs;
  gan::GanCallbacks cb;
  cb.epoch = [&](const gan::GanEpoch& e) { epochs.push_back(e); };
  gan::CycleGan(c, cb).run();
  ASSERT_EQ(epochs.size(), 1u);
  const auto& l = epochs[0].loss;
  EXPECT_NEAR(l[gan::kLossG], l[gan::kLossG_A] + l[gan::kLossG_B] + l[gan::kCycleA] + l[gan::kCycleB] +
                                  l[gan::kIdtA] + l[gan::kIdtB], 1e-4 * std::fabs(l[gan::kLossG]));
  for (double v : l) EXPECT_TRUE(std::isfinite(v) && v > 0);
}

TEST(CycleGan, AlignedTreeIsDetectedAndTestTranslatesIt) {
  TempDir tmp;
  write_aligned_tree(tmp / "maps", 4, 3);
  EXPECT_TRUE(data::scan_translation_folder(tmp / "maps", "train", data::TranslationOptions{}).aligned);
  gan::CycleGanConfig c = tiny_config(tmp / "maps", tmp / "run", "mix");
  c.epochs = 1;
  gan::CycleGan(c, {}).run();
  gan::CycleGanTestConfig t;
  t.checkpoint = tmp / "run";
  t.device = "cpu";
  const gan::CycleGanTestResult r = gan::run_cyclegan_test(t, {});
  EXPECT_EQ(r.a_images, 3);
  EXPECT_EQ(r.b_images, 3);
  EXPECT_GT(r.cycle_l1_a, 0);
  EXPECT_LT(r.cycle_l1_a, 1);
  for (const char* f : {"real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"})
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp / ("run/test/" + std::string(f))), fs::directory_iterator{}), 3)
        << f;
  EXPECT_TRUE(fs::exists(tmp / "run/test/grid.png"));
  EXPECT_TRUE(fs::exists(tmp / "run/test/summary.json"));
}

TEST(CycleGanCli, TrainsTestsAndGivesOneLineErrors) {
  TempDir tmp;
  write_unaligned_tree(tmp / "data", 2, 2);
  const std::string common = " --load-size 28 --crop-size 24 --ngf 4 --ndf 4 --g-blocks 1 --d-layers 2 --threads 1 "
                             "--device cpu --epochs 1 --epochs-decay 0 --data-dir " + tmp / "data";
  test::RunResult r = test::run_mixup("cyclegan --mode mix --out " + tmp / "run" + common, tmp);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote"), std::string::npos) << r.out;
  r = test::run_mixup("cyclegan-test --device cpu --checkpoint " + tmp / "run", tmp);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("translated 2 A and 3 B test images"), std::string::npos) << r.out;
  test::expect_one_line_error("cyclegan --out " + tmp / "x" + common + " --crop-size 32", "--load-size 28 is smaller", tmp);
  test::expect_one_line_error("cyclegan --out " + tmp / "x" + common + " --mode blend", "--mode", tmp);
  test::expect_one_line_error("cyclegan --out " + tmp / "x" + common + " --alpha 1e-300", "--alpha: 1e-300 is outside", tmp);
  test::expect_one_line_error("cyclegan --out " + tmp / "x" + common + " --data-dir " + tmp / "none", "none", tmp);
  test::expect_one_line_error("cyclegan --out " + tmp / "y" + common + " --mode plain --resume " + tmp / "run",
                              "--mode mix", tmp);
  test::expect_one_line_error("cyclegan-test --checkpoint " + tmp / "data", "no config.json", tmp);
  test::expect_one_line_error("cyclegan --out " + tmp / "x" + common + " --lr nan", "--lr", tmp);
}

}  // namespace
