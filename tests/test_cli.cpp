// The `mixup` command end to end on tiny generated datasets: outputs, bad input (one line, exit 1,
// no half-written files) and resume reproducing an uninterrupted run bit for bit.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include <filesystem>

#include "engine/checkpoint.h"
#include "models/models.h"
#include "tests/fixtures.h"

using mx::test::run_mixup;
using mx::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Flags for a short quicknet run on the CPU on the tiny dataset of `tmp` (test_cuda_train.cpp runs the
// command on a GPU).
std::string tiny_run(const TempDir& tmp, const std::string& out, const std::string& extra = "") {
  return "train --data-dir " + tmp.path() + "/data --out " + out +
         " --epochs 2 --batch-size 16 --lr 0.05 --threads 1 --seed 3 --device cpu " + extra;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_ / "data");
    mx::test::write_tiny_fashion_mnist(tmp_ / "data", 70, 30);
  }
  void expect_one_line_error(const std::string& args, const std::string& phrase) {
    mx::test::expect_one_line_error(args, phrase, tmp_);
  }
  TempDir tmp_;
};

}  // namespace

TEST_F(Cli, HelpDescribesEveryTrainFlagWithDefaults) {
  mx::test::RunResult r = run_mixup("train --help", tmp_);
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--dataset", "--data-dir", "--model", "--mix", "--alpha", "--epochs", "--batch-size",
                           "--lr", "--momentum", "--wd", "--nesterov", "--seed", "--threads", "--device", "--out",
                           "--resume", "--recipe"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  EXPECT_NE(r.out.find("=quicknet"), std::string::npos) << "defaults are shown";
  EXPECT_EQ(run_mixup("--help", tmp_).status, 0);
}

TEST_F(Cli, TrainWritesEveryOutputFile) {
  const std::string out = tmp_ / "run";
  mx::test::RunResult r = run_mixup(tiny_run(tmp_, out, "--mix c"), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* f : {"config.json", "metrics.csv", "metrics.png", "checkpoint.safetensors", "best.safetensors",
                        "summary.json", "checkpoint.state.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  std::string metrics = mx::test::read_file(out + "/metrics.csv");
  EXPECT_EQ(metrics.rfind("epoch,train_loss,train_acc,train_x1x2,train_x2x1,test_loss,test_acc,lr,images_per_s,"
                          "seconds\n",
                          0),
            0u);
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3) << metrics;
  EXPECT_NE(mx::test::read_file(out + "/config.json").find("\"mix\": \"c\""), std::string::npos);
  // The program re-executed itself with a short OpenMP spin (engine/threads.h), unless the caller set one.
  const std::string want = std::getenv("GOMP_SPINCOUNT") ? std::getenv("GOMP_SPINCOUNT")
                           : std::getenv("OMP_WAIT_POLICY") ? "default" : "10000";
  EXPECT_NE(mx::test::read_file(out + "/summary.json").find("\"gomp_spincount\": \"" + want + "\""),
            std::string::npos);
  // The time inside the steps is part of the training time (bench/quick_recipe.sh reports the rest).
  const nlohmann::json summary = nlohmann::json::parse(mx::test::read_file(out + "/summary.json"));
  EXPECT_GT(summary.at("step_seconds").get<double>(), 0.0);
  EXPECT_LE(summary.at("step_seconds").get<double>(), summary.at("train_seconds").get<double>());
  EXPECT_FALSE(mx::test::has_temporary_files(out));
  EXPECT_NE(r.out.find("final test accuracy"), std::string::npos);
}

TEST_F(Cli, ResumeFromAnEpochCheckpointEndsWithIdenticalWeights) {
  const std::string full = tmp_ / "full", resumed = tmp_ / "resumed";
  ASSERT_EQ(run_mixup(tiny_run(tmp_, full, "--mix c --save-every 1"), tmp_).status, 0);
  mx::test::RunResult r =
      run_mixup(tiny_run(tmp_, resumed, "--mix c --resume " + full + "/epoch-1.safetensors"), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("resumed from"), std::string::npos);
  const std::string a = mx::test::read_file(full + "/checkpoint.safetensors");
  const std::string b = mx::test::read_file(resumed + "/checkpoint.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "resumed weights differ from the uninterrupted run";
  EXPECT_TRUE(mx::test::read_file(full + "/checkpoint.state.safetensors") ==
              mx::test::read_file(resumed + "/checkpoint.state.safetensors"));
}

TEST_F(Cli, UnknownNamesAreOneLineErrors) {
  const std::string out = tmp_ / "bad";
  expect_one_line_error(tiny_run(tmp_, out, "--model resnet9000"), "resnet9000");
  expect_one_line_error(tiny_run(tmp_, out, "--dataset mnist2"), "mnist2");
  expect_one_line_error(tiny_run(tmp_, out, "--mix zz"), "--mix");
  expect_one_line_error("train --recipe fastest", "--recipe");
  expect_one_line_error(tiny_run(tmp_, out, "--device tpu"), "--device");
}

TEST_F(Cli, NonPositiveNumbersAreOneLineErrors) {
  const std::string out = tmp_ / "bad";
  expect_one_line_error(tiny_run(tmp_, out) + " --epochs 0", "--epochs");
  expect_one_line_error(tiny_run(tmp_, out) + " --batch-size -4", "--batch-size");
  expect_one_line_error(tiny_run(tmp_, out) + " --lr 0", "--lr");
  expect_one_line_error(tiny_run(tmp_, out) + " --alpha 0", "--alpha");
  expect_one_line_error(tiny_run(tmp_, out) + " --alpha -1", "--alpha");
  EXPECT_FALSE(fs::exists(out)) << "nothing written for rejected settings";
}

// Every float flag of every command is refused when it is NaN or infinite, before anything runs.
TEST_F(Cli, NonFiniteNumbersAreOneLineErrorsNamingTheFlag) {
  const std::string out = tmp_ / "bad", data = tmp_.path() + "/data";
  expect_one_line_error(tiny_run(tmp_, out, "--lr inf"), "--lr: must be a finite number, got inf");
  expect_one_line_error(tiny_run(tmp_, out, "--momentum nan"), "--momentum: must be a finite number");
  expect_one_line_error(tiny_run(tmp_, out, "--warmup 1e999"), "--warmup: must be a finite number");
  expect_one_line_error("sweep --sweep table1 --data-dir " + data + " --wd nan --out " + out, "--wd");
  expect_one_line_error("preview --data-dir " + data + " --alpha inf --out " + out + ".png", "--alpha");
  expect_one_line_error("cyclegan --data-dir " + data + " --lambda-cycle inf --out " + out, "--lambda-cycle");
  expect_one_line_error("landscape --checkpoint " + out + ".safetensors --range inf", "--range");
  expect_one_line_error("landscape --checkpoint " + out + ".safetensors --mom nan", "--mom");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".png"));
}

