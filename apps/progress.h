// Progress display for long runs: a live one-line bar on a terminal, plain periodic lines otherwise.
// The bar and periodic lines go to one stream (stderr), permanent lines (results) to another (stdout).
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace mx::app {

class Progress {
 public:
  Progress(std::FILE* bar, std::FILE* lines);  // a live bar when `bar` is a terminal
  // done/total units of work; `label` leads the line, `detail` follows the counts.
  void update(const std::string& label, long long done, long long total, const std::string& detail, double eta_s);
  void line(const std::string& text);  // a permanent line (clears the bar first)

 private:
  std::FILE* out_;
  std::FILE* lines_;
  bool tty_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

std::string format_duration(double seconds);  // "42s", "3m07s", "1h02m"

}  // namespace mx::app
