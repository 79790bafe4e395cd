// Per-op benchmark over the harness's registered cases (tests/ops/op_cases.cpp): for each case, the
// median forward and backward time through the op front-end and autograd on fixed random inputs.
// Each case is first run once and its output and gradients checked to be finite and written; a CUDA
// run waits for the device before every clock reading, so the times are the ops' full times.
// Usage: bench_ops [--op NAME] [--case SUBSTRING] [--device cpu|cuda] [--repeats 20] [--warmup 3]
//                  [--threads 0] [--list]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/error.h"
#include "engine/threads.h"
#include "tests/ops/op_cases.h"
#include "tests/ops/op_harness.h"

namespace {

struct Options {
  std::string op, substring, device = "cpu";
  int repeats = 20, warmup = 3, threads = 0;
  bool list = false;
};

mx::Device parse_device(const std::string& flag) {
  if (flag == "cpu") return mx::Device::CPU;
  MX_CHECK(flag == "cuda", "--device: expected cpu or cuda, got '", flag, "'");
  MX_CHECK(mx::cuda::device_count() > 0, "--device cuda: ", mx::cuda::device_summary());
  return mx::Device::CUDA;
}

std::vector<const mx::test::OpCase*> selected_cases(const Options& o) {
  std::vector<const mx::test::OpCase*> out;
  for (const mx::test::OpCase& c : mx::test::all_op_cases())
    if ((o.op.empty() || c.op == o.op) && c.name.find(o.substring) != std::string::npos) out.push_back(&c);
  MX_CHECK(!out.empty(), "no registered case matches --op '", o.op, "' and --case '", o.substring, "'");
  return out;
}

int run(const Options& o) {
  const mx::Device dev = parse_device(o.device);
  MX_CHECK(o.repeats >= 1 && o.warmup >= 0, "--repeats must be >= 1 and --warmup >= 0");
  const std::vector<const mx::test::OpCase*> cases = selected_cases(o);
  if (o.list) {
    for (const mx::test::OpCase* c : cases) std::printf("%s\n", c->name.c_str());
    return 0;
  }
  mx::set_num_threads(o.threads);
  const std::string where = dev == mx::Device::CPU ? std::to_string(mx::num_threads()) + " threads"
                                                   : mx::cuda::device_summary();
  std::printf("# %s, median of %d repeats after %d warm-up\n%-56s %12s %12s\n", where.c_str(), o.repeats, o.warmup,
              "case", "forward ms", "backward ms");
  for (const mx::test::OpCase* c : cases) {
    const mx::test::OpTimes t = mx::test::time_case(*c, dev, o.warmup, o.repeats);
    std::printf("%-56s %12.4f %12.4f\n", c->name.c_str(), t.forward_ms, t.backward_ms);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Median forward and backward times of the registered op cases"};
  app.add_option("--op", o.op, "Only the cases of this op (relu, conv2d, ...)");
  app.add_option("--case", o.substring, "Only the cases whose name contains this");
  app.add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  app.add_option("--repeats", o.repeats, "Timed runs per case")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Untimed runs before them")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads, 0: one per core")->capture_default_str();
  app.add_flag("--list", o.list, "Print the selected case names and exit");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const mx::Error& e) {
    std::fprintf(stderr, "bench_ops: error: %s\n", e.what());
    return 1;
  }
}
