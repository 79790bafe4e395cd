// Resolving --device auto|cpu|cuda against what the build and the machine offer.
#pragma once
#include <string>

#include "engine/tensor.h"

namespace mx {

// Returns the device to run on; `notice` receives a one-line explanation when the choice is not
// the obvious one (e.g. auto falling back to the CPU). Throws mx::Error naming --device.
Device select_device(const std::string& flag, std::string& notice);

}  // namespace mx
