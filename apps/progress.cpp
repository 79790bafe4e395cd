// Terminal bar (redrawn at most 10 times a second) or a plain line every 15 seconds.
#include "apps/progress.h"

#include <unistd.h>

#include <cmath>

namespace mx::app {

using Clock = std::chrono::steady_clock;

Progress::Progress(std::FILE* bar, std::FILE* lines)
    : out_(bar), lines_(lines), tty_(isatty(fileno(bar)) != 0), last_(Clock::now()) {}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  auto t = static_cast<long long>(s + 0.5);
  if (t < 60) std::snprintf(buf, sizeof buf, "%llds", t);
  else if (t < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  return buf;
}

void Progress::update(const std::string& label, long long done, long long total, const std::string& detail,
                      double eta_s) {
  const double since = std::chrono::duration<double>(Clock::now() - last_).count();
  const bool last_step = done == total;
  if (since < (tty_ ? 0.1 : 15.0) && !last_step) return;
  if (!tty_ && last_step) return;  // the caller prints a permanent line at the end of each unit
  last_ = Clock::now();
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(kWidth, ' ');
    std::fprintf(out_, "\r\033[K%s [%s] %lld/%lld %s ETA %s", label.c_str(), bar.c_str(), done, total,
                 detail.c_str(), format_duration(eta_s).c_str());
    bar_shown_ = true;
  } else {
    std::fprintf(out_, "%s %lld/%lld %s ETA %s\n", label.c_str(), done, total, detail.c_str(),
                 format_duration(eta_s).c_str());
  }
  std::fflush(out_);
}

void Progress::line(const std::string& text) {
  if (bar_shown_) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
  }
  bar_shown_ = false;
  std::fprintf(lines_, "%s\n", text.c_str());
  std::fflush(lines_);
}

}  // namespace mx::app
