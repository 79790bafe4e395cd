// SGD and Adam against double-precision transcriptions of torch.optim.SGD and torch.optim.Adam, Adam's
// checkpoint state, and the learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/optim.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "train/run_dir.h"

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

namespace {

// torch.optim.Adam's update for one tensor (amsgrad off), in double.
struct ReferenceAdam {
  std::vector<double> w, m, v;
  int t = 0;
  void step(const std::vector<float>& g, const optim::AdamOptions& o, double lr) {
    if (t++ == 0) m.assign(w.size(), 0.0), v.assign(w.size(), 0.0);
    const double b1 = o.beta1, b2 = o.beta2, bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    for (size_t i = 0; i < w.size(); ++i) {
      const double d = g[i] + o.weight_decay * w[i];
      m[i] = b1 * m[i] + (1 - b1) * d;
      v[i] = b2 * v[i] + (1 - b2) * d * d;
      w[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + o.eps);
    }
  }
};

// Gradients of a different scale each step (1e-3 .. 10), so that m and v see growing and shrinking steps.
void set_gradient(Params& model, int step, std::mt19937& rng) {
  std::normal_distribution<float> noise(0.f, std::pow(10.f, static_cast<float>(step % 5) - 3.f));
  float* g = model.w.grad().data<float>();
  for (int64_t i = 0; i < model.w.numel(); ++i) g[i] = noise(rng);
}

float lr_at(int step) { return step < 4 ? 1e-2f : 1e-3f; }

void expect_adam_matches_reference(int n, const optim::AdamOptions& opt) {
  SCOPED_TRACE("n " + std::to_string(n) + " betas " + std::to_string(opt.beta1) + ", " + std::to_string(opt.beta2) +
               " wd " + std::to_string(opt.weight_decay));
  std::mt19937 rng(static_cast<uint32_t>(n) * 31u + 5u);
  Params model(n, rng);
  ParameterStore store(model);
  optim::Adam adam(store, opt);
  ReferenceAdam ref;
  for (float x : model.w.to_vector<float>()) ref.w.push_back(x);
  for (int step = 0; step < 8; ++step) {
    set_gradient(model, step, rng);
    ref.step(model.w.grad().to_vector<float>(), opt, lr_at(step));
    adam.step(lr_at(step));
    std::vector<float> w = model.w.to_vector<float>();
    // weights near 1: a few float32 ulps over the eight steps
    for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(w[i], ref.w[i], 1e-6) << "step " << step << " index " << i;
  }
  EXPECT_EQ(adam.steps(), 8);
}

}  // namespace

TEST(Optim, AdamMatchesPyTorch) {
  for (int n : {1, 7, 1000}) {
    expect_adam_matches_reference(n, {});
    expect_adam_matches_reference(n, {0.9f, 0.999f, 1e-8f, 1e-2f});
    expect_adam_matches_reference(n, {0.5f, 0.999f, 1e-8f, 0.f});
    expect_adam_matches_reference(n, {0.5f, 0.999f, 1e-8f, 1e-2f});
  }
}

// At t = 1 the bias corrections cancel: m / (1 - beta1) = g and sqrt(v / (1 - beta2)) = |g|, so each
// weight moves by lr * sign(g) up to eps / |g| and float rounding.
TEST(Optim, AdamFirstStepMovesEachWeightByTheLearningRate) {
  std::mt19937 rng(3);
  for (int n : {1, 7, 1000}) {
    for (optim::AdamOptions opt : {optim::AdamOptions{}, optim::AdamOptions{0.5f, 0.999f, 1e-8f, 0.f}}) {
      Params model(n, rng);
      ParameterStore store(model);
      optim::Adam adam(store, opt);
      const std::vector<float> w0 = model.w.to_vector<float>();
      std::uniform_real_distribution<float> magnitude(1e-2f, 10.f);
      float* g = model.w.grad().data<float>();
      for (int i = 0; i < n; ++i) g[i] = rng() % 2 ? magnitude(rng) : -magnitude(rng);
      const float lr = 0.1f;
      adam.step(lr);
      const std::vector<float> w1 = model.w.to_vector<float>();
      for (int i = 0; i < n; ++i)
        ASSERT_NEAR(w1[i] - w0[i], g[i] > 0 ? -lr : lr, 1e-6) << "n " << n << " index " << i << " gradient " << g[i];
    }
  }
}

TEST(Optim, AdamRejectsBadOptions) {
  std::mt19937 rng(0);
  Params model(3, rng);
  ParameterStore store(model);
  test::expect_error([&] { optim::Adam(store, {1.f, 0.999f, 1e-8f, 0.f}); }, {"Adam", "betas"});
  test::expect_error([&] { optim::Adam(store, {0.9f, -0.1f, 1e-8f, 0.f}); }, {"Adam", "betas"});
  test::expect_error([&] { optim::Adam(store, {0.9f, 0.999f, 0.f, 0.f}); }, {"Adam", "eps"});
  test::expect_error([&] { optim::Adam(store, {0.9f, 0.999f, 1e-8f, -1e-4f}); }, {"Adam", "weight decay"});
}

