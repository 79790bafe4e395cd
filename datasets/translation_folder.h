// Image-translation data for (Mix)CycleGAN and pix2pix in the layouts of junyanz/pytorch-CycleGAN-and-pix2pix:
// the scan of an unaligned folder (DIR/trainA, DIR/trainB, DIR/testA, DIR/testB) or an aligned one
// (DIR/train, DIR/test or DIR/val, each image A|B side by side), and the loader that decodes, resizes,
// crops, flips and normalizes pairs of images into batches on worker threads.
//
// Semantics (junyanz's UnalignedDataset and AlignedDataset):
// - Unaligned, training: an epoch has max(|A|, |B|) samples, visited in a shuffled order; sample idx takes
//   A[idx % |A|] and a uniformly random B image. Evaluation: in order, A[i % |A|] and B[i % |B|].
// - Aligned: one sample per file, the left half (width / 2 columns) is A, the rest B; both halves get
//   the same crop and flip. --direction BtoA swaps the domains (aligned: the halves).
// - Training transform: resize to load_size x load_size (junyanz uses bicubic; we use image_folder's
//   triangle-filter resize(), and an image already load_size x load_size passes through untouched),
//   a random crop_size crop, a horizontal flip with probability 1/2 (when `flip`). Evaluation: the same
//   resize and the centred crop, no flip.
// - Pixels become (p / 255 - 0.5) / 0.5, in [-1, 1]; a grey image in a colour set is expanded to RGB.
// - Every random draw of sample i of epoch e comes from a SplitMix64 stream keyed by (seed, e, i): the
//   batches depend on the seed and epoch only, never on the worker count, and a run resumed at an
//   epoch start replays it exactly. Partners (opt.partners) are drawn from the same stream: an image of
//   the same domain other than the sample's own (itself when the domain has one image), with its own
//   crop and flip; aligned partners are one other file, so a_partner and b_partner stay a pair.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mx::data {

struct TranslationOptions {
  std::string layout = "auto";           // auto | unaligned | aligned (--layout)
  std::string direction = "AtoB";        // AtoB | BtoA (--direction): BtoA swaps the two domains
  int load_size = 286, crop_size = 256;  // --load-size, --crop-size
  bool flip = true;                      // random horizontal flip in training
  bool partners = false;                 // also load one random partner image per sample and domain (for stitching)
  int channels = 0;                      // 0: 3 when any image is colour, else 1
  int workers = 0;                       // decoding threads, 0: one per core
  std::function<void(const std::string&)> warn;  // one line per skipped or blanked image
  // An undecodable image stops the scan or the epoch instead of being skipped (scan) or replaced by a
  // blank image (loader) with a warning (--strict-images).
  bool strict = false;
};

struct TranslationFolder {
  std::string dir, phase;  // phase: "train" or "test"
  bool aligned = false;
  std::vector<std::string> a, b;  // sorted files of each domain (after the direction); aligned: a holds the files
  int channels = 0;
  bool swapped = false;  // --direction BtoA (aligned: the loader takes A from the right half)
  int64_t non_images = 0, undecodable = 0;
  int64_t size() const;  // samples per epoch: max(|A|, |B|), aligned: the files
  // "D: unaligned train, 1067 A and 1334 B images, 3-channel, AtoB; 0 non-image files skipped"
  std::string summary() const;
};

// phase "train" or "test". Unaligned: DIR/<phase>A and DIR/<phase>B. Aligned: DIR/<phase>/ (for "test",
// DIR/test/ or else DIR/val/). --layout auto decides from the folders present; both layouts or neither
// is a one-line error naming DIR and what was found. Image files are those of list_images (subfolders
// included); undecodable headers are warned about and skipped, or stop the scan with `strict`. Throws
// naming the path for a missing folder, an empty domain, or an aligned image narrower than 2 pixels.
TranslationFolder scan_translation_folder(const std::string& dir, const std::string& phase,
                                          const TranslationOptions& opt);

struct TranslationBatch {
  Tensor a, b;                  // F32 [N, C, crop, crop] on the host, (pixel / 255 - 0.5) / 0.5, in [-1, 1]
  Tensor a_partner, b_partner;  // same shape, only with opt.partners: random other images of the same domain
  std::vector<std::string> a_paths, b_paths;  // aligned: the same file on both sides
};

class TranslationLoader {
 public:
  // train: shuffled order, random B (unaligned), random crop and flip; false: the evaluation order and
  // transform. Throws for load_size < crop_size, a crop_size below 1, a batch size below 1.
  TranslationLoader(const TranslationFolder& f, const TranslationOptions& opt, bool train, int64_t batch_size,
                    uint64_t seed);
  ~TranslationLoader();
  TranslationLoader(const TranslationLoader&) = delete;
  TranslationLoader& operator=(const TranslationLoader&) = delete;

  int64_t batches_per_epoch() const;  // ceil(size / batch), the last batch may be short
  // All randomness of the epoch from (seed, epoch); from batch `first_batch` on (a resumed run).
  void start_epoch(int epoch, int64_t first_batch = 0);
  bool next(TranslationBatch& out);   // false after the last batch of the epoch; warnings go to opt.warn

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mx::data
