// The memory checks of train/sizes.h: estimated bytes against what the device can hold.
#include "train/sizes.h"

#include <cstdio>

#include "engine/error.h"
#include "engine/memory.h"

namespace mx::train {

namespace {

std::string whole_bytes(double bytes) {  // "25088000000000 bytes"
  char whole[48];
  std::snprintf(whole, sizeof whole, "%.0f bytes", bytes);
  return whole;
}

std::string capacity_text(Device dev) {
  const std::string bytes = bytes_text(static_cast<double>(memory_capacity(dev)));
  return dev == Device::CUDA ? bytes + " free on the GPU" : bytes + " of physical memory of this machine";
}

}  // namespace

double step_bytes(int64_t batch, int channels, int side) {
  return kStepBytesPerInputByte * static_cast<double>(batch) * channels * side * side * sizeof(float);
}

void check_step_fits(int64_t batch, int channels, int side, Device dev, bool image_size_flag) {
  const double need = step_bytes(batch, channels, side), input = need / kStepBytesPerInputByte;
  if (need <= static_cast<double>(memory_capacity(dev))) return;
  const std::string flags = image_size_flag ? "--batch-size " + std::to_string(batch) + " with --image-size " +
                                                  std::to_string(side)
                                            : "--batch-size " + std::to_string(batch);
  MX_FAIL(flags, ": a training step of ", batch, " images of ", channels, "x", side, "x", side, " needs at least ",
          whole_bytes(need), " (", bytes_text(need), ": ", kStepBytesPerInputByte, " x its float input batch of ",
          bytes_text(input), "), more than the ", capacity_text(dev), "; reduce --batch-size", image_size_flag ? " or --image-size" : "");
}

void check_decoded_fits(int64_t images, int channels, int side, const std::string& dir) {
  const double need = static_cast<double>(images) * channels * side * side;
  if (need <= static_cast<double>(memory_capacity(Device::CPU))) return;
  MX_FAIL("--image-size ", side, ": decoding the ", images, " images of ", dir, " into memory needs ",
          whole_bytes(need), " (", bytes_text(need), "), more than the ", capacity_text(Device::CPU),
          "; use --augment rrc to stream them, or a smaller --image-size");
}

}  // namespace mx::train
