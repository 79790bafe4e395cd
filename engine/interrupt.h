// A graceful stop of the long jobs (train, cyclegan, landscape) on SIGINT or SIGTERM. The first signal
// only records itself: the job notices it between two steps, saves what it has (atomically), and ends
// by throwing Stopped, which the command line turns into its message and exit status 128 + signal
// (130 for SIGINT, 143 for SIGTERM). A second signal ends the process at once with that status.
#pragma once
#include <cstdint>
#include <exception>
#include <string>

namespace mx::interrupt {

void install();         // the handlers for SIGINT and SIGTERM (idempotent)
int requested();        // 0, or the signal that asked for the stop
void request(int sig);  // as if `sig` had arrived once (tests, and ranks that learn of a peer's signal)
void clear();           // forgets a request (tests)
const char* signal_name(int sig);  // "SIGINT", "SIGTERM" or "a signal"

// Where a training loop stopped: "the end of epoch E" once `epochs_done` = E epochs are complete, or
// "epoch E step S" in the middle of epoch E = epochs_done + 1 after S of its steps.
std::string place(int64_t epochs_done, int64_t step, bool epoch_end);

// What a job throws after it saved its state on request. Its message is the signal's name and `what`:
// where the job stopped and what it saved ("SIGTERM: stopped at epoch 2 step 40; saved OUT/...").
class Stopped : public std::exception {
 public:
  Stopped(int signal, const std::string& what) : signal_(signal), message_(signal_name(signal) + (": " + what)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  int signal() const { return signal_; }
  int exit_status() const { return 128 + signal_; }
  Stopped noted(const std::string& note) const {  // the same stop, `note` appended to its message
    Stopped s = *this;
    s.message_ += note;
    return s;
  }

 private:
  int signal_;
  std::string message_;
};

}  // namespace mx::interrupt
