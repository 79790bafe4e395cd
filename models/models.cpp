// make_model: the registry of model names and the checks on a ModelSpec shared by every model.
#include "models/models.h"

#include "models/builders.h"

namespace mx::models {

namespace {

using Builder = std::shared_ptr<nn::Module> (*)(const ModelSpec&);

// A registered model and its natural input (natural_spec); CIFAR-sized unless said otherwise.
struct Entry {
  std::string name;
  Builder build;
  int image_size = 32;
  int in_channels = 3;
  int num_classes = 10;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> r = {
      {"preact-resnet18", preact_resnet18}, {"vgg11", vgg11}, {"quicknet", quicknet, 28, 1},
      {"resnet50", resnet50, 224, 3, 1000},
      {"resnet101", resnet101, 224, 3, 1000},
      {"resnext101-64x4d", resnext101_64x4d, 224, 3, 1000},
      {"resnext29-8x64d", resnext29_8x64d},
      {"wrn-28-10", wrn_28_10},
      {"densenet-bc-100", densenet_bc100},
      {"densenet-bc-190", densenet_bc190}};
  return r;
}

const Entry& find(const std::string& name) {
  for (const Entry& e : registry())
    if (e.name == name) return e;
  std::string list;
  for (const std::string& n : model_names()) list += (list.empty() ? "" : ", ") + n;
  MX_FAIL("unknown model '", name, "' (known: ", list, ")");
}

}  // namespace

std::mt19937 init_rng(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  return std::mt19937(seq);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const Entry& e : registry()) names.push_back(e.name);
  return names;
}

std::shared_ptr<nn::Module> make_model(const std::string& name, const ModelSpec& spec) {
  MX_CHECK(spec.in_channels > 0 && spec.image_size > 0 && spec.num_classes > 0, "model ", name,
           ": in_channels ", spec.in_channels, ", image_size ", spec.image_size, " and num_classes ",
           spec.num_classes, " must be positive");
  return find(name).build(spec);
}

ModelSpec natural_spec(const std::string& name) {
  const Entry& e = find(name);
  ModelSpec spec;
  spec.in_channels = e.in_channels;
  spec.image_size = e.image_size;
  spec.num_classes = e.num_classes;
  return spec;
}

}  // namespace mx::models
