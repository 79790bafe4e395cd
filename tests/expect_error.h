// expect_error: runs a callable that must throw a one-line mx::Error containing every given fragment.
// expect_stopped: runs a job that a stop request must end with interrupt::Stopped.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "engine/error.h"
#include "engine/interrupt.h"

namespace mx::test {

template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an mx::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
    for (const std::string& part : fragments)
      EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;
  }
}

// The job must throw interrupt::Stopped with exit status `status` and `fragment` in its message. A job
// that does not stop is a fatal failure of this helper: wrap the call in ASSERT_NO_FATAL_FAILURE where
// the test must end there.
template <typename F>
void expect_stopped(F&& job, int status, const std::string& fragment) {
  try {
    job();
  } catch (const interrupt::Stopped& e) {
    EXPECT_EQ(e.exit_status(), status);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    return;
  }
  FAIL() << "a stop request must end the job";
}

}  // namespace mx::test
