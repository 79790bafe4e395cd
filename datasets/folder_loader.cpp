// The streaming folder loader: a BatchPipeline (batch_pipeline.h) whose batches are the epoch's order cut
// into batch_size pieces, each image decoded and transformed by sample().
#include "datasets/folder_loader.h"

#include <algorithm>
#include <optional>

#include "datasets/batch_pipeline.h"
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
  int64_t batches = 0;
  int epoch = -1;
  std::unique_ptr<BatchPipeline<Batch>> pipeline;  // last, so that its workers stop first

  void sample(int64_t file, int sample_epoch, int64_t position, float* out, std::vector<std::string>& lines) const;
  Batch make_batch(const std::vector<int64_t>& ids, int batch_epoch, int64_t first,
                   std::vector<std::string>& lines) const;
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
  Batch b{Tensor::empty({n, channels, size, size}), Tensor::empty({n}, DType::I32), {}};
  const size_t sample_floats = static_cast<size_t>(channels) * size * size;
  for (int64_t i = 0; i < n; ++i) {
    sample(ids[i], batch_epoch, first + i, b.images.data<float>() + i * sample_floats, lines);
    b.labels.data<int32_t>()[i] = split.labels[static_cast<size_t>(ids[i])];
  }
  return b;
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
  s.batches = shard_steps(split.size(), opt.batch_size, opt.shard);
  const int workers = worker_count(opt.workers);
  s.pipeline = std::make_unique<BatchPipeline<Batch>>(workers, 2 * workers);
}

FolderLoader::~FolderLoader() = default;

void FolderLoader::start_epoch(int epoch, int64_t first_batch) {
  MX_CHECK(epoch >= 0, "FolderLoader: epoch must not be negative, got ", epoch);
  State& s = *state_;
  MX_CHECK(first_batch >= 0 && first_batch <= s.batches, "FolderLoader: first batch ", first_batch, " of an epoch of ",
           s.batches);
  s.epoch = epoch;
  const auto order =
      std::make_shared<const std::vector<int64_t>>(sample_order(s.split.size(), s.opt.train, s.opt.seed, epoch));
  s.pipeline->start(s.batches, [&s, order, epoch](int64_t index, std::vector<std::string>& lines) {
    const auto [first, count] = shard_span(s.split.size(), s.opt.batch_size, s.opt.shard, index);
    const std::vector<int64_t> ids(order->begin() + first, order->begin() + first + count);
    return s.make_batch(ids, epoch, first, lines);
  }, first_batch);
}

bool FolderLoader::next(Batch& out) {
  State& s = *state_;
  MX_CHECK(s.epoch >= 0, "FolderLoader: call start_epoch before next");
  std::vector<std::string> lines;
  if (!s.pipeline->next(out, lines)) return false;
  if (s.opt.warn)
    for (const std::string& line : lines) s.opt.warn(line);
  return true;
}

int64_t FolderLoader::batches_per_epoch() const { return state_->batches; }

}  // namespace mx::data
