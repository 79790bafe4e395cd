// The ImageNet and large CIFAR models: parameter counts, state_dict names and shapes against the layouts
// tests/data/make_state_dicts.py wrote from torchvision and the reference CIFAR code, initialisation
// (determinism, Kaiming fan-out statistics, zero_init_residual), forward and backward passes, and the
// multiply-add counter. The full-size models are built once and only run on small inputs; forward and
// backward passes with gradient checks use reduced configurations of the same builders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>

#include "engine/autograd.h"
#include "models/builders.h"
#include "models/models.h"
#include "tests/layouts.h"
#include "tests/ops/op_inputs.h"
#include "models/summary.h"

using namespace mx;
using mx::test::key_shapes;
using mx::test::KeyShapes;
using mx::test::random_images;
using mx::test::reference_layout;

namespace {


const std::vector<std::string> kZoo = {"resnet50",  "resnet101",       "resnext101-64x4d", "resnext29-8x64d",
                                       "wrn-28-10", "densenet-bc-100", "densenet-bc-190"};

// Each full-size model of kZoo at its natural spec (seed 0), built once for the whole file; without its
// weight initialisation (ModelSpec::initialise) unless `initialised`, which costs seconds for them all.
nn::Module& zoo_model(const std::string& name, bool initialised = false) {
  static std::map<std::pair<std::string, bool>, std::shared_ptr<nn::Module>> built;
  auto& m = built[{name, initialised}];
  if (!m) {
    models::ModelSpec spec = models::natural_spec(name);
    spec.initialise = initialised;
    m = models::make_model(name, spec);
  }
  return *m;
}

Tensor state(const nn::Module& m, const std::string& key) {
  for (const auto& [name, t] : m.state_dict())
    if (name == key) return t;
  ADD_FAILURE() << "no " << key;
  return Tensor();
}

// Small versions of the three families, with more than one block per stage where it costs little, so
// that every kind of block (with and without a projection shortcut, grouped or not) appears.
struct Reduced {
  std::string family;
  std::function<std::shared_ptr<nn::Module>(const models::ModelSpec&)> build;
  int image_size;
  std::regex last_bn;  // the batch-norm weight that zero_init_residual zeroes in each block
  int blocks;
};

std::vector<Reduced> reduced_models() {
  return {
      {"resnet", [](const models::ModelSpec& s) { return models::resnet({{2, 1, 1, 1}, 4, 8}, s); }, 64,
       std::regex(R"(layer\d\.\d+\.bn3\.weight)"), 5},
      {"resnext-cifar", [](const models::ModelSpec& s) { return models::resnext_cifar({20, 2, 4, 1}, s); }, 16,
       std::regex(R"(stage_\d\.stage_\d_bottleneck_\d+\.bn_expand\.weight)"), 6},
      {"wide-resnet", [](const models::ModelSpec& s) { return models::wide_resnet({16, 1}, s); }, 16,
       std::regex(R"(block\d\.layer\.\d+\.bn2\.weight)"), 6},
  };
}

models::ModelSpec small_spec(uint64_t seed, bool zero_init_residual = false) {
  models::ModelSpec spec;
  spec.num_classes = 5;
  spec.seed = seed;
  spec.zero_init_residual = zero_init_residual;
  return spec;
}

}  // namespace

TEST(Zoo, ParameterCountsArePublished) {
  const std::map<std::string, int64_t> published = {{"resnet50", 25557032},
                                                    {"resnet101", 44549160},
                                                    {"resnext101-64x4d", 83455272},
                                                    {"resnext29-8x64d", 34426698},
                                                    {"wrn-28-10", 36479194},
                                                    {"densenet-bc-100", 769162},     // 0.8 M (Huang et al.)
                                                    {"densenet-bc-190", 25624430}};  // 25.6 M
  for (const std::string& name : kZoo) EXPECT_EQ(models::parameter_count(zoo_model(name)), published.at(name)) << name;
}

TEST(Zoo, StateDictsMatchThePyTorchLayouts) {
  for (const std::string& name : kZoo) {
    const KeyShapes want = reference_layout(name);
    ASSERT_GT(want.size(), 100u) << name;
    EXPECT_EQ(key_shapes(zoo_model(name)), want) << name;
    for (const auto& [key, t] : zoo_model(name).state_dict())
      EXPECT_EQ(t.dtype(), key.find("num_batches_tracked") != std::string::npos ? DType::I64 : DType::F32) << key;
  }
}

