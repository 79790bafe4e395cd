// Batch loader: shuffles, augments (random translation with zero padding, horizontal flip), normalizes
// to F32 and prepares the next batch on a background thread, or, with deferred pixels, only says which
// stored image each sample is and how it is augmented. BatchSource is what training and
// evaluation read batches from: this in-memory Loader or the streaming FolderLoader (folder_loader.h). The order and augmentation of epoch e
// depend only on (seed, e), so a resumed run sees the same batches as an uninterrupted one.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "datasets/datasets.h"
#include "datasets/shard.h"
#include "kernels/augment_mix.h"

namespace mx::data {

struct LoaderOptions {
  int batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;
  bool flip = false;     // horizontal flip with probability 1/2
  int translate = 0;     // random shift by up to this many pixels each way, zero fill
  uint64_t seed = 0;
  Shard shard;           // this rank's part of every epoch (data-parallel training)
  // Leave the pixels to the consumer: a batch holds no images, only which stored image each sample is
  // and how it is augmented (Batch::augment), for ops::augment_mix to build where the images are kept.
  bool defer_pixels = false;
};

struct Batch {
  Tensor images;  // [B, C, H, W] F32 normalized, CPU; undefined when the pixels are deferred
  Tensor labels;  // [B] I32, CPU
  std::vector<kernels::AugmentSample> augment;  // with deferred pixels: per sample, its image and augmentation
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Begins preparing the batches of this epoch from batch `first_batch` on (a run resumed mid-epoch
  // skips those it trained); every batch is the same whatever the first.
  virtual void start_epoch(int epoch, int64_t first_batch = 0) = 0;
  virtual bool next(Batch& out) = 0;        // false at the end of the epoch
  virtual int64_t batches_per_epoch() const = 0;
};

class Loader : public BatchSource {
 public:
  Loader(const Dataset& data, const Normalization& norm, const LoaderOptions& opt);
  ~Loader() override;
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  void start_epoch(int epoch, int64_t first_batch = 0) override;
  bool next(Batch& out) override;
  int64_t batches_per_epoch() const override;

 private:
  struct State;  // the dataset, options and the background worker's shared state
  std::unique_ptr<State> state_;
};

// The lookup table [channel * 256 + pixel] -> (pixel / 255 - mean) / std; throws unless `norm` has
// `channels` entries with positive stds.
std::vector<float> normalization_table(const Normalization& norm, int channels);

// The sample order of one epoch: 0..n-1 shuffled by Fisher-Yates with a std::mt19937_64 seeded from
// (seed, epoch), so every standard library yields the same order.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch);
// What a loader visits in an epoch: epoch_order when `shuffle`, else 0..n-1 in order.
std::vector<int64_t> sample_order(int64_t n, bool shuffle, uint64_t seed, int epoch);

// One image [channels, height, width] moved by (dx, dy) pixels (content goes right and down for positive
// values) with zero fill, then mirrored left-right when `flip` is set. src and dst must not overlap.
void shift_and_flip(const uint8_t* src, uint8_t* dst, int channels, int height, int width, int dx, int dy,
                    bool flip);

}  // namespace mx::data
