// The training layer: the settings table (recipes, checks, config.json, learning-rate milestones),
// starting from given weights (--init), the batch metrics front-end errors, device-resident metric rows,
// and Tensor::to on the same device.
#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "kernels/batch_scores.h"
#include "models/models.h"
#include "tests/fixtures.h"
#include "tests/expect_error.h"
#include "train/config.h"
#include "train/init_weights.h"
#include "train/scores.h"

using namespace mx;

namespace {

// Runs fn, which must throw a one-line mx::Error naming `flag`.
template <typename Fn>
void expect_flag_error(Fn&& fn, const std::string& flag) {
  test::expect_error(fn, {flag + ":"});
}

train::Setting* find(std::vector<train::Setting>& rows, const std::string& flag) {
  for (auto& s : rows)
    if (flag == s.flag) return &s;
  return nullptr;
}

}  // namespace

TEST(TrainConfig, EverySettingHasOneFlagOneKeyAndHelp) {
  train::TrainConfig c = train::recipe("quick");
  std::set<std::string> flags, keys;
  for (const train::Setting& s : train::train_settings(c)) {
    EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    EXPECT_FALSE(s.help.empty()) << s.flag;
    EXPECT_EQ(std::string(s.flag).rfind("--", 0), 0u) << s.flag;
  }
  const nlohmann::json j = train::to_json(c);
  EXPECT_EQ(j.size(), keys.size());
  for (const auto& k : keys) EXPECT_TRUE(j.contains(k)) << k;
}

TEST(TrainConfig, RecipesSetTheirDefaults) {
  const train::TrainConfig q = train::recipe("quick"), p = train::recipe("paper");
  EXPECT_EQ(q.recipe, "quick");
  EXPECT_EQ(q.model, "quicknet");
  EXPECT_EQ(q.epochs, 7);
  EXPECT_EQ(q.mixing.mix, "none");
  EXPECT_EQ(q.out, "runs/quick");
  EXPECT_FLOAT_EQ(q.lr, 0.1f);
  EXPECT_FLOAT_EQ(q.wd, 1e-4f);
  EXPECT_EQ(p.model, "preact-resnet18");
  EXPECT_EQ(p.epochs, 200);
  EXPECT_EQ(p.mixing.mix, "c");
  EXPECT_EQ(p.translate, 4);
  EXPECT_EQ(p.batch_size, 128);  // as the first recipe
  EXPECT_DOUBLE_EQ(p.mixing.alpha, 1.0);  // the MixerOptions default
  EXPECT_EQ(p.out, "runs/paper");
  EXPECT_NO_THROW(train::validate(q));
  EXPECT_NO_THROW(train::validate(p));
  expect_flag_error([] { train::recipe("fastest"); }, "--recipe");
}

TEST(TrainConfig, PaperAndImageNetRecipesFollowSectionVA) {
  const train::TrainConfig d = train::recipe("paper-densenet"), x = train::recipe("paper-resnext"),
                           i = train::recipe("imagenet");
  EXPECT_EQ(d.model, "densenet-bc-190");
  EXPECT_EQ(x.model, "resnext29-8x64d");
  for (const train::TrainConfig* c : {&d, &x}) {  // the CIFAR setting of the paper recipe
    EXPECT_EQ(c->epochs, 200);
    EXPECT_EQ(c->batch_size, 128);
    EXPECT_TRUE(c->nesterov);
    EXPECT_EQ(c->lr_milestones, "0.5,0.75");
    EXPECT_DOUBLE_EQ(c->mixing.alpha, 1.0);
  }
  EXPECT_EQ(i.model, "resnet50");
  EXPECT_EQ(i.epochs, 90);
  EXPECT_EQ(i.batch_size, 256);
  EXPECT_FLOAT_EQ(i.lr, 0.1f);
  EXPECT_FLOAT_EQ(i.momentum, 0.9f);
  EXPECT_FLOAT_EQ(i.wd, 1e-4f);
  EXPECT_EQ(i.mixing.mix, "c");
  EXPECT_DOUBLE_EQ(i.mixing.alpha, 0.2);
  EXPECT_EQ(train::lr_milestone_epochs(i.lr_milestones, i.epochs), (std::vector<double>{30, 60, 80}));
  EXPECT_EQ(i.dataset, "folder");
  EXPECT_EQ(i.augment, "rrc");
  EXPECT_EQ(i.image_size, 224);
  EXPECT_EQ(i.norm, "imagenet");
  EXPECT_FALSE(i.nesterov);
  for (const std::string& name : train::recipe_names()) EXPECT_NO_THROW(train::validate(train::recipe(name))) << name;
}

