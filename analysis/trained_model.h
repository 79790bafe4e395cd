// What the analyses (mixtest, landscape) share: a trained model rebuilt from its checkpoint with the
// data and normalization it was trained with, where their output files go, and their progress
// callbacks.
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
#include "train/scores.h"

namespace mx::analysis {

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

}  // namespace mx::analysis
