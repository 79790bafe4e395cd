// The devices a tensor can live on and a kernel can run on; header-only, so kernels/ can name a
// backend (kernels::relu_forward<Device::CUDA>) without linking the engine.
#pragma once
#include <cstdint>

namespace mx {

enum class Device : uint8_t { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace mx
