// The single-process communicator (rank 0 of 1: every collective leaves its buffer as it is), and the
// job abort that every backend shares.
#include "engine/dist/comm.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "engine/error.h"

namespace mx::dist {

namespace {
struct Done final : Request {
  void wait() override {}
};
}  // namespace

std::unique_ptr<Request> SingleProcess::start_all_reduce(void*, int64_t, Elem, Device, Reduce) {
  return std::make_unique<Done>();
}

// The first thread to get here reports and ends the process; any other (a watchdog and the main
// thread can fail at once) waits for that end, so the job says one line.
void Communicator::abort_job(const std::string& message) {
  static std::atomic<bool> aborting{false};
  while (aborting.exchange(true)) std::this_thread::sleep_for(std::chrono::seconds(1));
  std::fprintf(stderr, "mixup: error: %s\n", message.c_str());
  std::fflush(stderr);
  abort_all(message);
  std::_Exit(1);
}

void SingleProcess::abort_all(const std::string&) {}

}  // namespace mx::dist