TEST(Zoo, NaturalSpecs) {
  for (const char* name : {"resnet50", "resnet101", "resnext101-64x4d"}) {
    const models::ModelSpec s = models::natural_spec(name);
    EXPECT_EQ(std::make_tuple(s.in_channels, s.image_size, s.num_classes), std::make_tuple(3, 224, 1000)) << name;
  }
  for (const char* name : {"resnext29-8x64d", "wrn-28-10", "preact-resnet18"}) {
    const models::ModelSpec s = models::natural_spec(name);
    EXPECT_EQ(std::make_tuple(s.in_channels, s.image_size, s.num_classes), std::make_tuple(3, 32, 10)) << name;
  }
  EXPECT_EQ(models::natural_spec("quicknet").image_size, 28);
  EXPECT_THROW(models::natural_spec("resnet9000"), Error);
}

TEST(Zoo, StemHonoursInputChannelsAndClasses) {
  for (const Reduced& r : reduced_models()) {
    models::ModelSpec spec = small_spec(1);
    spec.in_channels = 2;
    const KeyShapes ks = key_shapes(*r.build(spec));
    EXPECT_EQ(ks.front().second[1], 2) << r.family;
    EXPECT_EQ(ks[ks.size() - 2].second[0], 5) << r.family;
  }
  EXPECT_EQ(state(zoo_model("resnet50"), "conv1.weight").shape(), (Shape{64, 3, 7, 7}));
}

TEST(Zoo, InitIsDeterministicPerSeed) {
  for (const Reduced& r : reduced_models()) {
    auto a = r.build(small_spec(4)), b = r.build(small_spec(4)), c = r.build(small_spec(5));
    const auto sa = a->state_dict(), sb = b->state_dict(), sc = c->state_dict();
    bool differs = false;
    for (size_t i = 0; i < sa.size(); ++i) {
      if (sa[i].second.dtype() != DType::F32) continue;
      EXPECT_EQ(sa[i].second.to_vector<float>(), sb[i].second.to_vector<float>()) << r.family << " " << sa[i].first;
      differs = differs || sa[i].second.to_vector<float>() != sc[i].second.to_vector<float>();
    }
    EXPECT_TRUE(differs) << r.family;
  }
}

// kaiming_normal_(mode="fan_out"): std sqrt(2 / (out_channels * kh * kw)), also for grouped convolutions.
TEST(Zoo, ConvolutionWeightsHaveKaimingFanOutStatistics) {
  const auto grouped = reduced_models()[0].build(small_spec(1));  // groups 4
  for (const auto& [m, key] : std::vector<std::pair<const nn::Module*, std::string>>{
           {&zoo_model("resnet50", true), "layer4.0.conv2.weight"}, {grouped.get(), "layer4.0.conv2.weight"}}) {
    const Tensor w = state(*m, key);
    const double fan_out = static_cast<double>(w.size(0) * w.size(2) * w.size(3));
    double sum = 0, sum_sq = 0;
    for (float v : w.to_vector<float>()) sum += v, sum_sq += static_cast<double>(v) * v;
    const double n = static_cast<double>(w.numel()), mean = sum / n;
    const double std_dev = std::sqrt(sum_sq / n - mean * mean), want = std::sqrt(2.0 / fan_out);
    EXPECT_GT(n, 1e5) << key;
    // The relative sampling error of the std is about 1 / sqrt(2 n): under 0.2 % here.
    EXPECT_NEAR(std_dev / want, 1.0, 0.01) << key << " " << shape_str(w.shape());
    EXPECT_NEAR(mean / want, 0.0, 0.01) << key << " " << shape_str(w.shape());
  }
}

// Batch norms: weight 1, bias 0, in every initialised model (the full ResNet-50 and the reduced families).
void expect_fresh_batch_norms(const nn::Module& m, const std::string& label) {
  int norms = 0;
  for (const auto& [key, t] : m.state_dict()) {
    const std::string suffix = ".running_mean";
    if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string bn = key.substr(0, key.size() - suffix.size());
    const std::vector<float> w = state(m, bn + ".weight").to_vector<float>();
    const std::vector<float> b = state(m, bn + ".bias").to_vector<float>();
    EXPECT_TRUE(std::all_of(w.begin(), w.end(), [](float v) { return v == 1.f; })) << label << " " << bn;
    EXPECT_TRUE(std::all_of(b.begin(), b.end(), [](float v) { return v == 0.f; })) << label << " " << bn;
    ++norms;
  }
  EXPECT_GT(norms, 10) << label;
}

TEST(Zoo, BatchNormsStartAtWeightOneAndBiasZero) {
  expect_fresh_batch_norms(zoo_model("resnet50", true), "resnet50");
  for (const Reduced& r : reduced_models()) expect_fresh_batch_norms(*r.build(small_spec(1)), r.family);
}

