// --device resolution. This version's CUDA backend provides memory and the device query; the
// training ops run on the CPU until the CUDA kernels land (DESIGN.md §7, step 2), so a present GPU
// is reported and the CPU is used.
#include "engine/device_select.h"

#include "engine/cuda/runtime.h"

namespace mx {

Device select_device(const std::string& flag, std::string& notice) {
  notice.clear();
  if (flag == "cpu") return Device::CPU;
  MX_CHECK(flag == "auto" || flag == "cuda", "--device: unknown device '", flag, "' (known: auto, cpu, cuda)");
  if (flag == "cuda") {
    MX_CHECK(cuda::built_with_cuda(), "--device cuda: this build has no CUDA backend (configure with -DMIXUP_CUDA=ON)");
    MX_FAIL("--device cuda: ", cuda::device_summary(), "; this version trains on the CPU only, use --device cpu");
  }
  notice = cuda::device_count() == 0 ? "device: " + cuda::device_summary() + "; running on the CPU"
                                     : "device: found " + cuda::device_summary() +
                                           ", but this version trains on the CPU only; running on the CPU";
  return Device::CPU;
}

}  // namespace mx
