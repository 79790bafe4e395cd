// The checks and the timing behind the per-op harness (see op_harness.h).
#include "tests/ops/op_harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/autograd.h"
#include "engine/cuda/runtime.h"
#include "engine/error.h"
#include "engine/memory.h"
#include "tests/ops/op_compare.h"

namespace mx::test {

void Findings::add(const std::string& line) {
  if (line.empty()) return;
  if (lines_.size() < kShown) lines_.push_back(line); else ++more_;
}

void Findings::add_all(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) add(line);
}

std::string Findings::report() const {
  std::string out;
  for (const std::string& line : lines_) out += line + "\n";
  if (more_) out += "... and " + std::to_string(more_) + " more\n";
  return out;
}

uint32_t case_seed(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : name) h = (h ^ ch) * 16777619u;
  return h;
}

std::vector<float> objective_weights(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed ^ 0x9e3779b9u);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  std::vector<float> w(static_cast<size_t>(n));
  for (float& x : w) x = u(rng);
  return w;
}

namespace {

// Fresh copies of the inputs on `dev`; the differentiable ones require grad.
std::vector<Tensor> leaves_on(const OpInputs& in, Device dev) {
  std::vector<Tensor> t;
  for (const OpInput& i : in.list) {
    Tensor v = i.value.to(dev);
    if (i.differentiable) v.set_requires_grad(true);
    t.push_back(v);
  }
  return t;
}

void wait_for(Device dev) {
  if (dev == Device::CUDA) cuda::synchronize();
}

// Runs `work` (which must free every tensor it makes) with guarded allocations and adds what the
// guards caught. Damage found before it started (a block that outlived an earlier check) is reported
// too, marked as such.
template <typename Work>
void guarded(Findings& found, Work&& work) {
  for (const std::string& line : guard_violations()) found.add("before this check: " + line);
  {
    GuardedAllocations guard;
    work();
  }
  found.add_all(guard_violations());
}

double weighted_sum(const Tensor& out, const std::vector<float>& w) {
  const std::vector<float> o = out.to_vector<float>();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += static_cast<double>(w[i]) * o[i];
  return s;
}

// d(objective)/dx at the element *x by central differences, over the step actually taken in float.
double central_difference(const Forward& f, std::vector<Tensor>& t, float* x, double eps, const std::vector<float>& w) {
  const float orig = *x, up = orig + static_cast<float>(eps), down = orig - static_cast<float>(eps);
  *x = up;
  const double s_up = weighted_sum(f(t), w);
  *x = down;
  const double s_down = weighted_sum(f(t), w);
  *x = orig;
  return (s_up - s_down) / (static_cast<double>(up) - down);
}

void check_input_gradient(const Forward& f, std::vector<Tensor>& t, size_t k, const std::string& name,
                          const std::vector<float>& w, double eps, double tol, Findings& found) {
  const Tensor grad = t[k].grad();
  if (!grad.defined()) {
    found.add(name + " received no gradient");
    return;
  }
  const std::vector<float> g = grad.to_vector<float>();
  float* x = t[k].data<float>();
  NoGradGuard no_grad;
  for (int64_t i = 0; i < t[k].numel(); ++i) {
    const double numeric = central_difference(f, t, x + i, eps, w), analytic = g[static_cast<size_t>(i)];
    if (!(std::fabs(analytic - numeric) <= tol * std::max(1.0, std::fabs(numeric))))
      found.add(detail::concat("gradient of ", name, " element ", i, " is ", analytic, ", finite differences give ",
                               numeric, " (tolerance ", tol, ")"));
  }
}

void finite_differences(const Forward& f, const OpInputs& in, double eps, double tol, uint32_t seed,
                        Findings& found) {
  std::vector<Tensor> t = leaves_on(in, Device::CPU);
  const Tensor out = f(t);
  const std::vector<float> w = objective_weights(out.numel(), seed);
  run_backward(out, Tensor::from_vector(w, out.shape()));
  for (size_t k = 0; k < t.size(); ++k)
    if (in.list[k].differentiable) check_input_gradient(f, t, k, in.list[k].name, w, eps, tol, found);
}

void reference(const OpCase& c, uint32_t seed, Findings& found) {
  std::mt19937 rng(seed);
  std::vector<Tensor> t = leaves_on(c.inputs(rng), Device::CPU);
  const Expected want = c.reference(t);  // before the forward, which may update state
  NoGradGuard no_grad;
  const Tensor out = c.forward(t);
  if (out.shape() != want.shape) {
    found.add("output shape " + shape_str(out.shape()) + ", reference " + shape_str(want.shape));
    return;
  }
  const double tol = c.finite_differences ? c.tol.reference : c.tol.reference_large;
  found.add(compare_reference(out.to_vector<float>(), want.values, tol, "output"));
}

// Every result of the reference run written and finite, and the tested run's within tolerance of it.
void compare_runs(const OpCase& c, const CaseRun& want, const CaseRun& got, const std::string& on, Findings& found) {
  if (got.shape != want.shape) {
    found.add("output shape " + shape_str(got.shape) + on + ", " + shape_str(want.shape) + " in the reference run");
    return;
  }
  found.add(first_non_finite(want.output, "output of the reference run"));
  found.add(compare_close(got.output, want.output, c.tol.twin_output, "output" + on));
  for (size_t k = 0; k < want.grads.size() && k < got.grads.size(); ++k) {
    const std::string what = "gradient of " + want.grad_names[k];
    found.add(first_non_finite(want.grads[k], what + " in the reference run"));
    found.add(compare_close(got.grads[k], want.grads[k], c.tol.twin_gradient, what + on));
  }
  for (size_t k = 0; k < want.state.size(); ++k)
    found.add(
        compare_close(got.state[k], want.state[k], c.tol.twin_output, want.state_names[k] + " after the run" + on));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// One run of the case must succeed, with every result written and finite, before it is timed.
void validate_for_timing(const OpCase& c, Device dev, uint32_t seed) {
  Findings found;
  const CaseRun run = run_case(c, dev, seed, found);
  found.add(first_non_finite(run.output, "output"));
  for (size_t k = 0; k < run.grads.size(); ++k)
    found.add(first_non_finite(run.grads[k], "gradient of " + run.grad_names[k]));
  MX_CHECK(found.ok(), c.name, " on ", device_name(dev), ": ", found.lines().front());
}

}  // namespace

Findings check_finite_differences(const Forward& f, const OpInputs& inputs, double eps, double tol,
                                  uint32_t seed) {
  Findings found;
  guarded(found, [&] { finite_differences(f, inputs, eps, tol, seed, found); });
  return found;
}

Findings check_gradients(const OpCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  return check_finite_differences(c.forward, c.inputs(rng), c.tol.fd_eps, c.tol.fd_tol, seed);
}

Findings check_reference(const OpCase& c, uint32_t seed) {
  Findings found;
  guarded(found, [&] { reference(c, seed, found); });
  return found;
}

CaseRun run_case(const OpCase& c, Device dev, uint32_t seed, Findings& found) {
  std::mt19937 rng(seed);
  const OpInputs in = c.inputs(rng);
  std::vector<Tensor> t = leaves_on(in, dev);
  const Tensor out = c.forward(t);
  CaseRun run{out.shape(), out.to_vector<float>(), {}, {}, {}, {}};
  if (out.requires_grad())  // ops without a backward (batch_scores) compare their outputs only
    run_backward(out, Tensor::from_vector(objective_weights(out.numel(), seed), out.shape(), dev));
  for (size_t k = 0; k < t.size(); ++k) {
    const std::string& name = in.list[k].name;
    if (in.list[k].differentiable) {
      const Tensor grad = t[k].grad();
      if (!grad.defined()) found.add(name + " received no gradient on " + device_name(dev));
      run.grad_names.push_back(name);
      run.grads.push_back(grad.defined() ? grad.to_vector<float>() : std::vector<float>());
    } else if (t[k].dtype() == DType::F32) {
      run.state_names.push_back(name);
      run.state.push_back(t[k].to_vector<float>());
    }
  }
  return run;
}

Findings check_devices_agree(const OpCase& c, Device reference, Device tested, uint32_t seed) {
  Findings found;
  guarded(found, [&] {
    const CaseRun want = run_case(c, reference, seed, found), got = run_case(c, tested, seed, found);
    compare_runs(c, want, got, std::string(" on ") + device_name(tested), found);
  });
  return found;
}

OpTimes time_case(const OpCase& c, Device dev, int warmup, int repeats) {
  const uint32_t seed = case_seed(c.name);
  validate_for_timing(c, dev, seed);
  std::mt19937 rng(seed);
  std::vector<Tensor> t = leaves_on(c.inputs(rng), dev);
  std::vector<double> forward, backward;
  for (int i = 0; i < warmup + repeats; ++i) {
    for (Tensor& leaf : t) leaf.set_grad(Tensor());  // every repeat does the same work
    wait_for(dev);
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor out = c.forward(t);
    wait_for(dev);
    const double forward_ms = ms_since(t0);
    const Tensor gy = Tensor::from_vector(objective_weights(out.numel(), seed), out.shape(), dev);
    wait_for(dev);
    const auto t1 = std::chrono::steady_clock::now();
    if (out.requires_grad()) run_backward(out, gy);
    wait_for(dev);
    if (i < warmup) continue;
    backward.push_back(ms_since(t1));
    forward.push_back(forward_ms);
  }
  return {median(forward), median(backward)};
}

}  // namespace mx::test
