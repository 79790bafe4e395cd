// The streaming loader of an image folder (`--augment rrc`): the files of each batch are decoded and
// transformed on `workers` threads, several batches ahead of the consumer. Training: a shuffled order
// (epoch_order), torchvision's RandomResizedCrop to the folder's image size, a horizontal flip with
// probability 1/2; evaluation: the folder's order and eval_transform. Sample i of epoch e is drawn
// from a SplitMix64 stream keyed by (seed, e, i), so the batches depend on the seed, never on the
// worker count or on timing.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "datasets/image_folder.h"
#include "datasets/loader.h"

namespace mx::data {

struct FolderLoaderOptions {
  int batch_size = 128;
  bool train = true;  // shuffle, crop and flip; false: folder order and the evaluation transform
  int workers = 0;    // 0: one per core
  // A file that fails to decode stops the epoch with `strict`; otherwise it is warned about and its
  // image is all zeros after normalization (the channel means).
  bool strict = false;
  uint64_t seed = 0;
  std::function<void(const std::string&)> warn;  // called from next(), on the consumer's thread
  Shard shard;  // this rank's part of every epoch (data-parallel training)
};

class FolderLoader : public BatchSource {
 public:
  FolderLoader(const ImageFolder& folder, const FolderSplit& split, const Normalization& norm,
               const FolderLoaderOptions& opt);
  ~FolderLoader() override;
  FolderLoader(const FolderLoader&) = delete;
  FolderLoader& operator=(const FolderLoader&) = delete;

  void start_epoch(int epoch, int64_t first_batch = 0) override;
  bool next(Batch& out) override;
  int64_t batches_per_epoch() const override;

 private:
  struct State;  // the files, options and the workers' shared state
  std::unique_ptr<State> state_;
};

}  // namespace mx::data
