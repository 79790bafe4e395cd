// `mixup preview`: a PNG grid of one training batch after mixing, each tile captioned with its mode,
// its two labels and their weights, so a user can see what a mixing setting does.
#pragma once
#include <string>

#include "mixup/mixer.h"

namespace mx::viz {

struct PreviewConfig {
  std::string dataset = "fashion-mnist";
  std::string data_dir;  // empty: the dataset's default
  mixup::MixerOptions mix;
  int count = 16;    // images in the batch
  int columns = 8;
  int scale = 4;     // pixels per image pixel
  uint64_t seed = 0;
  std::string out = "preview.png";
};

// Writes the PNG (atomically) and returns a one-line description of what it shows.
std::string write_preview(const PreviewConfig& config);

}  // namespace mx::viz