// Three steps, a checkpoint through the run directory, a fresh model and Adam resumed from it: the next
// five steps equal an uninterrupted run's bit for bit, moments included.
TEST(Optim, AdamResumesBitIdenticallyFromACheckpoint) {
  const int n = 1000, k = 3, total = 8;
  const optim::AdamOptions opt{0.5f, 0.999f, 1e-8f, 1e-2f};
  std::mt19937 init(21), grads_a(8), grads_b(8);
  Params model_a(n, init);
  std::mt19937 init_b(21);
  Params model_b(n, init_b);
  ParameterStore store_a(model_a), store_b(model_b);
  optim::Adam adam_a(store_a, opt), adam_b(store_b, opt);
  for (int step = 0; step < k; ++step) {
    set_gradient(model_b, step, grads_b);
    adam_b.step(lr_at(step));
  }
  test::TempDir tmp;
  train::RunDir run(tmp.path(), false);
  run.save_checkpoint("ckpt", model_b, adam_b, {}, {{"epoch", "1"}});

  std::mt19937 other(99);
  Params model_c(n, other);
  ParameterStore store_c(model_c);
  optim::Adam adam_c(store_c, opt);
  const checkpoint::Metadata meta = train::load_checkpoint(run.path("ckpt.safetensors"), model_c, adam_c);
  EXPECT_EQ(meta.at("epoch"), "1");
  EXPECT_EQ(adam_c.steps(), k);
  for (int step = 0; step < total; ++step) {
    set_gradient(model_a, step, grads_a);
    adam_a.step(lr_at(step));
    if (step < k) continue;
    set_gradient(model_c, step, grads_b);
    adam_c.step(lr_at(step));
  }
  EXPECT_EQ(adam_c.steps(), total);
  EXPECT_EQ(model_c.w.to_vector<float>(), model_a.w.to_vector<float>());
  checkpoint::Metadata meta_a, meta_c;
  const nn::NamedTensors state_a = adam_a.state(meta_a), state_c = adam_c.state(meta_c);
  ASSERT_EQ(state_a.size(), 2u);
  EXPECT_EQ(state_a[0].first, "exp_avg");
  EXPECT_EQ(state_a[1].first, "exp_avg_sq");
  for (size_t i = 0; i < state_a.size(); ++i)
    EXPECT_EQ(state_c[i].second.to_vector<float>(), state_a[i].second.to_vector<float>()) << state_a[i].first;
  EXPECT_EQ(meta_c, meta_a);
}

TEST(Optim, AdamStateOfAnotherModelIsAOneLineErrorNamingTheFile) {
  std::mt19937 rng(4);
  Params small(7, rng), large(1000, rng);
  ParameterStore small_store(small), large_store(large);
  optim::Adam small_adam(small_store, {}), large_adam(large_store, {});
  small.w.grad().fill(0.5f);
  small_adam.step(1e-3f);
  test::TempDir tmp;
  const std::string file = tmp / "small.state.safetensors";
  checkpoint::Metadata meta;
  checkpoint::save(file, small_adam.state(meta), meta);
  const checkpoint::File f = checkpoint::load(file);
  test::expect_error([&] { large_adam.load_state(f, file); }, {file, "exp_avg", "shape"});
  EXPECT_EQ(large_adam.steps(), 0);  // nothing restored

  // An SGD state file and one without a step count are refused too.
  optim::Sgd sgd(large_store, {});
  checkpoint::Metadata sgd_meta;
  const std::string sgd_file = tmp / "sgd.state.safetensors";
  checkpoint::save(sgd_file, sgd.state(sgd_meta), sgd_meta);
  test::expect_error([&] { large_adam.load_state(checkpoint::load(sgd_file), sgd_file); }, {sgd_file, "exp_avg"});
  checkpoint::File no_steps = checkpoint::load(file);
  no_steps.meta.erase("steps");
  test::expect_error([&] { small_adam.load_state(no_steps, file); }, {file, "steps"});
}

namespace {

// The schedule's formula, written out: lr = base * (1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1)).
double linear_decay(const optim::LinearDecaySchedule& s, int epoch) {
  return s.base_lr * (1.0 - std::max(0, epoch + 1 - s.epochs) / static_cast<double>(s.epochs_decay + 1));
}

}  // namespace

TEST(Optim, LinearDecayScheduleHoldsThenFallsLinearly) {
  for (optim::LinearDecaySchedule s : {optim::LinearDecaySchedule{}, optim::LinearDecaySchedule{0.1f, 3, 5},
                                       optim::LinearDecaySchedule{1e-3f, 0, 4}, optim::LinearDecaySchedule{2e-4f, 7, 1}}) {
    SCOPED_TRACE("epochs " + std::to_string(s.epochs) + " + " + std::to_string(s.epochs_decay));
    const int last = s.epochs + s.epochs_decay - 1;
    if (s.epochs > 0) {
      EXPECT_FLOAT_EQ(s.at(0), s.base_lr);
      EXPECT_FLOAT_EQ(s.at(s.epochs - 1), s.base_lr);
    }
    EXPECT_FLOAT_EQ(s.at(s.epochs), static_cast<float>(s.base_lr * s.epochs_decay / (s.epochs_decay + 1.0)));
    EXPECT_FLOAT_EQ(s.at(last), static_cast<float>(s.base_lr / (s.epochs_decay + 1.0)));
    for (int e = 0; e <= last; ++e) {
      EXPECT_FLOAT_EQ(s.at(e), static_cast<float>(linear_decay(s, e))) << "epoch " << e;
      if (e > 0 && e >= s.epochs) {
        EXPECT_LT(s.at(e), s.at(e - 1)) << "epoch " << e;
      }
    }
    test::expect_error([&] { s.at(-1); }, {"LinearDecaySchedule", "epoch -1"});
    test::expect_error([&] { s.at(last + 1); }, {"LinearDecaySchedule", "epoch " + std::to_string(last + 1)});
  }
}
