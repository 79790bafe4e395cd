// libFuzzer target: the parsers of --mix (mixup::ModeSet::parse) and of --lam-x / --lam-l
// (mixup::LamDist::parse). The input is up to three lines, one per flag. mx::Error is a rejection; a
// parsed mode set must have finite weights summing to 1 and a parsed distribution must draw ratios in
// [0, 1] with a finite mean and variance.
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "engine/error.h"
#include "mixup/policy.h"

namespace {

void check_mode_set(const std::string& spec) {
  const mx::mixup::ModeSet set = mx::mixup::ModeSet::parse(spec, "--mix");
  double total = 0;
  for (const auto& mode_weight : set.modes()) {
    if (!(mode_weight.second >= 0 && mode_weight.second <= 1 + 1e-12)) __builtin_trap();  // 1 up to rounding
    total += mode_weight.second;
  }
  if (std::abs(total - 1) > 1e-9) __builtin_trap();
  mx::random::Rng rng(1);
  for (int i = 0; i < 4; ++i) set.draw(rng);
}

void check_distribution(const std::string& spec, const char* flag) {
  const mx::mixup::LamDist d = mx::mixup::LamDist::parse(spec, flag);
  if (!std::isfinite(d.mean()) || !std::isfinite(d.variance())) __builtin_trap();
  mx::random::Rng rng(1);
  for (int i = 0; i < 4; ++i) {
    const double lam = d.draw(rng);
    if (!(lam >= 0 && lam <= 1)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string mix, lam_x, lam_l;
  std::getline(in, mix);
  std::getline(in, lam_x);
  std::getline(in, lam_l);
  try {
    check_mode_set(mix);
  } catch (const mx::Error&) {
  }
  try {
    check_distribution(lam_x, "--lam-x");
  } catch (const mx::Error&) {
  }
  try {
    check_distribution(lam_l, "--lam-l");
  } catch (const mx::Error&) {
  }
  return 0;
}
