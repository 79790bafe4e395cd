// expect_error: runs a callable that must throw a one-line mx::Error containing every given fragment.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "engine/error.h"

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

}  // namespace mx::test
