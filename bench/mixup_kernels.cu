// Fused batch-mixup benchmark (CUDA builds only). For each batch size and mixing mode it times
//   fused: kernels::mix_batch<Device::CUDA>, one launch over the whole batch;
//   naive: the multi-pass way a framework writes it, one launch per pass: blend = gather x[perm],
//          scale, scale, add; stitching = gather x[perm], copy x, paste the box;
//   copy:  a device-to-device copy of the same bytes (the bandwidth ceiling of a read plus a write).
// Every version is checked against the CPU twin before it is timed. Timing: CUDA events around a run of
// launches that rotates over enough input/output sets to exceed L2 twice, median of the repetitions.
// GB/s counts the bytes the fused kernel must move: every output written once, every input element
// read where it is used (blend: both images; copy and paste: one), so a paste can reach the copy rate.
// A second table times what --data-on-device does per step against what it replaces:
//   stored: kernels::augment_mix<Device::CUDA>, one launch that builds the mixed batch from a stored
//           uint8 training set (50000 images, random shifts of up to 4 pixels and flips);
//   upload+fused: the loader's float batch copied from pageable host memory, then mix_batch.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/stream.h"
#include "engine/memory.h"
#include "kernels/augment_mix.h"
#include "kernels/launch.cuh"
#include "kernels/mix_batch.h"
#include "kernels/philox.h"
#include "mixup/mixer.h"