TEST(TrainConfig, LrMilestonesAreFractionsOrEpochs) {
  EXPECT_EQ(train::lr_milestone_epochs("0.5,0.75", 200), (std::vector<double>{100, 150}));
  EXPECT_EQ(train::lr_milestone_epochs("30,60,80", 200), (std::vector<double>{30, 60, 80}));
  EXPECT_EQ(train::lr_milestone_epochs("0.5,150", 200), (std::vector<double>{100, 150}));
  EXPECT_TRUE(train::lr_milestone_epochs("", 10).empty());
  for (const char* bad : {"0.5,x", "60,30", "-1", "0", "1,,2", "nan"})
    expect_flag_error([bad] { train::lr_milestone_epochs(bad, 100); }, "--lr-milestones");
}

TEST(TrainConfig, ChecksNameTheFlag) {
  auto with = [](const std::string& flag, const std::string& text) {
    train::TrainConfig c = train::recipe("quick");
    std::vector<train::Setting> rows = train::train_settings(c);
    train::assign(*find(rows, flag), text);
    train::validate(c);
  };
  expect_flag_error([&] { with("--epochs", "0"); }, "--epochs");
  expect_flag_error([&] { with("--batch-size", "-3"); }, "--batch-size");
  expect_flag_error([&] { with("--lr", "0"); }, "--lr");
  expect_flag_error([&] { with("--lr", "inf"); }, "--lr");
  expect_flag_error([&] { with("--lr", "nan"); }, "--lr");
  expect_flag_error([&] { with("--momentum", "1"); }, "--momentum");
  expect_flag_error([&] { with("--model", "resnet9000"); }, "--model");
  expect_flag_error([&] { with("--dataset", "mnist"); }, "--dataset");
  expect_flag_error([&] { with("--device", "tpu"); }, "--device");
  expect_flag_error([&] { with("--out", ""); }, "--out");
  expect_flag_error([&] { with("--epochs", "7x"); }, "--epochs");
  expect_flag_error([&] { with("--seed", "-1"); }, "--seed");
  expect_flag_error([&] { with("--flip", "maybe"); }, "--flip");
  expect_flag_error([&] { with("--lr-milestones", "0.75,0.5"); }, "--lr-milestones");
  expect_flag_error([&] { with("--memory-efficient", "yes"); }, "--memory-efficient");
  EXPECT_NO_THROW(with("--wd", "0"));
  EXPECT_NO_THROW(with("--seed", "18446744073709551615"));
}

TEST(TrainConfig, AssignParsesEachType) {
  train::TrainConfig c = train::recipe("quick");
  std::vector<train::Setting> rows = train::train_settings(c);
  train::assign(*find(rows, "--lr"), "0.05");
  train::assign(*find(rows, "--nesterov"), "false");
  train::assign(*find(rows, "--warmup"), "2.5");
  train::assign(*find(rows, "--mix"), "hv");
  train::assign(*find(rows, "--test-limit"), "123");
  EXPECT_FLOAT_EQ(c.lr, 0.05f);
  EXPECT_FALSE(c.nesterov);
  EXPECT_DOUBLE_EQ(c.warmup_epochs, 2.5);
  EXPECT_EQ(c.mixing.mix, "hv");
  EXPECT_EQ(c.test_limit, 123);
  EXPECT_EQ(train::to_json(c).at("mix"), "hv");
}

// Its values against a naive count are checked by the per-op harness (tests/ops/op_cases.cpp).
TEST(BatchScores, ShapeErrorsNameTheOp) {
  Tensor row = Tensor::zeros({3}), logits = Tensor::zeros({2, 4}), y = Tensor::zeros({2}, DType::I32);
  Tensor lam = Tensor::full({2}, 1.f), loss = Tensor::zeros({1});
  EXPECT_THROW(ops::batch_scores(row, loss, logits, y, y, lam), Error);
  Tensor row4 = Tensor::zeros({4}), y3 = Tensor::zeros({3}, DType::I32);
  EXPECT_THROW(ops::batch_scores(row4, loss, logits, y3, y, lam), Error);
}

