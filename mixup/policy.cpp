// Parsing and sampling of mode sets and mixing-ratio distributions.
#include "mixup/policy.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "engine/error.h"

namespace mx::mixup {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

double parse_number(const std::string& text, const std::string& flag, const std::string& spec) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  MX_CHECK(!text.empty() && end && *end == '\0' && std::isfinite(v), flag, ": '", text, "' in '", spec,
           "' is not a number");
  return v;
}

Mode mode_of(char c, const std::string& flag, const std::string& spec) {
  switch (c) {
    case 'n': return Mode::N;
    case 'c': return Mode::C;
    case 'h': return Mode::H;
    case 'v': return Mode::V;
    case 'r': return Mode::R;
    default: MX_FAIL(flag, ": unknown mode '", c, "' in '", spec, "' (modes: none, c, h, v, r)");
  }
}

}  // namespace

char mode_letter(Mode m) { return "nchvr"[static_cast<int>(m)]; }

ModeSet ModeSet::parse(const std::string& spec, const std::string& flag) {
  MX_CHECK(!spec.empty(), flag, ": empty mode set (try none, c, hv or \"none:1,hv:3\")");
  ModeSet set;
  double total = 0;
  for (const std::string& entry : split(spec, ',')) {
    std::vector<std::string> parts = split(entry, ':');
    MX_CHECK(parts.size() == 1 || parts.size() == 2, flag, ": entry '", entry, "' of '", spec,
             "' is not MODES or MODES:WEIGHT");
    std::string letters = parts[0] == "none" ? "n" : parts[0];
    MX_CHECK(!letters.empty(), flag, ": entry '", entry, "' of '", spec, "' names no mode");
    const double w = parts.size() == 2 ? parse_number(parts[1], flag, spec) : 1.0;
    MX_CHECK(w >= 0, flag, ": weight ", parts[1], " in '", spec, "' is negative");
    for (char c : letters) {
      Mode m = mode_of(c, flag, spec);
      const double share = w / static_cast<double>(letters.size());
      bool merged = false;
      for (auto& [mm, ww] : set.modes_)
        if (mm == m) ww += share, merged = true;
      if (!merged) set.modes_.emplace_back(m, share);
    }
    total += w;
  }
  MX_CHECK(total > 0, flag, ": the weights in '", spec, "' sum to zero");
  MX_CHECK(std::isfinite(total), flag, ": the weights in '", spec, "' sum to more than a double holds");
  for (auto& mw : set.modes_) mw.second /= total;
  return set;
}

Mode ModeSet::draw(random::Rng& rng) const {
  if (modes_.size() == 1) return modes_[0].first;
  double u = random::uniform01(rng);
  for (const auto& [m, w] : modes_) {
    if (u < w) return m;
    u -= w;
  }
  return modes_.back().first;
}

bool ModeSet::only_none() const {
  for (const auto& mw : modes_)
    if (mw.first != Mode::N && mw.second > 0) return false;
  return true;
}

std::string ModeSet::str() const {
  std::ostringstream os;
  for (size_t i = 0; i < modes_.size(); ++i) os << (i ? "," : "") << mode_letter(modes_[i].first) << ':' << modes_[i].second;
  return os.str();
}

LamDist LamDist::parse(const std::string& spec, const std::string& flag) {
  std::vector<std::string> p = split(spec, ':');
  if (p.empty()) p.emplace_back();  // an empty spec, refused below
  auto num = [&](size_t i) { return parse_number(p[i], flag, spec); };
  auto in01 = [&](double v) {
    MX_CHECK(v >= 0 && v <= 1, flag, ": ", v, " in '", spec, "' is outside [0, 1]");
    return v;
  };
  if (p[0] == "beta" && (p.size() == 2 || p.size() == 3)) {
    const double a = num(1), b = p.size() == 3 ? num(2) : a;
    for (double v : {a, b})
      MX_CHECK(v >= kMinBetaParameter && v <= kMaxBetaParameter, flag, ": Beta parameter ", v, " in '", spec,
               "' is outside [", kMinBetaParameter, ", ", kMaxBetaParameter, "]");
    return LamDist(Kind::Beta, a, b);
  }
  if (p[0] == "uniform" && p.size() == 3) {
    const double lo = in01(num(1)), hi = in01(num(2));
    MX_CHECK(lo <= hi, flag, ": lower bound ", lo, " exceeds upper bound ", hi, " in '", spec, "'");
    return LamDist(Kind::Uniform, lo, hi);
  }
  if (p[0] == "const" && p.size() == 2) {
    const double v = in01(num(1));
    return LamDist(Kind::Const, v, v);
  }
  MX_FAIL(flag, ": '", spec, "' is not beta:A, beta:A:B, uniform:L1:L2 or const:V");
}

double LamDist::draw(random::Rng& rng) const {
  switch (kind_) {
    case Kind::Beta: return random::beta(rng, a_, b_);
    case Kind::Uniform: return a_ + (b_ - a_) * random::uniform01(rng);
    case Kind::Const: return a_;
  }
  return a_;
}

double LamDist::mean() const { return kind_ == Kind::Beta ? a_ / (a_ + b_) : (a_ + b_) / 2; }

double LamDist::variance() const {
  switch (kind_) {
    case Kind::Beta: return a_ * b_ / ((a_ + b_) * (a_ + b_) * (a_ + b_ + 1));
    case Kind::Uniform: return (b_ - a_) * (b_ - a_) / 12;
    case Kind::Const: return 0;
  }
  return 0;
}

std::string LamDist::str() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::Beta: os << "beta:" << a_ << ':' << b_; break;
    case Kind::Uniform: os << "uniform:" << a_ << ':' << b_; break;
    case Kind::Const: os << "const:" << a_; break;
  }
  return os.str();
}

}  // namespace mx::mixup
