// The output directory of a training run, owned by one type: config.json, metrics.csv with its
// metrics.png (loss and accuracy against epochs, drawn by the engine), checkpoints with their
// training state beside them (NAME.safetensors + NAME.state.safetensors), and summary.json. Every file
// is written to a temporary name and renamed.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/nn.h"
#include "engine/optim.h"

namespace mx::train {

// One row of metrics.csv.
struct EpochInfo {
  int epoch = 0;
  double train_loss = 0, train_acc = 0;
  double train_x1x2 = 0, train_x2x1 = 0;  // top-1 = y_a and top-2 = y_b, and the reverse (Fig. 1)
  double test_loss = 0, test_acc = 0, lr = 0, images_per_s = 0, seconds = 0;
};

class RunDir {
 public:
  explicit RunDir(const std::string& dir);  // creates it; throws naming --out when it is not writable
  std::string path(const std::string& name) const;

  void write_config(const nlohmann::json& config);
  // Keeps the rows of an earlier metrics.csv up to `epoch` (a resumed run continues the same file).
  void keep_metrics_up_to(int epoch);
  void add_metrics(const EpochInfo& e, const std::string& title);  // rewrites metrics.csv and metrics.png
  // NAME.safetensors (the model's state_dict and `meta`) and NAME.state.safetensors (the optimizer's
  // state and `state_meta`).
  void save_checkpoint(const std::string& name, nn::Module& model, optim::Optimizer& opt,
                       const checkpoint::Metadata& meta, const checkpoint::Metadata& state_meta);
  void write_summary(const nlohmann::json& summary);

 private:
  std::string dir_;
  std::vector<EpochInfo> rows_;
};

// The training state file beside a checkpoint: "DIR/NAME.state.safetensors" for "DIR/NAME.safetensors".
std::string state_path(const std::string& checkpoint);

// Loads a checkpoint written by save_checkpoint into `model` and `opt`; returns the state file's
// metadata. Throws naming --resume and the file at fault.
checkpoint::Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& opt);

}  // namespace mx::train