// Rows add up to sample-weighted totals when read, in any number of reads, and a non-finite loss is
// reported with its step.
TEST(RunningScores, TotalsAreSampleWeightedAndNanIsReported) {
  train::RunningScores scores(3, Device::CPU);
  auto add = [&](float loss, int64_t n) {
    Tensor y = Tensor::zeros({n}, DType::I32), lam = Tensor::full({n}, 1.f), logits = Tensor::zeros({n, 2});
    scores.add(Tensor::full({1}, loss), logits, y, y, lam);
  };
  add(2.f, 4);
  EXPECT_DOUBLE_EQ(scores.read("epoch 1").loss_sum, 8.0);
  add(1.f, 2);
  const train::ScoreTotals t = scores.read("epoch 1");
  EXPECT_DOUBLE_EQ(t.loss_sum, 10.0);
  EXPECT_DOUBLE_EQ(t.seen, 6.0);
  EXPECT_DOUBLE_EQ(t.weighted, 6.0);  // all logits tie: class 0 wins, and every label is 0
  add(std::numeric_limits<float>::quiet_NaN(), 1);
  try {
    scores.read("epoch 4");
    ADD_FAILURE() << "a NaN loss went unreported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 4 step 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(add(1.f, 1), Error);  // a fourth row in a buffer of three
}

TEST(TensorTo, SameDeviceIsTheTensorItselfAndCloneCopies) {
  Tensor a = Tensor::full({3}, 2.f);
  Tensor b = a.to(Device::CPU);
  EXPECT_EQ(a.raw(), b.raw());
  Tensor c = a.clone();
  EXPECT_NE(a.raw(), c.raw());
  EXPECT_EQ(c.to_vector<float>(), a.to_vector<float>());
}

namespace {

std::shared_ptr<nn::Module> vgg(int classes, uint64_t seed) { return models::make_model("vgg11", {3, 32, classes, seed}); }

std::vector<float> values(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.state_dict())
    if (n == name) return t.to_vector<float>();
  ADD_FAILURE() << "no " << name;
  return {};
}

}  // namespace

TEST(InitWeights, CopiesEveryTensorAndRestartsAClassifierOfAnotherClassCount) {
  test::TempDir tmp;
  const std::string path = tmp.path() + "/w.safetensors";
  const auto source = vgg(100, 1);
  checkpoint::save(path, source->state_dict());
  const auto same = vgg(100, 2), other = vgg(10, 2), fresh = vgg(10, 2);
  EXPECT_EQ(train::load_initial_weights(path, *same), "");
  EXPECT_EQ(values(*same, "classifier.weight"), values(*source, "classifier.weight"));
  const std::string notice = train::load_initial_weights(path, *other);
  EXPECT_NE(notice.find("100 classes"), std::string::npos) << notice;
  EXPECT_NE(notice.find("classifier.weight"), std::string::npos) << notice;
  EXPECT_EQ(values(*other, "features.0.weight"), values(*source, "features.0.weight"));
  EXPECT_EQ(values(*other, "features.1.running_var"), values(*source, "features.1.running_var"));
  EXPECT_EQ(values(*other, "classifier.weight"), values(*fresh, "classifier.weight"));
  EXPECT_EQ(values(*other, "classifier.bias"), values(*fresh, "classifier.bias"));
}

TEST(InitWeights, OtherMismatchesNameTheFileAndTheTensor) {
  test::TempDir tmp;
  const std::string path = tmp.path() + "/w.safetensors";
  checkpoint::save(path, models::make_model("vgg11", {1, 28, 10, 0})->state_dict());  // 1 input channel
  test::expect_error([&] { train::load_initial_weights(path, *vgg(10, 0)); }, {"--init", path, "features.0.weight"});
  checkpoint::save(path, models::make_model("quicknet", {3, 32, 10, 0})->state_dict());
  test::expect_error([&] { train::load_initial_weights(path, *vgg(10, 0)); }, {"--init", path});
  test::expect_error([&] { train::load_initial_weights(tmp.path() + "/none.safetensors", *vgg(10, 0)); },
                     {"--init", "none.safetensors"});
}
