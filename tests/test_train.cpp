// The training layer: the settings table (recipes, checks, config.json), the batch metrics front-end
// errors, device-resident metric rows, and Tensor::to on the same device.
#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "engine/ops.h"
#include "kernels/batch_scores.h"
#include "tests/expect_error.h"
#include "train/config.h"
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
