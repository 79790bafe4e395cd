// Resolving --device auto|cpu|cuda against what the build and the machine offer.
#pragma once
#include <string>

#include "engine/tensor.h"

namespace mx {

// Returns the device to run on; for auto, `notice` receives one line naming the GPU chosen or saying
// why the CPU is used. Throws mx::Error naming --device.
Device select_device(const std::string& flag, std::string& notice);

}  // namespace mx
