// --device resolution: auto takes the GPU when the build has the CUDA backend and the machine a GPU,
// and otherwise the CPU, saying so in one line; cuda insists on the GPU.
#include "engine/device_select.h"

#include "engine/cuda/runtime.h"

namespace mx {

Device select_device(const std::string& flag, std::string& notice) {
  notice.clear();
  if (flag == "cpu") return Device::CPU;
  MX_CHECK(flag == "auto" || flag == "cuda", "--device: unknown device '", flag, "' (known: auto, cpu, cuda)");
  const bool gpu = cuda::device_count() > 0;
  if (flag == "cuda") {
    MX_CHECK(cuda::built_with_cuda(), "--device cuda: this build has no CUDA backend (configure with -DMIXUP_CUDA=ON)");
    MX_CHECK(gpu, "--device cuda: ", cuda::device_summary(), "; use --device cpu");
    return Device::CUDA;
  }
  if (!gpu) {
    notice = "device: " + cuda::device_summary() + "; running on the CPU";
    return Device::CPU;
  }
  notice = "device: " + cuda::device_summary();
  return Device::CUDA;
}

}  // namespace mx
