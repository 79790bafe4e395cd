// load_initial_weights: the file's tensors into a model by name, re-initialising a classifier sized for
// another class count.
#include "train/init_weights.h"

#include <map>

#include "engine/checkpoint.h"

namespace mx::train {

namespace {

// Same rank and every dimension but the first (the class count) equal.
bool same_but_classes(const Shape& a, const Shape& b) {
  return a.size() == b.size() && !a.empty() && std::equal(a.begin() + 1, a.end(), b.begin() + 1);
}

}  // namespace

std::string load_initial_weights(const std::string& path, nn::Module& model) {
  checkpoint::File file;
  try {
    file = checkpoint::load(path);
  } catch (const Error& e) {
    MX_FAIL("--init: ", e.what());
  }
  const nn::NamedTensors params = model.named_parameters();
  const bool has_classifier =
      params.size() >= 2 && params[params.size() - 2].second.dim() == 2 && params.back().second.dim() == 1;
  const std::string weight = has_classifier ? params[params.size() - 2].first : "",
                    bias = has_classifier ? params.back().first : "";
  std::map<std::string, Tensor> in_file(file.tensors.begin(), file.tensors.end());
  nn::NamedTensors state, kept;
  std::string notice;
  for (const auto& [name, t] : model.state_dict()) {
    const auto it = in_file.find(name);
    const bool classifier = has_classifier && (name == weight || name == bias);
    if (classifier && it != in_file.end() && it->second.shape() != t.shape() &&
        same_but_classes(it->second.shape(), t.shape())) {
      notice = "--init " + path + ": the classifier was written for " + std::to_string(it->second.size(0)) +
               " classes, this model has " + std::to_string(t.size(0)) + "; " + weight + " and " + bias +
               " start afresh";
      in_file.erase(it);
      continue;
    }
    state.emplace_back(name, t);
  }
  for (const auto& entry : file.tensors)
    if (in_file.count(entry.first)) kept.push_back(entry);
  checkpoint::File subset{kept, file.meta};
  try {
    checkpoint::load_into(path, subset, state);
  } catch (const Error& e) {
    MX_FAIL("--init: ", e.what());
  }
  return notice;
}

}  // namespace mx::train
