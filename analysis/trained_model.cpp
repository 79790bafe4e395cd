// Trained-model loading, flag checks and output paths shared by `mixtest` and `landscape`.
#include "analysis/trained_model.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/autograd.h"
#include "engine/device_select.h"
#include "engine/files.h"
#include "engine/ops.h"
#include "models/models.h"

namespace mx::analysis {

namespace {

// The metadata entry `key`, else `override`; fails naming `flag` when neither gives a value.
std::string meta_or(const checkpoint::File& f, const std::string& path, const char* key, const std::string& override,
                    const char* flag) {
  if (!override.empty()) return override;
  auto it = f.meta.find(key);
  MX_CHECK(it != f.meta.end() && !it->second.empty(), "--checkpoint ", path, ": no \"", key,
           "\" in its metadata; pass ", flag);
  return it->second;
}

}  // namespace

void check_checkpoint_exists(const std::string& path) {
  MX_CHECK(!path.empty(), "--checkpoint: a checkpoint file is required");
  MX_CHECK(std::filesystem::is_regular_file(path), "--checkpoint ", path, ": file not found");
}

TrainedModel load_trained(const ModelSource& src) {
  const std::string& path = src.checkpoint;
  check_checkpoint_exists(path);
  const checkpoint::File f = checkpoint::load(path);
  TrainedModel t;
  t.model = meta_or(f, path, "model", src.model, "--model");
  t.dataset = meta_or(f, path, "dataset", src.dataset, "--dataset");
  check_one_of("--model", t.model, models::model_names(), "model");
  check_one_of("--dataset", t.dataset, data::dataset_names(), "dataset");
  check_one_of("--device", src.device, {"auto", "cpu", "cuda"}, "device");
  t.data = data::load_dataset(t.dataset, src.data_dir.empty() ? data::default_data_dir(t.dataset) : src.data_dir);
  const std::optional<data::Normalization> norm = data::get_normalization(f.meta, path, t.data.train.channels());
  t.norm = norm ? *norm : data::compute_normalization(t.data.train);
  const data::Dataset& d = t.data.train;
  const auto size = f.meta.find("image_size");
  MX_CHECK(size == f.meta.end() || size->second == std::to_string(d.height()), "--checkpoint ", path, ": trained on ",
           size->second, "-pixel images, but the data loads at ", d.height(), " (the analyses load an image folder at "
           "its images' own size, else 224)");
  t.net = models::make_model(t.model, {d.channels(), d.height(), d.num_classes, 0});
  checkpoint::load_into(path, f, t.net->state_dict());
  t.net->eval();
  t.device = select_device(src.device, t.notice);
  t.store = std::make_shared<ParameterStore>(*t.net, t.device);
  return t;
}

std::string output_prefix(const std::string& out, const std::string& checkpoint, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path prefix;
  if (out.empty()) prefix = fs::path(checkpoint).parent_path() / name;
  else if (out.back() == '/' || fs::is_directory(out)) prefix = fs::path(out) / name;
  else prefix = out;
  const fs::path dir = prefix.parent_path().empty() ? fs::path(".") : prefix.parent_path();
  files::ensure_writable_dir(dir.string(), "--out");
  return prefix.string();
}

double eta_seconds(double elapsed_s, int64_t done, int64_t total) {
  return done > 0 ? elapsed_s / static_cast<double>(done) * static_cast<double>(total - done) : 0;
}

}  // namespace mx::analysis
