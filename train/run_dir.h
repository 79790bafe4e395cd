// The output directory of a training run, owned by one type: config.json, metrics.csv with its
// metrics.png (loss and accuracy against epochs, drawn by the engine), checkpoints with their
// training state beside them (NAME.safetensors + NAME.state.safetensors), and summary.json. Every file
// is written to a temporary name and renamed. One process at a time writes a run directory: it holds
// the lock file .lock for its life.
//
// A checkpoint's state file is complete on its own: the weights and buffers (as "model.<name>"), the
// optimizer's state and the metadata of the place in training. It is written before the checkpoint,
// so a process killed at any moment of a save leaves a state file that resumes (the previous one, or
// the new one when only the checkpoint's rename was left), and resume reads the state file alone.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/files.h"
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
  // Creates the directory and takes its lock. Throws naming --out when it is not writable, when another
  // process writes there, or when it holds an earlier run's checkpoint and this run does not resume.
  RunDir(const std::string& dir, bool resuming);
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
  std::unique_ptr<files::ProcessLock> lock_;
  std::vector<EpochInfo> rows_;
};

// Where a run's last good weights are, for error messages, in the words of a stop (interrupt::place):
// "the last good checkpoint is PATH (the end of epoch 2)", or "(epoch 3 step 40)" for a save `step` steps
// into epoch `epoch`.
std::string last_good_checkpoint(const std::string& path, int epoch, int64_t step);

// The training state file beside a checkpoint: "DIR/NAME.state.safetensors" for "DIR/NAME.safetensors".
std::string state_path(const std::string& checkpoint);

// Loads the training state of a checkpoint written by save_checkpoint (its state file) into `model`
// and `opt`; returns the state file's metadata. Throws naming --resume and the file at fault.
checkpoint::Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& opt);

}  // namespace mx::train
