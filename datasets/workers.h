// The decoding threads of the image-folder readers: how many, and a parallel loop over them that
// passes the first exception back to the caller.
#pragma once
#include <cstdint>
#include <functional>

namespace mx::data {

int worker_count(int workers);  // workers, or one per core when workers <= 0

// Calls fn(i) for every i in [0, n) on worker_count(workers) threads (the caller's among them); after
// an exception the remaining indices are abandoned and the first exception is rethrown.
void parallel_for(int64_t n, int workers, const std::function<void(int64_t)>& fn);

}  // namespace mx::data