TEST(Zoo, WithoutInitialisationConvolutionWeightsStayZero) {
  for (const Reduced& r : reduced_models()) {
    models::ModelSpec spec = small_spec(1);
    spec.initialise = false;
    auto bare = r.build(spec), full = r.build(small_spec(1));
    EXPECT_EQ(key_shapes(*bare), key_shapes(*full)) << r.family;
    for (const auto& [key, t] : bare->state_dict()) {
      if (t.shape().size() != 4) continue;
      const std::vector<float> v = t.to_vector<float>();
      EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.f; })) << r.family << " " << key;
    }
  }
}

TEST(Zoo, ZeroInitResidualZeroesExactlyTheLastBatchNormOfEveryBlock) {
  for (const Reduced& r : reduced_models()) {
    for (bool zero : {false, true}) {
      auto m = r.build(small_spec(2, zero));
      int zeroed = 0;
      for (const auto& [key, t] : m->state_dict()) {
        // 1-D weights are those of batch norms (convolution and linear weights have more dimensions).
        if (t.shape().size() != 1 || key.size() < 7 || key.substr(key.size() - 7) != ".weight") continue;
        const std::vector<float> v = t.to_vector<float>();
        const bool last = std::regex_match(key, r.last_bn);
        const float want = zero && last ? 0.f : 1.f;
        EXPECT_TRUE(std::all_of(v.begin(), v.end(), [want](float x) { return x == want; })) << r.family << " " << key;
        zeroed += zero && last;
      }
      EXPECT_EQ(zeroed, zero ? r.blocks : 0) << r.family;
    }
  }
}

TEST(Zoo, FullSizeModelsGiveOneRowOfLogitsPerImage) {
  NoGradGuard no_grad;
  for (const std::string& name : kZoo) {
    nn::Module& m = zoo_model(name);
    m.eval();
    const int classes = models::natural_spec(name).num_classes;
    EXPECT_EQ(m(random_images(2, 3, 8, 1)).shape(), (Shape{2, classes})) << name;
  }
}

TEST(Zoo, ForwardAndBackwardGiveFiniteGradientsForEveryParameter) {
  for (const Reduced& r : reduced_models()) {
    auto m = r.build(small_spec(3));
    Tensor logits = (*m)(random_images(2, 3, r.image_size, 7));
    ASSERT_EQ(logits.shape(), (Shape{2, 5})) << r.family;
    Tensor ya = Tensor::from_vector(std::vector<int32_t>{1, 4}, {2});
    Tensor yb = Tensor::from_vector(std::vector<int32_t>{0, 2}, {2});
    Tensor lam = Tensor::from_vector(std::vector<float>{0.7f, 0.2f}, {2});
    ops::mixed_cross_entropy(logits, ya, yb, lam).backward();
    for (const auto& [key, p] : m->named_parameters()) {
      ASSERT_TRUE(p.grad().defined()) << r.family << " " << key;
      double total = 0;
      for (float g : p.grad().to_vector<float>()) {
        ASSERT_TRUE(std::isfinite(g)) << r.family << " " << key;
        total += std::fabs(g);
      }
      EXPECT_GT(total, 0.0) << r.family << " " << key;
    }
  }
}

// quicknet at 1x28x28: convolutions 1->16 at 28x28, 16->64 at 14x14, 64->128 at 7x7, 128->256 at 3x3
// (3x3 kernels), then linear 256->10.
TEST(Zoo, MacCounterCountsConvolutionsAndLinearLayers) {
  const int64_t want = 28 * 28 * 16 * 1 * 9 + 14 * 14 * 64 * 16 * 9 + 7 * 7 * 128 * 64 * 9 + 3 * 3 * 256 * 128 * 9 +
                       256 * 10;
  EXPECT_EQ(want, 8188672);
  auto quick = models::make_model("quicknet", models::natural_spec("quicknet"));
  EXPECT_EQ(models::multiply_adds(*quick, models::natural_spec("quicknet")), want);

  std::mt19937 rng(1);
  nn::Conv2d conv(8, 6, 3, {2, 1, 2}, true, rng);  // groups 2: each output sees 4 channels; 5x5 -> 3x3
  nn::Linear fc(7, 5, true, rng);
  ops::MacCounter outer;
  {
    ops::MacCounter inner;
    conv(random_images(2, 8, 5, 1));
    EXPECT_EQ(inner.count(), 2 * 6 * 3 * 3 * 4 * 9);
  }
  fc(Tensor::zeros({3, 7}));
  EXPECT_EQ(outer.count(), 2 * 6 * 3 * 3 * 4 * 9 + 3 * 7 * 5);
}
