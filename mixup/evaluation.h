// Shared by training and the analyses (mixtest, landscape): the top-2 classes of logits, test loss and
// accuracy in evaluation mode, models built for a dataset, the normalization recorded in checkpoints,
// and a trained model rebuilt from its checkpoint with the data and normalization it was trained with.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datasets/datasets.h"
#include "datasets/loader.h"
#include "engine/checkpoint.h"
#include "engine/nn.h"
#include "engine/parameters.h"

namespace mx::mixup {

// Throws "<flag>: unknown <what> '<value>' (known: a, b, c)" unless value is one of `known`.
void check_known(const std::string& flag, const std::string& value, const std::vector<std::string>& known,
                 const char* what);

// The two highest-scoring classes of each row of [N, K] logits (top-1 first).
std::vector<std::pair<int32_t, int32_t>> top2_rows(const Tensor& logits);

struct EvalResult {
  double loss = 0, acc = 0;  // mean cross-entropy, top-1 accuracy
};
// One pass of `loader` in evaluation mode without gradients; the model's mode is restored afterwards.
EvalResult evaluate(nn::Module& model, data::Loader& loader, Device dev);

// A fresh `name` network shaped for the images and classes of `d`, initialised from `seed`.
std::shared_ptr<nn::Module> build_model(const std::string& name, const data::Dataset& d, uint64_t seed);

// The normalization a model was trained with, as checkpoint metadata ("norm_mean", "norm_std").
void put_normalization(checkpoint::Metadata& meta, const data::Normalization& norm);

// Where a trained model comes from: a checkpoint, with its metadata's model and dataset overridable.
struct ModelSource {
  std::string checkpoint;
  std::string model;     // empty: the checkpoint's "model"
  std::string dataset;   // empty: the checkpoint's "dataset"
  std::string data_dir;  // empty: the dataset's default directory
  std::string device = "auto";
};

struct TrainedModel {
  std::string model, dataset;
  data::Split data;
  data::Normalization norm;  // recorded in the checkpoint, else computed from the training set as training does
  std::shared_ptr<nn::Module> net;         // the checkpoint's weights, in evaluation mode
  std::shared_ptr<ParameterStore> store;   // its parameters in one flat buffer on `device`
  Device device = Device::CPU;
  std::string notice;                      // device fallback message, or empty
};

// Throws one-line errors naming --checkpoint, --model, --dataset or the file at fault.
TrainedModel load_trained(const ModelSource& src);
void check_checkpoint_exists(const std::string& path);  // names --checkpoint

// What a long analysis reports as it goes, for a progress display.
struct ProgressCallbacks {
  std::function<void(const std::string&)> notice;                       // one-line messages
  std::function<void(int64_t done, int64_t total, double eta_s)> progress;  // units of work done
};

// The path prefix of an analysis's output files (PREFIX.csv, PREFIX.png, ...): `out` itself, or
// DIR/<name> when `out` is an existing directory or ends in '/', or <checkpoint's directory>/<name>
// when `out` is empty. Creates the directory and checks it is writable (errors name --out).
std::string output_prefix(const std::string& out, const std::string& checkpoint, const std::string& name);

// The time left when `done` of `total` units of equal cost took `elapsed_s` seconds.
double eta_seconds(double elapsed_s, int64_t done, int64_t total);

}  // namespace mx::mixup
