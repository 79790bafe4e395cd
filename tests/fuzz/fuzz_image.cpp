// libFuzzer target: image decoding of the folder reader (data::decode_image_bytes, stb_image behind the
// dimension check) and the transforms every decoded image goes through: the evaluation resize and
// centre crop, and the training RandomResizedCrop. The first byte picks grey or RGB and the output
// size, the second the crop's seed; the rest is the file. mx::Error is a rejection.
#include <cstdint>
#include <string>

#include "datasets/image_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int channels = data[0] & 1 ? 3 : 1, out = 1 + (data[0] >> 1) % 64;
  const std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  try {
    const mx::data::Image img = mx::data::decode_image_bytes(bytes, channels, "fuzz.png");
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * channels) __builtin_trap();
    const mx::data::Image eval = mx::data::eval_transform(img, out);
    if (eval.width != out || eval.height != out) __builtin_trap();
    mx::random::SplitMix64 g{data[1]};
    const mx::data::Box box = mx::data::random_resized_crop(img.width, img.height, g);
    const mx::data::Image train = mx::data::resize(img, box, out, out);
    if (train.pixels.size() != static_cast<size_t>(out) * out * channels) __builtin_trap();
  } catch (const mx::Error&) {
  }
  return 0;
}
