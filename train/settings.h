// Settings tables: each command's settings declared once as rows (flag, JSON key, help, default per
// preset, check) that drive its command line (apps/), its config.json, validation and its presets. Used
// by `mixup train` (train/config.h) and `mixup cyclegan` (gan/config.h).
#pragma once
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace mx::train {

// A reference to the value a setting controls.
using ValueRef = std::variant<int*, int64_t*, uint64_t*, float*, double*, bool*, std::string*>;

struct Setting {
  const char* flag;        // "--batch-size"
  const char* key;         // "batch_size" in config.json
  std::string help;
  ValueRef value;
  // Default text per preset (recipe), in the table's preset order; nullptr: as the previous preset (for
  // the first: leave the value as it is, e.g. a MixerOptions default).
  std::vector<const char*> defaults;
  std::function<void(const Setting&)> check;  // throws naming the flag; may be empty
};

using Check = std::function<void(const Setting&)>;

std::string join_names(const std::vector<std::string>& names);  // "a|b|c", for help texts
std::string text_of(const ValueRef& v);                         // the value as the command line writes it
double number(const Setting& s);  // a numeric row's value; throws naming the flag when not finite

// Checks for rows; each throws mx::Error naming the flag.
Check above(double lo);
Check at_least(double lo);
Check fraction();  // [0, 1)
Check required();  // a non-empty string
Check one_of(std::function<std::vector<std::string>()> known);

// Sets a setting from text as the command line would; throws naming the flag.
void assign(const Setting& s, const std::string& text);
// Every row at its default for preset `column` (see Setting::defaults).
void apply_defaults(const std::vector<Setting>& rows, size_t column);
// Every numeric row finite, then every row's check.
void check_rows(const std::vector<Setting>& rows);
nlohmann::json rows_json(const std::vector<Setting>& rows);  // {key: value} for config.json

}  // namespace mx::train
