// Sizes that cannot fit in memory, refused before anything that large is allocated, with the bytes
// they would need. A training step holds at least kStepBytesPerInputByte bytes per byte of its float
// input batch (batch x channels x side x side x 4 bytes): three copies of the batch (the loader's, the
// training device's, the mixed one) and the output of the first convolution, which in every model of
// the zoo holds at least five times the input's values (ResNet-50: 64 channels at half the side of 3;
// quicknet: 16 channels at the side of 1), kept for backward. It is a lower bound, so a size it passes
// may still run out of memory later; the allocation then fails with the bytes it asked for
// (mx::OutOfMemory), which the trainer reports with the batch size.
#pragma once
#include <cstdint>
#include <string>

#include "engine/device.h"

namespace mx::train {

constexpr double kStepBytesPerInputByte = 8;

// That lower bound in bytes, for a step of `batch` images of channels x side x side.
double step_bytes(int64_t batch, int channels, int side);
// Against memory_capacity(dev) (engine/memory.h). Throws naming --batch-size, and --image-size when
// `image_size_flag` (image folders, whose side is a setting).
void check_step_fits(int64_t batch, int channels, int side, Device dev, bool image_size_flag);
// An image folder decoded into host memory: images x channels x side x side bytes. Throws naming
// --image-size.
void check_decoded_fits(int64_t images, int channels, int side, const std::string& dir);

}  // namespace mx::train
