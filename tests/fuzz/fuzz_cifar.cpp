// libFuzzer target: the CIFAR-10 / CIFAR-100 record reader (data::parse_cifar10 / parse_cifar100). The
// first byte picks the format, the rest is the file. mx::Error is a rejection; a parsed dataset must
// hold one image per record and labels within the classes.
#include <cstdint>
#include <string>

#include "datasets/datasets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool hundred = data[0] & 1;
  try {
    const mx::data::Dataset d =
        hundred ? mx::data::parse_cifar100(bytes, "fuzz.bin") : mx::data::parse_cifar10(bytes, "fuzz.bin");
    if (d.size() * static_cast<int64_t>(hundred ? 3074 : 3073) != static_cast<int64_t>(bytes.size())) __builtin_trap();
    for (int32_t label : d.labels.to_vector<int32_t>())
      if (label < 0 || label >= d.num_classes) __builtin_trap();
  } catch (const mx::Error&) {
  }
  return 0;
}
