// make_model: the registry of model names and the checks on a ModelSpec shared by every model.
#include "models/models.h"

#include "models/builders.h"

namespace mx::models {

namespace {

using Builder = std::shared_ptr<nn::Module> (*)(const ModelSpec&);

const std::vector<std::pair<std::string, Builder>>& registry() {
  static const std::vector<std::pair<std::string, Builder>> r = {
      {"preact-resnet18", preact_resnet18}, {"vgg11", vgg11}, {"quicknet", quicknet},
      {"densenet-bc-100", densenet_bc100}, {"densenet-bc-190", densenet_bc190}};
  return r;
}

}  // namespace

std::mt19937 init_rng(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  return std::mt19937(seq);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::shared_ptr<nn::Module> make_model(const std::string& name, const ModelSpec& spec) {
  MX_CHECK(spec.in_channels > 0 && spec.image_size > 0 && spec.num_classes > 0, "model ", name,
           ": in_channels ", spec.in_channels, ", image_size ", spec.image_size, " and num_classes ",
           spec.num_classes, " must be positive");
  for (const auto& [known, build] : registry())
    if (known == name) return build(spec);
  std::string list;
  for (const std::string& n : model_names()) list += (list.empty() ? "" : ", ") + n;
  MX_FAIL("unknown model '", name, "' (known: ", list, ")");
}

}  // namespace mx::models
