// The per-channel normalization as checkpoint metadata, so an analysis normalizes test images exactly
// as training did.
#include <cstdio>
#include <sstream>

#include "datasets/datasets.h"

namespace mx::data {

namespace {

std::string float_list(const std::vector<float>& v) {
  std::string s;
  char buf[32];
  for (float x : v) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x));
    s += (s.empty() ? "" : ",") + std::string(buf);
  }
  return s;
}

std::vector<float> parse_float_list(const std::string& path, const std::string& key, const std::string& text) {
  std::vector<float> out;
  std::istringstream in(text);
  std::string item;
  try {
    while (std::getline(in, item, ',')) out.push_back(std::stof(item));
  } catch (const std::exception&) {
    MX_FAIL("--checkpoint ", path, ": metadata ", key, " is not a list of numbers: '", text, "'");
  }
  return out;
}

}  // namespace

void put_normalization(checkpoint::Metadata& meta, const Normalization& norm) {
  meta["norm_mean"] = float_list(norm.mean);
  meta["norm_std"] = float_list(norm.std);
}

std::optional<Normalization> get_normalization(const checkpoint::Metadata& meta, const std::string& path,
                                               int channels) {
  if (!meta.count("norm_mean") || !meta.count("norm_std")) return std::nullopt;
  Normalization norm{parse_float_list(path, "norm_mean", meta.at("norm_mean")),
                     parse_float_list(path, "norm_std", meta.at("norm_std"))};
  const auto c = static_cast<size_t>(channels);
  MX_CHECK(norm.mean.size() == c && norm.std.size() == c, "--checkpoint ", path, ": normalization for ",
           norm.mean.size(), " channels, the dataset has ", c);
  return norm;
}

}  // namespace mx::data
