// Training-step benchmark: images/s of forward + mixed-label loss + backward + SGD step for a model
// on random inputs, median over timed steps after warm-up (each step ends by reading the loss back,
// which waits for the GPU, so host time is the step's full time). Validates that the loss is finite.
// On the GPU it then times a few more steps with CUDA events around op categories (cuDNN convolutions,
// cuBLAS linear layers, the optimizer, and the whole step; "other" is the rest: our kernels and any
// gaps where the GPU waits for the host) and prints the split. Those events cost a little, so the
// split comes from separate steps and the images/s from unprofiled ones.
// It also reports the step's peak tensor memory above what the model and optimizer hold (activations
// and gradients in flight, engine/memory.h), the figure DenseNet's memory-efficient mode is judged by.
// --fuse-bn-relu 0 runs every batch norm and the ReLU after it as two ops (nn::fuse_batch_norm_relu), the
// reference that the fused op (the default) is measured against.
// Usage: bench_train_step [--model quicknet] [--batch 128] [--channels 1] [--size 28] [--classes 10]
//                         [--steps 10] [--warmup 2] [--threads 0] [--device cpu|cuda] [--naive-densenet]
//                         [--fuse-bn-relu 1] [--profile-steps 5] [--json FILE]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "engine/cuda/runtime.h"
#include "engine/device_select.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "engine/threads.h"
#include "models/models.h"

namespace {

struct Options {
  std::string model = "quicknet", device = "cpu", json;
  int batch = 128, channels = 1, size = 28, classes = 10, steps = 10, warmup = 2, threads = 0, profile_steps = 5;
  bool naive_densenet = false, fuse_bn_relu = true;
};

struct Step {
  mx::nn::Module& model;
  mx::ParameterStore& store;
  mx::optim::Sgd& opt;
  mx::Tensor x, y, lam;

  double seconds() {
    const auto t0 = std::chrono::steady_clock::now();
    mx::Tensor loss;
    {
      mx::cuda::ProfileScope scope("step");
      store.zero_grad();
      loss = mx::ops::mixed_cross_entropy(model(x), y, y, lam);
      loss.backward();
      opt.step(0.01f);
    }
    const float l = loss.item<float>();
    if (!std::isfinite(l)) throw mx::Error("bench: loss is not finite");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

// Milliseconds per step by category over `steps` profiled steps, with "other" = step - the categories.
nlohmann::json profile_split(Step& step, int steps) {
  mx::cuda::set_profiling(true);
  for (int i = 0; i < steps; ++i) step.seconds();
  mx::cuda::set_profiling(false);
  nlohmann::json split = nlohmann::json::object();
  double named = 0, total = 0;
  for (const auto& [category, ms] : mx::cuda::profile_collect()) {
    split[category] = ms / steps;
    if (category == "step") total = ms / steps;
    else named += ms / steps;
  }
  split["other"] = total - named;
  return split;
}

}  // namespace

int main(int argc, char** argv) {
  mx::use_short_openmp_spin(argv);  // as the mixup program does
  Options o;
  CLI::App app{"Training-step throughput of a model on random data"};
  app.add_option("--model", o.model)->capture_default_str();
  app.add_option("--batch", o.batch)->capture_default_str();
  app.add_option("--channels", o.channels)->capture_default_str();
  app.add_option("--size", o.size)->capture_default_str();
  app.add_option("--classes", o.classes)->capture_default_str();
  app.add_flag("--naive-densenet", o.naive_densenet, "DenseNet: store every intermediate (no recomputation)");
  app.add_option("--fuse-bn-relu", o.fuse_bn_relu, "1: batch norm and the ReLU after it as one op; 0: two ops")
      ->capture_default_str();
  app.add_option("--steps", o.steps)->capture_default_str();
  app.add_option("--warmup", o.warmup)->capture_default_str();
  app.add_option("--threads", o.threads, "0: all cores")->capture_default_str();
  app.add_option("--device", o.device, "cpu, cuda or auto")->capture_default_str();
  app.add_option("--profile-steps", o.profile_steps, "GPU only: steps timed by category")->capture_default_str();
  app.add_option("--json", o.json, "Also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  try {
    std::string notice;
    const mx::Device dev = mx::select_device(o.device, notice);
    if (!notice.empty()) std::fprintf(stderr, "%s\n", notice.c_str());
    mx::set_num_threads(o.threads);
    mx::models::ModelSpec spec{o.channels, o.size, o.classes, 1};
    spec.memory_efficient = !o.naive_densenet;
    auto model = mx::models::make_model(o.model, spec);
    mx::nn::fuse_batch_norm_relu(*model, o.fuse_bn_relu);
    mx::ParameterStore store(*model, dev);
    mx::optim::Sgd opt(store, {});
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    std::vector<float> xs(static_cast<size_t>(o.batch) * o.channels * o.size * o.size);
    for (float& v : xs) v = nd(rng);
    std::vector<int32_t> ys(static_cast<size_t>(o.batch));
    for (size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<int32_t>(i % o.classes);
    Step step{*model, store, opt, mx::Tensor::from_vector(xs, {o.batch, o.channels, o.size, o.size}, dev),
              mx::Tensor::from_vector(ys, {o.batch}, dev), mx::Tensor::full({o.batch}, 1.f, dev)};
    const size_t held = mx::memory_stats(dev).in_use;
    mx::reset_peak_memory(dev);
    for (int i = 0; i < o.warmup; ++i) step.seconds();
    std::vector<double> t;
    for (int i = 0; i < o.steps; ++i) t.push_back(step.seconds());
    const double peak_mib = static_cast<double>(mx::memory_stats(dev).peak - held) / (1 << 20);
    std::sort(t.begin(), t.end());
    const double median = t[t.size() / 2];
    const std::string where = dev == mx::Device::CPU ? "threads " + std::to_string(mx::num_threads())
                                                     : "on " + mx::cuda::device_summary();
    std::printf("model %s%s%s batch %d input %dx%dx%d %s: median step %.2f ms (min %.2f, max %.2f), %.1f images/s, "
                "peak step memory %.1f MiB\n",
                o.model.c_str(), o.naive_densenet ? " (naive)" : "", o.fuse_bn_relu ? "" : " (BN, ReLU unfused)",
                o.batch, o.channels, o.size, o.size, where.c_str(), 1e3 * median, 1e3 * t.front(), 1e3 * t.back(), o.batch / median, peak_mib);
    nlohmann::json out = {{"model", o.model},       {"device", mx::device_name(dev)}, {"batch", o.batch},
                          {"median_ms", 1e3 * median}, {"images_per_s", o.batch / median},
                          {"peak_step_mib", peak_mib}, {"naive_densenet", o.naive_densenet},
                          {"fuse_bn_relu", o.fuse_bn_relu}};
    if (dev == mx::Device::CUDA && o.profile_steps > 0) {
      nlohmann::json split = profile_split(step, o.profile_steps);
      std::printf("split per step (CUDA events, %d profiled steps): step %.2f ms = conv %.2f + linear %.2f + "
                  "optimizer %.2f + other kernels and gaps %.2f\n",
                  o.profile_steps, split.value("step", 0.0), split.value("conv", 0.0), split.value("linear", 0.0),
                  split.value("optimizer", 0.0), split.value("other", 0.0));
      out["split_ms"] = split;
    }
    if (!o.json.empty()) std::ofstream(o.json) << out.dump(2) << "\n";
  } catch (const mx::Error& e) {
    std::fprintf(stderr, "bench_train_step: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
