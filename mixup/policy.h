// Mixing policies as the user writes them: mode sets with weights (--mix "none:1,hv:3") and
// distributions of the mixing ratio (--lam-x beta:1, uniform:0.3:0.7, const:0.5). Parsing errors
// name the flag and the offending text.
#pragma once
#include <string>
#include <vector>

#include "engine/random.h"

namespace mx::mixup {

// N: clean sample; C: channel interpolation; H: horizontal seam (rows [0, P) from x1); V: vertical
// seam (columns [0, P) from x1); R: a rectangle of x2 pasted into x1.
enum class Mode { N, C, H, V, R };
char mode_letter(Mode m);  // 'n', 'c', 'h', 'v', 'r'

// A weighted set of modes. "hv" means H or V with equal probability; "h:1,c:2" weighs H 1 and C 2;
// "none:1,hv:3" keeps a quarter of the draws clean. Entry weights are split evenly over the letters
// of a multi-letter entry. "none" (or "n") alone is ERM.
class ModeSet {
 public:
  static ModeSet parse(const std::string& spec, const std::string& flag = "--mix");
  Mode draw(random::Rng& rng) const;
  const std::vector<std::pair<Mode, double>>& modes() const { return modes_; }  // normalized weights
  bool only_none() const;
  std::string str() const;  // canonical form, e.g. "h:0.5,v:0.5"

 private:
  std::vector<std::pair<Mode, double>> modes_;
};

// The Beta parameters taken (beta:A, beta:A:B, --alpha): from 0.05, below which both Gamma draws of the
// sampler can underflow to 0 (a ratio 0/0), to 1e6, beyond which Beta is a constant in all but name.
constexpr double kMinBetaParameter = 0.05, kMaxBetaParameter = 1e6;

// A distribution on [0, 1]: beta:a (symmetric Beta(a, a)), beta:a:b, uniform:l1:l2, const:v.
class LamDist {
 public:
  static LamDist parse(const std::string& spec, const std::string& flag);
  static LamDist beta(double alpha) { return LamDist(Kind::Beta, alpha, alpha); }
  double draw(random::Rng& rng) const;
  double mean() const;
  double variance() const;
  std::string str() const;

 private:
  enum class Kind { Beta, Uniform, Const };
  LamDist(Kind k, double a, double b) : kind_(k), a_(a), b_(b) {}
  Kind kind_;
  double a_, b_;
};

}  // namespace mx::mixup
