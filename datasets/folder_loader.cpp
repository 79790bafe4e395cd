// The streaming folder loader: workers claim whole batches in order, keep at most `ahead` of them
// ready, and the consumer takes them in order; start_epoch drops whatever belongs to the last epoch.
#include "datasets/folder_loader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "datasets/workers.h"
#include "engine/random.h"

namespace mx::data {
namespace {

constexpr uint64_t kCropStream = 4;  // loader.cpp uses streams 1 and 2 of the seed, the trainer 3

}  // namespace

struct FolderLoader::State {
  FolderSplit split;
  FolderLoaderOptions opt;
  int channels = 0, size = 0;
  std::vector<float> table;  // [channel * 256 + pixel] -> normalized value
  int64_t batches = 0, ahead = 0;

  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu. `generation` changes with every start_epoch so the workers drop stale batches.
  int epoch = -1;
  uint64_t generation = 0;
  std::vector<int64_t> order;
  int64_t claimed = 0, consumed = 0;
  std::map<int64_t, Batch> ready;
  std::vector<std::string> warnings;
  std::exception_ptr error;
  bool stop = false;
  std::vector<std::thread> workers;  // last, so they start after everything above exists

  void sample(int64_t file, int sample_epoch, int64_t position, float* out, std::vector<std::string>& lines) const;
  Batch make_batch(const std::vector<int64_t>& ids, int batch_epoch, int64_t first,
                   std::vector<std::string>& lines) const;
  void run();
};

// One image, decoded, transformed and normalized into CHW floats at `out`.
void FolderLoader::State::sample(int64_t file, int sample_epoch, int64_t position, float* out,
                                 std::vector<std::string>& lines) const {
  const size_t plane = static_cast<size_t>(size) * size;
  std::optional<Image> decoded =
      decode_or_warn(split.files[static_cast<size_t>(file)], channels, opt.strict, "--strict-images", lines);
  if (!decoded) {
    std::fill(out, out + plane * channels, 0.f);
    return;
  }
  Image img = std::move(*decoded);
  bool flip = false;
  if (opt.train) {
    random::SplitMix64 g{random::derive_key(
        {opt.seed, kCropStream, static_cast<uint64_t>(sample_epoch), static_cast<uint64_t>(position)})};
    img = resize(img, random_resized_crop(img.width, img.height, g), size, size);
    flip = (g() >> 63) != 0;
  } else {
    img = eval_transform(img, size);
  }
  normalize_planar(img, flip, table, out);
}

Batch FolderLoader::State::make_batch(const std::vector<int64_t>& ids, int batch_epoch, int64_t first,
                                      std::vector<std::string>& lines) const {
  const auto n = static_cast<int64_t>(ids.size());
  Batch b{Tensor::empty({n, channels, size, size}), Tensor::empty({n}, DType::I32)};
  const size_t sample_floats = static_cast<size_t>(channels) * size * size;
  for (int64_t i = 0; i < n; ++i) {
    sample(ids[i], batch_epoch, first + i, b.images.data<float>() + i * sample_floats, lines);
    b.labels.data<int32_t>()[i] = split.labels[static_cast<size_t>(ids[i])];
  }
  return b;
}

void FolderLoader::State::run() {
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    cv.wait(lock, [&] { return stop || (epoch >= 0 && !error && claimed < batches && claimed < consumed + ahead); });
    if (stop) return;
    const uint64_t job = generation;
    const int job_epoch = epoch;
    const int64_t index = claimed++, first = index * opt.batch_size;
    const int64_t count = std::min<int64_t>(opt.batch_size, split.size() - first);
    const std::vector<int64_t> ids(order.begin() + first, order.begin() + first + count);
    lock.unlock();
    std::optional<Batch> batch;
    std::exception_ptr failure;
    std::vector<std::string> lines;
    try {
      batch = make_batch(ids, job_epoch, first, lines);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (job != generation) continue;  // start_epoch came while this batch was being made
    if (failure && !error) error = failure;
    if (batch) ready.emplace(index, std::move(*batch));
    warnings.insert(warnings.end(), lines.begin(), lines.end());
    cv.notify_all();
  }
}

FolderLoader::FolderLoader(const ImageFolder& folder, const FolderSplit& split, const Normalization& norm,
                           const FolderLoaderOptions& opt)
    : state_(std::make_unique<State>()) {
  MX_CHECK(split.size() > 0, "FolderLoader: the split of ", folder.dir, " is empty");
  MX_CHECK(opt.batch_size >= 1, "FolderLoader: batch size must be at least 1, got ", opt.batch_size);
  State& s = *state_;
  s.split = split;
  s.opt = opt;
  s.channels = folder.channels;
  s.size = folder.image_size;
  s.table = normalization_table(norm, folder.channels);
  s.batches = (split.size() + opt.batch_size - 1) / opt.batch_size;
  const int workers = worker_count(opt.workers);
  s.ahead = 2 * workers;
  for (int w = 0; w < workers; ++w) s.workers.emplace_back([&s] { s.run(); });
}

FolderLoader::~FolderLoader() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  for (std::thread& t : state_->workers) t.join();
}

void FolderLoader::start_epoch(int epoch) {
  MX_CHECK(epoch >= 0, "FolderLoader: epoch must not be negative, got ", epoch);
  State& s = *state_;
  std::vector<int64_t> order = sample_order(s.split.size(), s.opt.train, s.opt.seed, epoch);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.epoch = epoch;
    ++s.generation;
    s.order = std::move(order);
    s.claimed = s.consumed = 0;
    s.ready.clear();
    s.warnings.clear();
    s.error = nullptr;
  }
  s.cv.notify_all();
}

bool FolderLoader::next(Batch& out) {
  State& s = *state_;
  std::vector<std::string> lines;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    MX_CHECK(s.epoch >= 0, "FolderLoader: call start_epoch before next");
    if (s.consumed == s.batches) return false;
    s.cv.wait(lock, [&] { return s.ready.count(s.consumed) || s.error; });
    if (s.error) std::rethrow_exception(s.error);
    const auto it = s.ready.find(s.consumed);
    out = std::move(it->second);
    s.ready.erase(it);
    ++s.consumed;
    lines.swap(s.warnings);
  }
  s.cv.notify_all();
  if (s.opt.warn)
    for (const std::string& line : lines) s.opt.warn(line);
  return true;
}

int64_t FolderLoader::batches_per_epoch() const { return state_->batches; }

}  // namespace mx::data
