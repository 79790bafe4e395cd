// The SIGINT/SIGTERM handlers of engine/interrupt.h: async-signal-safe (a lock-free atomic and
// write/_exit only).
#include "engine/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <string>

namespace mx::interrupt {

namespace {

std::atomic<int> first_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

void on_signal(int sig) {
  int none = 0;
  if (first_signal.compare_exchange_strong(none, sig)) {
    static const char kFirst[] = "\nmixup: stopping after this step and saving (a second Ctrl-C stops at once)\n";
    (void)!::write(STDERR_FILENO, kFirst, sizeof kFirst - 1);
    return;
  }
  static const char kSecond[] = "\nmixup: second signal, stopping at once without saving\n";
  (void)!::write(STDERR_FILENO, kSecond, sizeof kSecond - 1);
  ::_exit(128 + sig);
}

}  // namespace

void install() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in flight go on; the job looks at the flag itself
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int requested() { return first_signal.load(); }

void request(int sig) {
  int none = 0;
  first_signal.compare_exchange_strong(none, sig);
}

void clear() { first_signal.store(0); }

const char* signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "a signal";
}

std::string place(int64_t epochs_done, int64_t step, bool epoch_end) {
  if (epoch_end) return "the end of epoch " + std::to_string(epochs_done);
  return "epoch " + std::to_string(epochs_done + 1) + " step " + std::to_string(step);
}

}  // namespace mx::interrupt
