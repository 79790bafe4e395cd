// Batch loader: a reproducible per-epoch order and per-sample augmentation, normalization through a
// lookup table, and one background thread that keeps the next batch ready while the consumer trains.
#include "datasets/loader.h"

#include "engine/random.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

namespace mx::data {
namespace {

constexpr uint64_t kShuffleStream = 1, kAugmentStream = 2;

using random::derive_key;
using random::uniform_below;

// The augmentation of the sample at `position` of epoch `epoch`, for stored image `source`; the draws do
// not depend on the switches.
kernels::AugmentSample draw_augment(const LoaderOptions& opt, int epoch, int64_t position, int64_t source) {
  random::SplitMix64 g{derive_key({opt.seed, kAugmentStream, static_cast<uint64_t>(epoch), static_cast<uint64_t>(position)})};
  const uint64_t span = 2 * static_cast<uint64_t>(opt.translate) + 1;
  kernels::AugmentSample a;
  a.source = source;
  a.dx = static_cast<int32_t>(uniform_below(g, span)) - opt.translate;
  a.dy = static_cast<int32_t>(uniform_below(g, span)) - opt.translate;
  a.flip = opt.flip && (g() >> 63) != 0;
  return a;
}

}  // namespace

std::vector<float> normalization_table(const Normalization& norm, int channels) {
  const auto c = static_cast<size_t>(channels);
  MX_CHECK(norm.mean.size() == c && norm.std.size() == c, "Loader: normalization has ", norm.mean.size(),
           " means and ", norm.std.size(), " stds for ", c, " channels");
  std::vector<float> table;
  for (size_t ch = 0; ch < c; ++ch) {
    MX_CHECK(norm.std[ch] > 0, "Loader: the std of channel ", ch, " is ", norm.std[ch], ", must be positive");
    for (int v = 0; v < 256; ++v) table.push_back(static_cast<float>((v / 255.0 - norm.mean[ch]) / norm.std[ch]));
  }
  return table;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch) {
  random::Rng rng = random::make_rng({seed, kShuffleStream, static_cast<uint64_t>(epoch)});
  return random::permutation(rng, n);
}

std::vector<int64_t> sample_order(int64_t n, bool shuffle, uint64_t seed, int epoch) {
  if (shuffle) return epoch_order(n, seed, epoch);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

void shift_and_flip(const uint8_t* src, uint8_t* dst, int channels, int height, int width, int dx, int dy,
                    bool flip) {
  for (int c = 0; c < channels; ++c) {
    const uint8_t* plane = src + static_cast<size_t>(c) * height * width;
    for (int y = 0; y < height; ++y, dst += width) {
      const int sy = y - dy;
      if (sy < 0 || sy >= height) {
        std::memset(dst, 0, static_cast<size_t>(width));
        continue;
      }
      const uint8_t* row = plane + static_cast<size_t>(sy) * width;
      for (int x = 0; x < width; ++x) {
        const int sx = (flip ? width - 1 - x : x) - dx;
        dst[x] = sx >= 0 && sx < width ? row[sx] : 0;
      }
    }
  }
}

struct Loader::State {
  Dataset data;
  LoaderOptions opt;
  std::vector<float> table;  // [channel * 256 + pixel] -> normalized value
  int64_t batches = 0;

  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu. `generation` changes with every start_epoch so the worker drops stale batches.
  int epoch = -1;
  uint64_t generation = 0;
  std::vector<int64_t> order;
  int64_t produced = 0, consumed = 0;
  std::optional<Batch> ready;
  std::exception_ptr error;
  bool stop = false;
  std::thread worker;  // last, so it starts after everything above exists

  Batch make_batch(const std::vector<int64_t>& ids, int batch_epoch, int64_t first) const;
  void run();
};

Batch Loader::State::make_batch(const std::vector<int64_t>& ids, int batch_epoch, int64_t first) const {
  const int c = data.channels(), h = data.height(), w = data.width();
  const size_t plane = static_cast<size_t>(h) * w, sample = plane * c;
  const auto n = static_cast<int64_t>(ids.size());
  Batch b{Tensor(), Tensor::empty({n}, DType::I32), {}};
  const int32_t* source_labels = data.labels.data<int32_t>();
  int32_t* labels = b.labels.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) labels[i] = source_labels[ids[i]];
  if (opt.defer_pixels) {
    for (int64_t i = 0; i < n; ++i) b.augment.push_back(draw_augment(opt, batch_epoch, first + i, ids[i]));
    return b;
  }
  b.images = Tensor::empty({n, c, h, w});
  float* out = b.images.data<float>();
  const uint8_t* images = data.images.data<uint8_t>();
  const bool augment = opt.flip || opt.translate > 0;
  std::vector<uint8_t> scratch(augment ? sample : 0);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = images + static_cast<size_t>(ids[i]) * sample;
    if (augment) {
      const kernels::AugmentSample a = draw_augment(opt, batch_epoch, first + i, ids[i]);
      shift_and_flip(src, scratch.data(), c, h, w, a.dx, a.dy, a.flip != 0);
      src = scratch.data();
    }
    for (int ch = 0; ch < c; ++ch) {
      const float* lut = table.data() + ch * 256;
      for (size_t k = 0; k < plane; ++k) *out++ = lut[*src++];
    }
  }
  return b;
}

