// The model zoo subcommands: the summary table, `init` and `models --check`.
#include "apps/zoo.h"

#include <cstdio>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/error.h"
#include "engine/threads.h"
#include "models/models.h"
#include "models/summary.h"

namespace mx::app {

namespace {

models::ModelSpec spec_for(const std::string& name, const ZooConfig& c) {
  models::ModelSpec spec = models::natural_spec(name);
  if (c.classes > 0) spec.num_classes = c.classes;
  if (c.in_channels > 0) spec.in_channels = c.in_channels;
  if (c.image_size > 0) spec.image_size = c.image_size;
  spec.seed = c.seed;
  spec.zero_init_residual = c.zero_init_residual;
  return spec;
}

void require_model(const ZooConfig& c, const char* command) {
  MX_CHECK(!c.model.empty(), command, ": --model is required");
  check_one_of("--model", c.model, models::model_names(), "model");
}

std::string thousands(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// The probe image of `models --check`: element k of the flattened 1 x C x S x S tensor is
// ((7919 k) mod 1000) / 500 - 1, which scripts/check_torchvision_load.py builds the same way.
Tensor probe_image(const models::ModelSpec& spec) {
  Tensor x = Tensor::empty({1, spec.in_channels, spec.image_size, spec.image_size});
  float* p = x.data<float>();
  for (int64_t k = 0; k < x.numel(); ++k) p[k] = static_cast<float>(static_cast<double>(k * 7919 % 1000) / 500.0 - 1.0);
  return x;
}

}  // namespace

void print_models_table(const ZooConfig& c, std::FILE* out) {
  if (!c.model.empty()) check_one_of("--model", c.model, models::model_names(), "model");
  set_num_threads(c.threads);
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %-10s %8s %14s %18s\n", "model", "input", "classes", "parameters",
                "multiply-adds");
  std::fputs(line, out);
  for (const std::string& name : models::model_names()) {
    if (!c.model.empty() && name != c.model) continue;
    models::ModelSpec spec = spec_for(name, c);
    spec.initialise = false;  // shapes and multiply-adds do not depend on the weights
    auto m = models::make_model(name, spec);
    const std::string input = std::to_string(spec.in_channels) + "x" + std::to_string(spec.image_size) + "x" +
                              std::to_string(spec.image_size);
    std::snprintf(line, sizeof line, "%-18s %-10s %8d %14s %18s\n", name.c_str(), input.c_str(), spec.num_classes,
                  thousands(models::parameter_count(*m)).c_str(), thousands(models::multiply_adds(*m, spec)).c_str());
    std::fputs(line, out);
    std::fflush(out);
  }
}

std::string check_checkpoint(const ZooConfig& c) {
  require_model(c, "models --check");
  set_num_threads(c.threads);
  const models::ModelSpec spec = spec_for(c.model, c);
  auto m = models::make_model(c.model, spec);
  const checkpoint::File f = checkpoint::load(c.check);
  checkpoint::load_into(c.check, f, m->state_dict());
  m->eval();
  NoGradGuard no_grad;
  const std::vector<float> logits = (*m)(probe_image(spec)).to_vector<float>();
  std::string out = c.check + ": loads into " + c.model + " (" + std::to_string(f.tensors.size()) +
                    " tensors); probe logits:";
  char value[32];
  for (size_t i = 0; i < logits.size() && i < 8; ++i) {
    std::snprintf(value, sizeof value, " %.7g", logits[i]);
    out += value;
  }
  return out;
}

std::string write_init(const ZooConfig& c) {
  require_model(c, "init");
  MX_CHECK(!c.out.empty(), "init: --out is required");
  const models::ModelSpec spec = spec_for(c.model, c);
  auto m = models::make_model(c.model, spec);
  const checkpoint::Metadata meta{{"format", "mixup-engine"},
                                  {"model", c.model},
                                  {"seed", std::to_string(c.seed)},
                                  {"in_channels", std::to_string(spec.in_channels)},
                                  {"num_classes", std::to_string(spec.num_classes)},
                                  {"zero_init_residual", c.zero_init_residual ? "true" : "false"}};
  try {
    checkpoint::save(c.out, m->state_dict(), meta);
  } catch (const Error& e) {
    MX_FAIL("--out ", e.what());
  }
  return "wrote " + c.out + ": " + c.model + ", " + thousands(models::parameter_count(*m)) + " parameters, seed " +
         std::to_string(c.seed);
}

}  // namespace mx::app
