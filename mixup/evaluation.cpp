// Evaluation helpers and trained-model loading shared by `train`, `mixtest` and `landscape`.
#include "mixup/evaluation.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/autograd.h"
#include "engine/device_select.h"
#include "engine/files.h"
#include "engine/ops.h"
#include "models/models.h"

namespace mx::mixup {

void check_known(const std::string& flag, const std::string& value, const std::vector<std::string>& known,
                 const char* what) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  MX_FAIL(flag, ": unknown ", what, " '", value, "' (known: ", list, ")");
}

std::vector<std::pair<int32_t, int32_t>> top2_rows(const Tensor& logits) {
  std::vector<float> v = logits.to_vector<float>();
  const int64_t n = logits.size(0), k = logits.size(1);
  std::vector<std::pair<int32_t, int32_t>> out(static_cast<size_t>(n), {0, 0});
  for (int64_t i = 0; i < n; ++i) {
    const float* row = v.data() + i * k;
    int32_t a = 0, b = -1;
    for (int32_t j = 1; j < k; ++j) {
      if (row[j] > row[a]) b = a, a = j;
      else if (b < 0 || row[j] > row[b]) b = j;
    }
    out[static_cast<size_t>(i)] = {a, b};
  }
  return out;
}

EvalResult evaluate(nn::Module& model, data::Loader& loader, Device dev) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  loader.start_epoch(0);
  data::Batch b;
  double loss = 0, correct = 0;
  int64_t n = 0;
  while (loader.next(b)) {
    Tensor x = b.images.to(dev), y = b.labels.to(dev);
    const int64_t bs = y.numel();
    Tensor logits = model(x);
    Tensor ones = Tensor::full({bs}, 1.f, dev);
    loss += ops::mixed_cross_entropy(logits, y, y, ones).item<float>() * static_cast<double>(bs);
    std::vector<std::pair<int32_t, int32_t>> top = top2_rows(logits);
    std::vector<int32_t> lab = b.labels.to_vector<int32_t>();
    for (size_t i = 0; i < top.size(); ++i) correct += top[i].first == lab[i];
    n += bs;
  }
  model.train(was_training);
  return {loss / static_cast<double>(n), correct / static_cast<double>(n)};
}

std::shared_ptr<nn::Module> build_model(const std::string& name, const data::Dataset& d, uint64_t seed) {
  return models::make_model(name, {d.channels(), d.height(), d.num_classes, seed});
}

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

// The metadata entry `key`, else `override`; fails naming `flag` when neither gives a value.
std::string meta_or(const checkpoint::File& f, const std::string& path, const char* key, const std::string& override,
                    const char* flag) {
  if (!override.empty()) return override;
  auto it = f.meta.find(key);
  MX_CHECK(it != f.meta.end() && !it->second.empty(), "--checkpoint ", path, ": no \"", key,
           "\" in its metadata; pass ", flag);
  return it->second;
}

data::Normalization normalization_of(const checkpoint::File& f, const std::string& path, const data::Dataset& train) {
  if (!f.meta.count("norm_mean") || !f.meta.count("norm_std")) return data::compute_normalization(train);
  data::Normalization norm{parse_float_list(path, "norm_mean", f.meta.at("norm_mean")),
                           parse_float_list(path, "norm_std", f.meta.at("norm_std"))};
  const auto channels = static_cast<size_t>(train.channels());
  MX_CHECK(norm.mean.size() == channels && norm.std.size() == channels, "--checkpoint ", path, ": normalization for ",
           norm.mean.size(), " channels, the dataset has ", channels);
  return norm;
}

}  // namespace

void put_normalization(checkpoint::Metadata& meta, const data::Normalization& norm) {
  meta["norm_mean"] = float_list(norm.mean);
  meta["norm_std"] = float_list(norm.std);
}

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
  check_known("--model", t.model, models::model_names(), "model");
  check_known("--dataset", t.dataset, data::dataset_names(), "dataset");
  check_known("--device", src.device, {"auto", "cpu", "cuda"}, "device");
  t.data = data::load_dataset(t.dataset, src.data_dir.empty() ? data::default_data_dir(t.dataset) : src.data_dir);
  t.norm = normalization_of(f, path, t.data.train);
  t.net = build_model(t.model, t.data.train, 0);
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

}  // namespace mx::mixup
