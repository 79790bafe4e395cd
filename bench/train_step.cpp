// Training-step benchmark: images/s of forward + mixed-label loss + backward + SGD step for a model
// on random inputs, median over timed steps after warm-up. Validates the loss is finite first.
// Usage: bench_train_step [--model quicknet] [--batch 128] [--channels 1] [--size 28] [--steps 10]
//                         [--warmup 2] [--threads 0]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "engine/threads.h"
#include "models/models.h"

namespace {

struct Options {
  std::string model = "quicknet";
  int batch = 128, channels = 1, size = 28, classes = 10, steps = 10, warmup = 2, threads = 0;
};

double step_seconds(mx::nn::Module& model, mx::ParameterStore& store, mx::optim::Sgd& opt, const mx::Tensor& x,
                    const mx::Tensor& y, const mx::Tensor& lam) {
  const auto t0 = std::chrono::steady_clock::now();
  store.zero_grad();
  mx::Tensor loss = mx::ops::mixed_cross_entropy(model(x), y, y, lam);
  loss.backward();
  opt.step(0.01f);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const float l = loss.item<float>();
  if (!std::isfinite(l)) throw mx::Error("bench: loss is not finite");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Training-step throughput of a model on random data (CPU)"};
  app.add_option("--model", o.model)->capture_default_str();
  app.add_option("--batch", o.batch)->capture_default_str();
  app.add_option("--channels", o.channels)->capture_default_str();
  app.add_option("--size", o.size)->capture_default_str();
  app.add_option("--steps", o.steps)->capture_default_str();
  app.add_option("--warmup", o.warmup)->capture_default_str();
  app.add_option("--threads", o.threads, "0: all cores")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    mx::set_num_threads(o.threads);
    auto model = mx::models::make_model(o.model, {o.channels, o.size, o.classes, 1});
    mx::ParameterStore store(*model);
    mx::optim::Sgd opt(store, {});
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    std::vector<float> xs(static_cast<size_t>(o.batch) * o.channels * o.size * o.size);
    for (float& v : xs) v = nd(rng);
    std::vector<int32_t> ys(static_cast<size_t>(o.batch));
    for (size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<int32_t>(i % o.classes);
    mx::Tensor x = mx::Tensor::from_vector(xs, {o.batch, o.channels, o.size, o.size});
    mx::Tensor y = mx::Tensor::from_vector(ys, {o.batch});
    mx::Tensor lam = mx::Tensor::full({o.batch}, 1.f);
    for (int i = 0; i < o.warmup; ++i) step_seconds(*model, store, opt, x, y, lam);
    std::vector<double> t;
    for (int i = 0; i < o.steps; ++i) t.push_back(step_seconds(*model, store, opt, x, y, lam));
    std::sort(t.begin(), t.end());
    const double median = t[t.size() / 2];
    std::printf("model %s batch %d input %dx%dx%d threads %d: median step %.1f ms (min %.1f, max %.1f), %.0f images/s\n",
                o.model.c_str(), o.batch, o.channels, o.size, o.size, mx::num_threads(), 1e3 * median,
                1e3 * t.front(), 1e3 * t.back(), o.batch / median);
  } catch (const mx::Error& e) {
    std::fprintf(stderr, "bench_train_step: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
