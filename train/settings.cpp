// The settings-table machinery (train/settings.h): text conversion, checks, defaults, JSON.
#include "train/settings.h"

#include <cmath>
#include <sstream>

#include "engine/error.h"

namespace mx::train {

namespace {

template <typename T, typename Parse>
void parse_into(T* p, const std::string& text, const Setting& s, Parse parse) {
  size_t used = 0;
  try {
    *p = static_cast<T>(parse(text, &used));
  } catch (const std::exception&) {
    used = 0;
  }
  MX_CHECK(!text.empty() && used == text.size(), s.flag, ": '", text, "' is not a valid value");
}

}  // namespace

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : "|") + n;
  return s;
}

std::string text_of(const ValueRef& v) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, std::string>) return *p;
        else if constexpr (std::is_same_v<T, bool>) return *p ? "true" : "false";
        else {
          std::ostringstream s;
          s << *p;
          return s.str();
        }
      },
      v);
}

double number(const Setting& s) {
  return std::visit(
      [&](auto* p) -> double {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          MX_FAIL(s.flag, ": expected a number");
        } else {
          const auto v = static_cast<double>(*p);
          MX_CHECK(std::isfinite(v), s.flag, ": must be a finite number, got ", text_of(s.value));
          return v;
        }
      },
      s.value);
}

Check above(double lo) {
  return [lo](const Setting& s) { MX_CHECK(number(s) > lo, s.flag, ": must be > ", lo, ", got ", text_of(s.value)); };
}
Check at_least(double lo) {
  return [lo](const Setting& s) { MX_CHECK(number(s) >= lo, s.flag, ": must be >= ", lo, ", got ", text_of(s.value)); };
}
Check fraction() {  // [0, 1)
  return [](const Setting& s) {
    const double v = number(s);
    MX_CHECK(v >= 0 && v < 1, s.flag, ": must be in [0, 1), got ", text_of(s.value));
  };
}
Check required() {
  return [](const Setting& s) { MX_CHECK(!text_of(s.value).empty(), s.flag, ": a value is required"); };
}
Check one_of(std::function<std::vector<std::string>()> known) {
  return [known](const Setting& s) { check_one_of(s.flag, text_of(s.value), known()); };
}

void assign(const Setting& s, const std::string& text) {
  std::visit(
      [&](auto* p) {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, std::string>) *p = text;
        else if constexpr (std::is_same_v<T, bool>) {
          MX_CHECK(text == "true" || text == "false", s.flag, ": '", text, "' is not true or false");
          *p = text == "true";
        } else if constexpr (std::is_same_v<T, float>) parse_into(p, text, s, [](auto& t, size_t* u) { return std::stof(t, u); });
        else if constexpr (std::is_same_v<T, double>) parse_into(p, text, s, [](auto& t, size_t* u) { return std::stod(t, u); });
        else if constexpr (std::is_same_v<T, uint64_t>) {
          MX_CHECK(text.find('-') == std::string::npos, s.flag, ": '", text, "' is not a valid value");
          parse_into(p, text, s, [](auto& t, size_t* u) { return std::stoull(t, u); });
        } else parse_into(p, text, s, [](auto& t, size_t* u) { return std::stoll(t, u); });
      },
      s.value);
}

void apply_defaults(const std::vector<Setting>& rows, size_t column) {
  for (const Setting& s : rows) {
    const char* text = nullptr;
    for (size_t k = 0; k <= column && k < s.defaults.size(); ++k)
      if (s.defaults[k]) text = s.defaults[k];
    if (text) assign(s, text);
  }
}

void check_rows(const std::vector<Setting>& rows) {
  for (const Setting& s : rows) {
    if (!std::holds_alternative<std::string*>(s.value)) number(s);
    if (s.check) s.check(s);
  }
}

nlohmann::json rows_json(const std::vector<Setting>& rows) {
  nlohmann::json j = nlohmann::json::object();
  for (const Setting& s : rows) std::visit([&](auto* p) { j[s.key] = *p; }, s.value);
  return j;
}

}  // namespace mx::train
