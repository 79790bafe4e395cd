// The training loop of `mixup train`: dataset -> loader -> mixer -> model -> mixed-label loss ->
// backward -> SGD step -> metrics, with checkpoints, resume and the output directory's files.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"
#include "mixup/mixer.h"

namespace mx::mixup {

struct TrainConfig {
  std::string recipe = "quick";
  std::string dataset = "fashion-mnist";
  std::string data_dir;  // empty: the dataset's default directory
  std::string model = "quicknet";
  MixerOptions mixing;    // mode set, ratios, granularity
  int mix_off_epoch = 0;  // from this epoch on, no mixing (0: never)
  int epochs = 5;
  int batch_size = 128;
  float lr = 0.1f;
  float momentum = 0.9f;
  float wd = 1e-4f;
  bool nesterov = true;
  double warmup_epochs = 0;
  bool flip = true;
  int translate = 0;
  uint64_t seed = 0;
  int threads = 0;            // 0: all cores
  std::string device = "auto";
  std::string out;            // output directory
  std::string resume;         // checkpoint to continue from
  int save_every = 0;         // also keep epoch-K.safetensors every K epochs (0: off)
  int64_t train_limit = 0;    // use only the first N training images (0: all)
  int64_t test_limit = 0;     // use only the first N test images (0: all)
};

nlohmann::json to_json(const TrainConfig& c);

// Validates the settings, naming the flag at fault; throws mx::Error.
void validate(const TrainConfig& c);

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
struct EpochInfo {
  int epoch = 0;
  double train_loss = 0, train_acc = 0;
  double train_x1x2 = 0, train_x2x1 = 0;  // top-1 = y_a and top-2 = y_b, and the reverse (Fig. 1)
  double test_loss = 0, test_acc = 0, lr = 0, images_per_s = 0, seconds = 0;
};

struct TrainCallbacks {
  std::function<void(const std::string&)> notice;  // one-line messages (device choice, resume, ...)
  std::function<void(const StepInfo&)> step;
  std::function<void(const EpochInfo&)> epoch;
};

struct TrainSummary {
  double final_test_acc = 0, best_test_acc = 0;
  int best_epoch = 0;
  double seconds = 0, images_per_s = 0;
  std::string device;
};

TrainSummary train(const TrainConfig& config, const TrainCallbacks& cb);

}  // namespace mx::mixup
