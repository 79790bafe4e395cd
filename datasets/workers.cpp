// Worker threads for the image-folder readers.
#include "datasets/workers.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mx::data {

int worker_count(int workers) {
  return workers > 0 ? workers : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void parallel_for(int64_t n, int workers, const std::function<void(int64_t)>& fn) {
  const auto threads = static_cast<int>(std::min<int64_t>(worker_count(workers), std::max<int64_t>(n, 1)));
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  auto run = [&] {
    for (int64_t i = next++; i < n; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace mx::data