// A learning rate of 1e30 makes the weights overflow within a few steps of epoch 2: the run stops with
// one line naming the step, and the checkpoint of epoch 1 is left as it was.
TEST_F(Cli, NonFiniteStepStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  const std::string out = tmp_ / "diverge";
  ASSERT_EQ(run_mixup(tiny_run(tmp_, out, "--epochs 1"), tmp_).status, 0);
  const std::string checkpoint = mx::test::read_file(out + "/checkpoint.safetensors");
  const std::string state = mx::test::read_file(out + "/checkpoint.state.safetensors");
  const std::string metrics = mx::test::read_file(out + "/metrics.csv");
  mx::test::RunResult r = run_mixup(tiny_run(tmp_, out, "--resume " + out + "/checkpoint.safetensors --lr 1e30"), tmp_);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("mixup: error: epoch 2 step ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(": non-finite "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the last good checkpoint is " + out + "/checkpoint.safetensors (the end of epoch 1)"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(mx::test::read_file(out + "/checkpoint.safetensors") == checkpoint);
  EXPECT_TRUE(mx::test::read_file(out + "/checkpoint.state.safetensors") == state);
  EXPECT_EQ(mx::test::read_file(out + "/metrics.csv"), metrics);
}

// A batch or an image size whose tensors cannot fit is refused before anything that large is allocated.
TEST_F(Cli, SizesThatCannotFitInMemoryAreOneLineErrors) {
  expect_one_line_error(tiny_run(tmp_, tmp_ / "big", "--batch-size 2000000000"),
                        "--batch-size 2000000000: a training step of 2000000000 images of 1x28x28 needs at least "
                        "50176000000000 bytes");
  const std::string folder = tmp_ / "folder";
  ASSERT_EQ(run_mixup("export --data-dir " + tmp_.path() + "/data --out " + folder, tmp_).status, 0);
  const std::string run = "train --dataset folder --data-dir " + folder + " --batch-size 16 --device cpu --out " +
                          (tmp_ / "big");
  expect_one_line_error(run + " --image-size 1000000", "--batch-size 16 with --image-size 1000000: a training step");
  expect_one_line_error(run + " --image-size 1000000 --augment rrc", "reduce --batch-size or --image-size");
  EXPECT_FALSE(fs::exists(tmp_ / "big/checkpoint.safetensors"));
}

TEST_F(Cli, MissingDataDirectorySaysHowToInstall) {
  expect_one_line_error("train --data-dir " + (tmp_ / "nowhere") + " --out " + (tmp_ / "o"),
                        "dataset-fashion-mnist");
}

TEST_F(Cli, CorruptDatasetFilesAreOneLineErrors) {
  const std::string data = tmp_ / "data";
  const std::string labels = data + "/t10k-labels-idx1-ubyte.gz";
  mx::test::write_idx_gz(labels, 2049, {30}, std::vector<uint8_t>(30, 12));  // labels 12 >= 10 classes
  expect_one_line_error(tiny_run(tmp_, tmp_ / "o"), "t10k-labels-idx1-ubyte.gz");
  std::string bytes = mx::test::read_file(data + "/train-images-idx3-ubyte.gz");
  std::ofstream(data + "/train-images-idx3-ubyte.gz", std::ios::binary).write(bytes.data(), 200);  // truncated
  expect_one_line_error(tiny_run(tmp_, tmp_ / "o"), "train-images-idx3-ubyte.gz");
}

TEST_F(Cli, UnwritableOutputDirectoryIsAnError) {
  std::ofstream(tmp_ / "file") << "x";
  expect_one_line_error(tiny_run(tmp_, tmp_ / "file/sub"), "--out");
}

TEST_F(Cli, BadCheckpointsForResumeAreOneLineErrors) {
  const std::string garbage = tmp_ / "garbage.safetensors";
  std::ofstream(garbage) << "not a safetensors file at all";
  expect_one_line_error(tiny_run(tmp_, tmp_ / "o", "--resume " + garbage), "garbage.safetensors");
  const std::string vgg = tmp_ / "vgg";
  ASSERT_EQ(run_mixup(tiny_run(tmp_, vgg, "--model vgg11 --epochs 1 --train-limit 16 --test-limit 8"), tmp_).status,
            0);
  expect_one_line_error(tiny_run(tmp_, tmp_ / "o", "--resume " + vgg + "/checkpoint.safetensors"), "checkpoint");
  expect_one_line_error(tiny_run(tmp_, tmp_ / "o", "--model vgg11 --seed 4 --resume " + vgg + "/checkpoint.safetensors"),
                        "--seed");
}

TEST_F(Cli, PreviewWritesAPngOfTheMixedBatch) {
  for (const char* flags : {"--mix hv", "--mix r", "--mix hvc --mix-per sample"}) {
    const std::string png = tmp_ / "preview.png";
    fs::remove(png);
    mx::test::RunResult r =
        run_mixup("preview --data-dir " + tmp_.path() + "/data --count 9 --columns 3 " + flags + " --out " + png, tmp_);
    ASSERT_EQ(r.status, 0) << flags << "\n" << r.err;
    const std::string bytes = mx::test::read_file(png);
    ASSERT_GT(bytes.size(), 24u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << flags;
    EXPECT_NE(r.out.find("wrote " + png), std::string::npos);
  }
  expect_one_line_error("preview --data-dir " + tmp_.path() + "/data --mix hq --out " + (tmp_ / "p.png"), "--mix");
  EXPECT_FALSE(fs::exists(tmp_ / "p.png"));
}

TEST_F(Cli, SweepWritesATableAndSkipsFinishedRuns) {
  const std::string out = tmp_ / "sweep";
  const std::string args = "sweep --sweep fig1d --data-dir " + tmp_.path() +
                           "/data --epochs 1 --batch-size 16 --threads 1 --train-limit 32 --test-limit 16 --out " + out;
  mx::test::RunResult r = run_mixup(args, tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string md = mx::test::read_file(out + "/results.md");
  EXPECT_EQ(std::count(md.begin(), md.end(), '\n'), 2 + 5 + 2) << md;  // header, 5 runs, blank + note
  EXPECT_NE(md.find("uniform:0.5:0.6"), std::string::npos);
  const std::string csv = mx::test::read_file(out + "/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  r = run_mixup(args, tmp_);  // every run finished: nothing is trained again
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("epoch 1/1"), std::string::npos) << r.out;
  EXPECT_EQ(mx::test::read_file(out + "/results.csv"), csv);
}

TEST_F(Cli, ModelsListsEveryModelWithItsSize) {
  mx::test::RunResult r = run_mixup("models --image-size 8 --threads 1", tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& name : mx::models::model_names())
    EXPECT_NE(r.out.find("\n" + name + " "), std::string::npos) << name << "\n" << r.out;
  const size_t row = r.out.find("\nresnet50 ");
  ASSERT_NE(row, std::string::npos);
  std::istringstream fields(r.out.substr(row + 1, r.out.find('\n', row + 1) - row - 1));
  std::string name, input, classes, params;
  fields >> name >> input >> classes >> params;
  EXPECT_EQ(input + " " + classes + " " + params, "3x8x8 1000 25,557,032") << r.out;
  r = run_mixup("models --model quicknet --threads 1", tmp_);  // 1x28x28, the hand count of test_zoo.cpp
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1x28x28"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("8,188,672"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
}

TEST_F(Cli, InitWritesWeightsThatLoadBackIntoTheModel) {
  const std::string out = tmp_ / "quick.safetensors";
  mx::test::RunResult r = run_mixup("init --model quicknet --classes 7 --seed 5 --out " + out, tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + out), std::string::npos) << r.out;
  EXPECT_FALSE(mx::test::has_temporary_files(tmp_.path()));
  mx::models::ModelSpec spec = mx::models::natural_spec("quicknet");
  spec.num_classes = 7;
  spec.seed = 5;
  auto fresh = mx::models::make_model("quicknet", spec);
  spec.seed = 6;
  auto loaded = mx::models::make_model("quicknet", spec);
  mx::checkpoint::load_into(out, mx::checkpoint::load(out), loaded->state_dict());
  const auto a = fresh->state_dict(), b = loaded->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].second.dtype() != mx::DType::F32) continue;
    EXPECT_EQ(a[i].second.to_vector<float>(), b[i].second.to_vector<float>()) << a[i].first;
  }
  r = run_mixup("models --model quicknet --classes 7 --check " + out, tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("loads into quicknet (26 tensors); probe logits:"), std::string::npos) << r.out;
  expect_one_line_error("models --model quicknet --check " + out, "classifier.weight");  // 10 classes expected
}

