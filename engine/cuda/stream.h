// The compute stream of this process (one per rank): every launch, library call, memset and copy of
// the CUDA backend is queued on it, so they run in program order without further synchronisation.
#pragma once
#include <cuda_runtime.h>

namespace mx::cuda {

// On first use: selects the current device, creates the stream and sets up the memory pool; throws
// mx::Error when there is no device.
cudaStream_t current_stream();
int multiprocessor_count();  // of the current device

}  // namespace mx::cuda
