// libFuzzer target: the safetensors checkpoint reader (checkpoint::parse, what checkpoint::load runs on
// a file's bytes). The input is the file. mx::Error is a rejection; every tensor read must hold
// exactly its shape's bytes and, all together, no more than the file.
#include <cstdint>
#include <string>

#include "engine/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const mx::checkpoint::File f = mx::checkpoint::parse(bytes, "fuzz.safetensors");
    size_t total = 0;
    for (const auto& entry : f.tensors) total += entry.second.nbytes();
    if (total > size) __builtin_trap();
  } catch (const mx::Error&) {
  }
  return 0;
}