namespace {

using mx::Device;
using mx::DType;
using mx::Tensor;
using mx::kernels::MixSample;
using mx::kernels::for_each_index;

constexpr int64_t kC = 3, kH = 32, kW = 32, kImage = kC * kH * kW;
constexpr int64_t kStored = 50000;  // a CIFAR-sized uint8 training set (147 MiB), beyond any L2

// Uniform values in [-1, 1) from Philox, so inputs are never zeros.
struct FillRandom {
  float* x;
  uint64_t seed;
  __device__ void operator()(int64_t i) const {
    x[i] = 2.f * mx::kernels::uniform01(mx::kernels::philox(seed, static_cast<uint64_t>(i)).v[0]) - 1.f;
  }
};

// ---- the naive multi-pass version ----

struct Gather {  // out[i] = x[perm[i]]
  float* out;
  const float* x;
  const int32_t* perm;
  __device__ void operator()(int64_t e) const { out[e] = x[perm[e / kImage] * kImage + e % kImage]; }
};
struct Scale {  // out = s * x
  float* out;
  const float* x;
  float s;
  __device__ void operator()(int64_t e) const { out[e] = s * x[e]; }
};
struct Add {  // out = a + b
  float* out;
  const float* a;
  const float* b;
  __device__ void operator()(int64_t e) const { out[e] = a[e] + b[e]; }
};
struct PasteBox {  // out[:, :, y0:y1, x0:x1] = src[:, :, y0:y1, x0:x1], one thread per box element
  float* out;
  const float* src;
  int32_t y0, x0, bh, bw;
  __device__ void operator()(int64_t e) const {
    const int64_t plane = e / (bh * bw), r = e % (bh * bw);
    const int64_t k = plane * kH * kW + (y0 + r / bw) * kW + x0 + r % bw;
    out[k] = src[k];
  }
};

// One input/output set, plus the naive version's scratch buffers.
struct Buffers {
  Tensor x, out, tmp_a, tmp_b;
};

struct Workload {
  std::string mode, per;
  std::vector<MixSample> plan;
  Tensor plan_dev, perm_dev;
  double bytes = 0;  // bytes the fused kernel must move
};

Workload make_workload(const std::string& mode, const std::string& per, int64_t n, uint64_t seed) {
  mx::mixup::MixerOptions opt;
  opt.mix = mode;
  opt.per = per;
  mx::random::Rng rng = mx::random::make_rng({seed, 1});
  Workload w{mode, per, mx::mixup::Mixer(opt).plan(n, kH, kW, rng).samples, {}, {}, 0};
  std::vector<int32_t> perm;
  for (const MixSample& s : w.plan) {
    perm.push_back(s.partner);
    w.bytes += (s.op == mx::kernels::kBlend ? 3.0 : 2.0) * kImage * sizeof(float);
  }
  w.plan_dev = mx::bytes_on(Device::CUDA, w.plan.data(), w.plan.size() * sizeof(MixSample));
  w.perm_dev = mx::bytes_on(Device::CUDA, perm.data(), perm.size() * sizeof(int32_t));
  return w;
}

void run_fused(const Workload& w, Buffers& b, int64_t n) {
  mx::kernels::mix_batch<Device::CUDA>(b.out.data<float>(), b.x.data<float>(),
                                       static_cast<const MixSample*>(w.plan_dev.raw()), n, kC, kH, kW);
}

// The naive passes for a plan with one mode per batch (all samples share op, lam and box).
void run_naive(const Workload& w, Buffers& b, int64_t n) {
  const MixSample& m = w.plan[0];
  const int64_t total = n * kImage;
  float* out = b.out.data<float>();
  const float* x = b.x.data<float>();
  float *a = b.tmp_a.data<float>(), *p = b.tmp_b.data<float>();
  for_each_index(total, Gather{p, x, static_cast<const int32_t*>(w.perm_dev.raw())}, "naive_gather");
  if (m.op == mx::kernels::kBlend) {
    for_each_index(total, Scale{a, x, m.lam}, "naive_scale");
    for_each_index(total, Scale{p, p, 1.f - m.lam}, "naive_scale");
    for_each_index(total, Add{out, a, p}, "naive_add");
    return;
  }
  CHECK_CUDA(cudaMemcpyAsync(out, x, total * sizeof(float), cudaMemcpyDeviceToDevice, mx::cuda::current_stream()));
  const int32_t bh = m.y1 - m.y0, bw = m.x1 - m.x0;
  if (m.op == mx::kernels::kPaste && bh > 0 && bw > 0)
    for_each_index(n * kC * bh * bw, PasteBox{out, p, m.y0, m.x0, bh, bw}, "naive_paste");
}

void run_copy(Buffers& b) {
  CHECK_CUDA(cudaMemcpyAsync(b.out.raw(), b.x.raw(), b.x.nbytes(), cudaMemcpyDeviceToDevice,
                             mx::cuda::current_stream()));
}

// Throws unless a version's output equals the CPU twin's: copies and pastes exactly, blends within
// float32 rounding of values of magnitude up to about 1 (1e-6, relative beyond 1).
void expect_twin(const std::vector<float>& got, const std::vector<float>& want, const Workload& w, int64_t n,
                 const char* version) {
  for (size_t e = 0; e < want.size(); ++e) {
    const bool blend = w.plan[e / kImage].op == mx::kernels::kBlend;
    if (blend ? std::fabs(got[e] - want[e]) <= 1e-6f * std::max(1.f, std::fabs(want[e])) : got[e] == want[e]) continue;
    throw mx::Error(mx::detail::concat("bench_mixup: ", version, " mode ", w.mode, " batch ", n,
                                       " differs from the CPU twin at element ", e, ": ", got[e], " vs ", want[e]));
  }
}

// Checks set 0's output against the CPU twin.
void validate(const Workload& w, Buffers& b, int64_t n, const char* version) {
  mx::cuda::synchronize();
  std::vector<float> x = b.x.to_vector<float>(), want(x.size());
  mx::kernels::mix_batch<Device::CPU>(want.data(), x.data(), w.plan.data(), n, kC, kH, kW);
  expect_twin(b.out.to_vector<float>(), want, w, n, version);
}

struct Timing {
  double median_us = 0, min_us = 0;
};

// Median over `reps` of the mean time of one launch within a run that rotates over all sets.
Timing time_launches(const std::function<void(Buffers&)>& launch, std::vector<Buffers>& sets, int reps) {
  cudaStream_t s = mx::cuda::current_stream();
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (Buffers& b : sets) launch(b);  // warm-up
  const int inner = std::max<int>(static_cast<int>(sets.size()), 10);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    CHECK_CUDA(cudaEventRecord(start, s));
    for (int j = 0; j < inner; ++j) launch(sets[static_cast<size_t>(j) % sets.size()]);
    CHECK_CUDA(cudaEventRecord(stop, s));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    t.push_back(1e3 * ms / inner);
  }
  CHECK_CUDA(cudaEventDestroy(start));
  CHECK_CUDA(cudaEventDestroy(stop));
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

std::vector<Buffers> make_sets(int64_t n, int64_t l2_bytes) {
  const int64_t bytes = n * kImage * static_cast<int64_t>(sizeof(float));
  const int64_t count = std::max<int64_t>(2, (2 * l2_bytes + 2 * bytes - 1) / (2 * bytes) + 1);
  std::vector<Buffers> sets(static_cast<size_t>(count));
  uint64_t seed = 1;
  for (Buffers& b : sets) {
    for (Tensor* t : {&b.x, &b.out, &b.tmp_a, &b.tmp_b}) *t = Tensor::empty({n, kC, kH, kW}, DType::F32, Device::CUDA);
    for_each_index(n * kImage, FillRandom{b.x.data<float>(), seed++}, "fill_random");
  }
  return sets;
}

// ---- batches built from stored uint8 images ----

struct Stored {
  std::vector<uint8_t> host;  // the same bytes, for the CPU twin
  std::vector<float> table_host;
  Tensor images, table;
};

Stored make_stored() {
  Stored st;
  std::mt19937_64 rng(7);
  st.host.resize(static_cast<size_t>(kStored * kImage));
  for (uint8_t& v : st.host) v = static_cast<uint8_t>(rng() >> 56);
  for (int64_t k = 0; k < kC * 256; ++k) st.table_host.push_back(static_cast<float>(k % 256) / 64.f - 2.f);
  st.images = Tensor::from_vector(st.host, {kStored, kC, kH, kW}, Device::CUDA);
  st.table = Tensor::from_vector(st.table_host, {kC * 256}, Device::CUDA);
  return st;
}

struct StoredWork {
  std::vector<mx::kernels::AugmentSample> augment;
  Tensor augment_dev;
  double bytes = 0;  // every output written once, one stored byte read per image used
};

StoredWork make_stored_work(const Workload& w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  StoredWork sw;
  for (const MixSample& s : w.plan) {
    mx::kernels::AugmentSample a;
    a.source = static_cast<int64_t>(rng() % kStored);
    a.dx = static_cast<int32_t>(rng() % 9) - 4;
    a.dy = static_cast<int32_t>(rng() % 9) - 4;
    a.flip = static_cast<int32_t>(rng() % 2);
    sw.augment.push_back(a);
    sw.bytes += (s.op == mx::kernels::kBlend ? 2.0 : 1.0) * kImage + kImage * sizeof(float);
  }
  sw.augment_dev = mx::bytes_on(Device::CUDA, sw.augment.data(), sw.augment.size() * sizeof(sw.augment[0]));
  return sw;
}

void run_stored(const Workload& w, const StoredWork& sw, const Stored& st, Buffers& b, int64_t n) {
  mx::kernels::augment_mix<Device::CUDA>(b.out.data<float>(), st.images.data<uint8_t>(), st.table.data<float>(),
                                         static_cast<const mx::kernels::AugmentSample*>(sw.augment_dev.raw()),
                                         static_cast<const MixSample*>(w.plan_dev.raw()), n, kC, kH, kW);
}

// Checks set 0's output against the CPU twin of augment_mix.
void validate_stored(const Workload& w, const StoredWork& sw, const Stored& st, Buffers& b, int64_t n) {
  mx::cuda::synchronize();
  std::vector<float> want(static_cast<size_t>(n * kImage));
  mx::kernels::augment_mix<Device::CPU>(want.data(), st.host.data(), st.table_host.data(), sw.augment.data(),
                                        w.plan.data(), n, kC, kH, kW);
  expect_twin(b.out.to_vector<float>(), want, w, n, "stored");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> batches{128, 512, 8192};
  int reps = 50;
  std::string json_path;
  CLI::App app{"Fused batch mixup against a naive multi-pass version and a device copy (3x32x32 fp32), and the "
               "batch built from stored uint8 images against an uploaded float batch"};
  app.add_option("--batches", batches, "Batch sizes")->delimiter(',')->capture_default_str();
  app.add_option("--reps", reps, "Timed repetitions (median reported)")->capture_default_str();
  app.add_option("--json", json_path, "Also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  try {
    MX_CHECK(mx::cuda::device_count() > 0, mx::cuda::device_summary());
    int l2 = 0, dev = 0;
    CHECK_CUDA(cudaGetDevice(&dev));
    CHECK_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    std::printf("# bench_mixup on %s, L2 %d MiB, images 3x32x32 fp32, median of %d repetitions\n",
                mx::cuda::device_summary().c_str(), l2 >> 20, reps);
    std::printf("%6s %-8s %10s %9s %8s %10s %8s %9s %9s\n", "batch", "mode", "fused_us", "fused_GB/s", "vs_copy",
                "naive_us", "speedup", "copy_us", "copy_GB/s");
    nlohmann::json results = nlohmann::json::array();
    // c and r per sample too: the counterparts of timm's pair and elem modes and of Kornia's (torch_reference.py).
    const std::vector<std::pair<std::string, std::string>> modes{
        {"none", "batch"}, {"c", "batch"}, {"h", "batch"},  {"v", "batch"},
        {"r", "batch"},    {"c", "sample"}, {"r", "sample"}, {"hvc", "sample"}};
    const Stored stored = make_stored();
    std::vector<std::string> stored_rows;
    for (int64_t n : batches) {
      std::vector<Buffers> sets = make_sets(n, l2);
      const double copy_bytes = 2.0 * n * kImage * sizeof(float);
      const Timing copy = time_launches(run_copy, sets, reps);
      const Tensor host_batch = Tensor::full({n, kC, kH, kW}, 0.5f);  // pageable, as the loader's batches
      const Timing upload = time_launches(
          [&](Buffers& b) {
            CHECK_CUDA(cudaMemcpyAsync(b.tmp_a.raw(), host_batch.raw(), host_batch.nbytes(), cudaMemcpyHostToDevice,
                                       mx::cuda::current_stream()));
          },
          sets, std::max(3, reps / 10));  // a large batch takes milliseconds to cross PCIe
      for (const auto& [mode, per] : modes) {
        const Workload w = make_workload(mode, per, n, static_cast<uint64_t>(n));
        run_fused(w, sets[0], n);
        validate(w, sets[0], n, "fused");
        const Timing fused = time_launches([&](Buffers& b) { run_fused(w, b, n); }, sets, reps);
        const bool naive_applies = per == "batch" && mode != "none";
        Timing naive;
        if (naive_applies) {
          run_naive(w, sets[0], n);
          validate(w, sets[0], n, "naive");
          naive = time_launches([&](Buffers& b) { run_naive(w, b, n); }, sets, reps);
        }
        const StoredWork sw = make_stored_work(w, static_cast<uint64_t>(n) + 11);
        run_stored(w, sw, stored, sets[0], n);
        validate_stored(w, sw, stored, sets[0], n);
        const Timing from_stored = time_launches([&](Buffers& b) { run_stored(w, sw, stored, b, n); }, sets, reps);
        const double fused_gbs = w.bytes / fused.median_us * 1e-3, copy_gbs = copy_bytes / copy.median_us * 1e-3;
        const std::string label = per == "sample" ? mode + "/smp" : mode;
        char row[160];
        std::snprintf(row, sizeof row, "%6lld %-8s %10.2f %10.0f %10.2f %13.2f %8.2fx", static_cast<long long>(n),
                      label.c_str(), from_stored.median_us, sw.bytes / from_stored.median_us * 1e-3, upload.median_us,
                      upload.median_us + fused.median_us, (upload.median_us + fused.median_us) / from_stored.median_us);
        stored_rows.push_back(row);
        char naive_us[32] = "-", speedup[32] = "-";
        if (naive_applies) {
          std::snprintf(naive_us, sizeof naive_us, "%.2f", naive.median_us);
          std::snprintf(speedup, sizeof speedup, "%.2fx", naive.median_us / fused.median_us);
        }
        std::printf("%6lld %-8s %10.2f %9.0f %8.2f %10s %8s %9.2f %9.0f\n", static_cast<long long>(n), label.c_str(),
                    fused.median_us, fused_gbs, fused_gbs / copy_gbs, naive_us, speedup, copy.median_us, copy_gbs);
        results.push_back({{"batch", n}, {"mode", mode}, {"per", per}, {"fused_us", fused.median_us},
                           {"fused_min_us", fused.min_us}, {"naive_us", naive_applies ? naive.median_us : 0.0},
                           {"copy_us", copy.median_us}, {"bytes", w.bytes}, {"fused_gbs", fused_gbs},
                           {"copy_gbs", copy_gbs}, {"stored_us", from_stored.median_us},
                           {"stored_bytes", sw.bytes}, {"upload_us", upload.median_us}});
      }
    }
    std::printf("\n# from stored uint8 images (--data-on-device) against the uploaded float batch, then fused\n");
    std::printf("%6s %-8s %10s %10s %10s %13s %9s\n", "batch", "mode", "stored_us", "stored_GB/s", "upload_us",
                "upload+fused", "speedup");
    for (const std::string& row : stored_rows) std::printf("%s\n", row.c_str());
    if (!json_path.empty()) std::ofstream(json_path) << results.dump(2) << "\n";
  } catch (const mx::Error& e) {
    std::fprintf(stderr, "bench_mixup: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