void Loader::State::run() {
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    cv.wait(lock, [&] { return stop || (epoch >= 0 && !ready && !error && produced < batches); });
    if (stop) return;
    const uint64_t job = generation;
    const int job_epoch = epoch;
    const auto [first, count] = shard_span(data.size(), opt.batch_size, opt.shard, produced);
    std::vector<int64_t> ids(order.begin() + first, order.begin() + first + count);
    lock.unlock();
    std::optional<Batch> batch;
    std::exception_ptr failure;
    try {
      batch = make_batch(ids, job_epoch, first);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (job != generation) continue;  // start_epoch came while this batch was being made
    error = failure;
    ready = std::move(batch);
    ++produced;
    cv.notify_all();
  }
}

Loader::Loader(const Dataset& data, const Normalization& norm, const LoaderOptions& opt)
    : state_(std::make_unique<State>()) {
  MX_CHECK(data.size() > 0, "Loader: the dataset is empty");
  MX_CHECK(data.images.dim() == 4 && data.images.dtype() == DType::U8, "Loader: images must be [N, C, H, W] U8");
  MX_CHECK(data.labels.dtype() == DType::I32 && data.labels.numel() == data.size(), "Loader: ", data.size(),
           " images need as many I32 labels");
  MX_CHECK(opt.batch_size >= 1, "Loader: batch size must be at least 1, got ", opt.batch_size);
  MX_CHECK(opt.translate >= 0, "Loader: translation must not be negative, got ", opt.translate);
  State& s = *state_;
  s.data = data;
  s.opt = opt;
  s.table = normalization_table(norm, data.channels());
  s.batches = shard_steps(data.size(), opt.batch_size, opt.shard, opt.drop_last);
  s.worker = std::thread([&s] { s.run(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  state_->worker.join();
}

void Loader::start_epoch(int epoch, int64_t first_batch) {
  MX_CHECK(epoch >= 0, "Loader: epoch must not be negative, got ", epoch);
  State& s = *state_;
  MX_CHECK(first_batch >= 0 && first_batch <= s.batches, "Loader: first batch ", first_batch, " of an epoch of ",
           s.batches);
  std::vector<int64_t> order = sample_order(s.data.size(), s.opt.shuffle, s.opt.seed, epoch);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.epoch = epoch;
    ++s.generation;
    s.order = std::move(order);
    s.produced = s.consumed = first_batch;
    s.ready.reset();
    s.error = nullptr;
  }
  s.cv.notify_all();
}

bool Loader::next(Batch& out) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  MX_CHECK(s.epoch >= 0, "Loader: call start_epoch before next");
  if (s.consumed == s.batches) return false;
  s.cv.wait(lock, [&] { return s.ready || s.error; });
  if (s.error) std::rethrow_exception(s.error);
  out = std::move(*s.ready);
  s.ready.reset();
  ++s.consumed;
  lock.unlock();
  s.cv.notify_all();
  return true;
}

int64_t Loader::batches_per_epoch() const { return state_->batches; }

}  // namespace mx::data
