// SGD against a double-precision transcription of torch.optim.SGD, and the learning-rate schedules.
#include <gtest/gtest.h>

#include <random>

#include "engine/optim.h"

using namespace mx;

namespace {

// One parameter vector of n values, uniform in [-1, 1].
class Params : public nn::Module {
 public:
  Params(int n, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(rng);
    w = register_parameter("w", Tensor::from_vector(v, {n}));
  }
  Tensor forward(const Tensor& x) override { return x; }
  Tensor w;
};

// torch.optim.SGD's update for one tensor (dampening 0), in double.
struct ReferenceSgd {
  std::vector<double> w, buf;
  bool has_buf = false;
  void step(const std::vector<float>& g, const optim::SgdOptions& o, double lr) {
    if (!has_buf) buf.assign(w.size(), 0.0);
    for (size_t i = 0; i < w.size(); ++i) {
      double d = g[i] + o.weight_decay * w[i];
      if (o.momentum != 0) {
        buf[i] = has_buf ? o.momentum * buf[i] + d : d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      w[i] -= lr * d;
    }
    has_buf = true;
  }
};

void expect_matches_reference(const optim::SgdOptions& opt) {
  std::mt19937 rng(11);
  const int n = 1000;  // not a multiple of the store's alignment
  Params model(n, rng);
  ParameterStore store(model);
  optim::Sgd sgd(store, opt);
  ReferenceSgd ref;
  for (float x : model.w.to_vector<float>()) ref.w.push_back(x);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (int step = 0; step < 6; ++step) {
    float* g = model.w.grad().data<float>();
    for (int i = 0; i < n; ++i) g[i] = noise(rng);
    float lr = step < 3 ? 0.1f : 0.01f;
    ref.step(model.w.grad().to_vector<float>(), opt, lr);
    sgd.step(lr);
    std::vector<float> w = model.w.to_vector<float>();
    for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(w[i], ref.w[i], 1e-5) << "step " << step << " index " << i;
  }
  EXPECT_EQ(sgd.steps(), 6);
}

}  // namespace

TEST(Optim, SgdNesterovWithWeightDecayMatchesPyTorch) { expect_matches_reference({0.9f, 1e-4f, true}); }
TEST(Optim, SgdClassicMomentumMatchesPyTorch) { expect_matches_reference({0.9f, 5e-4f, false}); }
TEST(Optim, SgdWithoutWeightDecayMatchesPyTorch) { expect_matches_reference({0.9f, 0.f, true}); }
TEST(Optim, SgdWithoutMomentumMatchesPyTorch) { expect_matches_reference({0.f, 1e-4f, false}); }

TEST(Optim, FirstStepSetsBufferToTheGradient) {
  std::mt19937 rng(2);
  Params model(5, rng);
  ParameterStore store(model);
  const float wd = 0.01f;
  optim::Sgd sgd(store, {0.9f, wd, false});
  std::vector<float> w0 = model.w.to_vector<float>();
  float* g = model.w.grad().data<float>();
  for (int i = 0; i < 5; ++i) g[i] = static_cast<float>(i) - 2.f;
  sgd.step(0.5f);
  checkpoint::Metadata meta;
  const Tensor buffer = sgd.state(meta)[0].second;  // a view of the momentum buffer
  const float* buf = buffer.data<float>();
  std::vector<float> w1 = model.w.to_vector<float>();
  for (size_t i = 0; i < 5; ++i) {
    float d = g[i] + wd * w0[i];
    EXPECT_FLOAT_EQ(buf[i], d);
    EXPECT_FLOAT_EQ(w1[i], w0[i] - 0.5f * d);
  }
  // With a non-zero buffer the rule shows: step 0 replaces the buffer instead of decaying it.
  meta["steps"] = "0";
  sgd.load_state({{{"momentum", buffer.clone()}}, meta}, "state");
  sgd.step(0.5f);
  std::vector<float> w2 = model.w.to_vector<float>();
  for (size_t i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(buf[i], g[i] + wd * w1[i]);
  EXPECT_NE(w2, w1);
}

TEST(Optim, NesterovNeedsMomentum) {
  std::mt19937 rng(0);
  Params model(3, rng);
  ParameterStore store(model);
  EXPECT_THROW(optim::Sgd(store, {0.f, 0.f, true}), Error);
}

TEST(Optim, MultiStepScheduleDividesByGammaAtEachMilestone) {
  optim::LrSchedule s{0.1f, {100.0, 150.0}, 0.1f, 0};
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);
  EXPECT_FLOAT_EQ(s.at(99.999), 0.1f);
  EXPECT_FLOAT_EQ(s.at(100), 0.01f);
  EXPECT_FLOAT_EQ(s.at(149.5), 0.01f);
  EXPECT_FLOAT_EQ(s.at(150), 0.001f);
  EXPECT_FLOAT_EQ(s.at(199.9), 0.001f);
}

TEST(Optim, WarmupRampsLinearlyFromZero) {
  optim::LrSchedule s;
  s.base_lr = 0.4f;
  s.milestones = {10.0};
  s.warmup_epochs = 2;
  EXPECT_FLOAT_EQ(s.at(0), 0.f);
  EXPECT_FLOAT_EQ(s.at(0.5), 0.1f);
  EXPECT_FLOAT_EQ(s.at(1), 0.2f);
  EXPECT_FLOAT_EQ(s.at(2), 0.4f);
  EXPECT_FLOAT_EQ(s.at(9.99), 0.4f);
  EXPECT_FLOAT_EQ(s.at(10), 0.04f);
}
