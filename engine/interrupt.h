// A graceful stop of the long jobs (train, cyclegan, landscape) on SIGINT or SIGTERM. The first signal
// only records itself: the job notices it between two steps, saves what it has (atomically), and ends
// by throwing Stopped, which the command line turns into its message and exit status 128 + signal
// (130 for SIGINT, 143 for SIGTERM). A second signal ends the process at once with that status.
#pragma once
#include <exception>
#include <string>
#include <utility>

namespace mx::interrupt {

void install();         // the handlers for SIGINT and SIGTERM (idempotent)
int requested();        // 0, or the signal that asked for the stop
void request(int sig);  // as if `sig` had arrived once (tests, and ranks that learn of a peer's signal)
void clear();           // forgets a request (tests)
const char* signal_name(int sig);  // "SIGINT", "SIGTERM" or "a signal"

// What a job throws after it saved its state on request. `message` says where it stopped, what was
// saved and the command line that resumes it.
class Stopped : public std::exception {
 public:
  Stopped(int signal, std::string message) : signal_(signal), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  int signal() const { return signal_; }
  int exit_status() const { return 128 + signal_; }

 private:
  int signal_;
  std::string message_;
};

}  // namespace mx::interrupt