TEST_F(Cli, InitRejectsBadModelsAndOutputsInOneLine) {
  expect_one_line_error("init --model resnet9000 --out " + (tmp_ / "w.safetensors"), "resnet9000");
  expect_one_line_error("init --model quicknet --out " + (tmp_ / "missing/dir/w.safetensors"), "--out");
  expect_one_line_error("init --model quicknet --classes 0 --out " + (tmp_ / "w.safetensors"), "--classes");
  expect_one_line_error("init --out " + (tmp_ / "w.safetensors"), "--model");
  expect_one_line_error("models --check " + (tmp_ / "w.safetensors"), "--model");
  EXPECT_FALSE(fs::exists(tmp_ / "w.safetensors"));
  EXPECT_FALSE(mx::test::has_temporary_files(tmp_.path()));
}

// Fine-tuning: `init` weights for 7 classes start a 10-class run; the classifier starts afresh, with a notice.
TEST_F(Cli, TrainStartsFromInitWeights) {
  const std::string weights = tmp_ / "w7.safetensors", out = tmp_ / "finetune";
  ASSERT_EQ(run_mixup("init --model quicknet --classes 7 --in-channels 1 --out " + weights, tmp_).status, 0);
  mx::test::RunResult r = run_mixup(tiny_run(tmp_, out, "--epochs 1 --init " + weights), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE((r.out + r.err).find("written for 7 classes, this model has 10"), std::string::npos) << r.out << r.err;
  expect_one_line_error(tiny_run(tmp_, tmp_ / "both", "--init " + weights + " --resume " + weights), "--init");
  expect_one_line_error(tiny_run(tmp_, tmp_ / "none", "--init " + tmp_ / "missing.safetensors"), "--init");
}
