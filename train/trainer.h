// The training loop of `mixup train`. Trainer::step() is the whole data path of one step:
// mix (the loader's float batch, or with --data-on-device the batch built from the stored uint8 images
// in the same kernel) -> forward -> mixed-label loss -> backward with the gradients averaged over the
// ranks -> SGD step -> metrics. With several ranks (a Communicator from engine/dist/launch.h) each rank trains on its
// shard of every epoch (datasets/shard.h), evaluation is sharded and added up, and rank 0 alone
// writes the run directory.
// epoch() runs the steps of one epoch, evaluates and records it in the run directory; run() trains
// every epoch left (after --resume) and writes the summary.
// Between two steps, a SIGINT or SIGTERM (engine/interrupt.h) or the --save-minutes clock writes a
// resume point in the middle of the epoch (checkpoint.safetensors with its place in the epoch); a
// signal then ends the run with interrupt::Stopped. A run resumed from it ends bit-identical to one
// that was never stopped: every batch, augmentation and mixing draw depends only on the seed and the
// step's place (epoch, step, rank), never on what ran before in the same process.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "datasets/datasets.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "engine/dist/comm.h"
#include "engine/dist/grad_sync.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "mixup/mixer.h"
#include "train/config.h"
#include "train/run_dir.h"
#include "train/scores.h"
#include "train/step_guard.h"

namespace mx::train {

// What the loop reports as it goes, for a progress display.
struct StepInfo {
  int epoch = 0;           // 1-based
  int epochs = 0;
  int64_t step = 0;        // 1-based within the epoch
  int64_t steps = 0;
  double loss = 0;         // running mean over the epoch so far
  double images_per_s = 0;
  double eta_s = 0;        // for the whole run
};

struct TrainCallbacks {
  std::function<void(const std::string&)> notice;  // one-line messages (device choice, resume, ...)
  std::function<void(const StepInfo&)> step;       // at most every 50 steps or 2 s, and at the epoch's end
  std::function<void(const EpochInfo&)> epoch;
  // Tests: called in every step between backward and the update, with the 1-based epoch and step (to
  // poison a gradient, or to look at the weights and the momentum).
  std::function<void(int, int64_t, ParameterStore&, optim::Optimizer&)> after_backward;
};

struct TrainSummary {
  double final_test_acc = 0, best_test_acc = 0;
  int best_epoch = 0;
  double seconds = 0, images_per_s = 0;
  std::string device;
};

class Trainer {
 public:
  // Validates the configuration, loads the data, builds the model, optimizer and mixer, and resumes
  // when asked. Throws one-line mx::Errors naming the flag or file at fault. `comm` (not owned; null:
  // a single process) is this rank's place in a data-parallel job.
  Trainer(const TrainConfig& config, TrainCallbacks cb, dist::Communicator* comm = nullptr);

  // One optimisation step; its update is not applied when the step guard flags a NaN or infinite
  // gradient norm or loss (train/step_guard.h), which the next read of the metrics reports.
  void step(const data::Batch& batch);
  EpochInfo epoch();                    // the next epoch: its steps, the test pass, the run directory
  EvalResult evaluate();                // the test set in evaluation mode (every rank's shard)
  TrainSummary run();                   // every epoch left, then summary.json

  Device device() const { return dev_; }
  const ParameterStore& parameters() const { return *store_; }
  int threads() const;

 private:
  using Clock = std::chrono::steady_clock;
  void load_data();
  void load_folder(const std::string& dir);
  void use_in_memory(const data::Split& split);
  void build_model();
  void resume();
  void resume_mid_epoch(const checkpoint::Metadata& m);
  void start_epoch();
  random::Rng mixing_rng() const;
  struct Requests {
    int signal = 0;     // a stop asked for by SIGINT or SIGTERM on any rank
    bool save = false;  // rank 0's --save-minutes clock has run out
  };
  Requests agreed_requests(bool epoch_end);
  void handle_requests(bool epoch_end);
  void save_resume_point();
  checkpoint::Metadata state_meta() const;
  void report_progress(bool force);
  const ScoreTotals& read_scores();  // the metrics so far, after the step guard's records
  void save_checkpoints(bool best);
  checkpoint::Metadata checkpoint_meta() const;
  std::string where() const;  // "epoch 3"

  void notice(const std::string& line) const;  // rank 0 only

  TrainConfig c_;
  TrainCallbacks cb_;
  dist::SingleProcess single_;
  dist::Communicator& comm_;
  mixup::Mixer mixer_, no_mixing_;
  std::unique_ptr<RunDir> run_dir_;  // rank 0 only
  Device dev_ = Device::CPU;
  struct DataShape {
    int channels = 0, image_size = 0, classes = 0;
  } shape_;  // what the model is built for
  data::Normalization norm_;
  std::unique_ptr<data::BatchSource> train_loader_, test_loader_;
  struct StoredImages {  // with --data-on-device: the training set on dev_, and its normalization table
    Tensor images;       // [N, C, H, W] U8
    Tensor table;        // [C * 256] F32
  } stored_;
  std::shared_ptr<nn::Module> model_;
  std::unique_ptr<ParameterStore> store_;
  std::unique_ptr<dist::GradSync> grad_sync_;
  std::unique_ptr<optim::Sgd> opt_;
  optim::LrSchedule schedule_;
  std::unique_ptr<RunningScores> scores_;
  std::unique_ptr<StepGuard> guard_;

  // Position and bookkeeping.
  int epoch_ = 0;            // epochs completed
  int64_t step_ = 0;         // steps done in the current epoch
  float lr_ = 0;
  const mixup::Mixer* mix_ = &mixer_;
  Clock::time_point last_save_ = Clock::now();
  struct MidEpoch {  // where a resumed run starts its first epoch
    int64_t step = 0;
    ScoreTotals scores;
    double seconds = 0;  // of the epoch before the stop
  } resume_at_;
  double best_acc_ = -1;
  int best_epoch_ = 0;
  std::string last_good_ = "no checkpoint was written before it";  // for the error that stops a run
  Clock::time_point epoch_start_, last_report_;
  int64_t last_report_step_ = 0;
  double images_ = 0, train_seconds_ = 0;
  double step_seconds_ = 0;  // host time inside step(): all of it on the CPU, launches only on a GPU
};

}  // namespace mx::train
