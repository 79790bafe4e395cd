// The settings of `mixup train`, each declared once in one table (train/config.cpp): flag, JSON key,
// help text, default per recipe and check. That table drives the command line (apps/), config.json,
// validation and the recipes, so adding a setting is one row. Recipes: "quick" (the README's main
// job, a small network on Fashion-MNIST that trains in minutes on a 2-core CPU), "paper" (the
// paper's CIFAR recipe: PreAct ResNet-18, 200 epochs, batch 128, lr 0.1, Nesterov 0.9, wd 1e-4, /10 at
// 50 % and 75 %, flip + 4-pixel translation, mixup-C with alpha 1), "paper-densenet" and
// "paper-resnext" (the same setting for DenseNet-BC-190 and ResNeXt-29 8x64d, section V-A) and
// "imagenet" (ResNet-50, 90 epochs, batch 256, lr 0.1, momentum 0.9, wd 1e-4, /10 at epochs 30, 60
// and 80, mixup-C with alpha 0.2).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixup/mixer.h"
#include "train/settings.h"

namespace mx::train {

// Values come from the table (recipe(name)), never from member initialisers.
struct TrainConfig {
  std::string recipe, dataset, data_dir;
  int workers;                   // image folders: decoding threads
  std::string augment;           // rrc | flip-translate | none
  int image_size;                // image folders: side length (0: the images' own, else 224)
  std::string norm;              // compute | imagenet
  bool strict_images;
  std::string model;
  mixup::MixerOptions mixing;
  int mix_off_epoch, epochs, batch_size;
  float lr, momentum, wd;
  std::string lr_milestones;  // "0.5,0.75" (fractions of the epochs) or "30,60,80" (epochs)
  bool nesterov;
  bool stop_on_nonfinite;  // stop at a step with a NaN or infinite loss or gradient norm ...
  int64_t skip_nonfinite;  // ... once this many such steps have been skipped (train/step_guard.h)
  double warmup_epochs;
  bool flip;
  int translate;
  uint64_t seed;
  int threads;
  std::string device, out, resume, init;
  std::string data_on_device;  // auto | on | off: batches built from uint8 images kept on the model's device
  bool zero_init_residual, memory_efficient;
  int save_every;
  double save_minutes;  // a mid-epoch checkpoint when this many minutes have passed since the last save (0: off)
  int64_t train_limit, test_limit;
  bool sync_bn;         // data-parallel: batch-norm statistics over every rank's batch
  std::string lr_scale;  // none | linear (lr times the world size)
  double dist_timeout;  // seconds a collective may take before the job is ended
};

std::vector<std::string> recipe_names();  // quick, paper, paper-densenet, paper-resnext, imagenet

// The rows bound to `c`: the mixing rows (shared with `preview`) and the training rows.
std::vector<Setting> mixing_settings(mixup::MixerOptions& m);
std::vector<Setting> train_settings(TrainConfig& c);

// A complete configuration: every row at its `name` default. Throws naming --recipe.
TrainConfig recipe(const std::string& name);
// The epochs at which the learning rate is divided by 10: --lr-milestones read as fractions of `epochs`
// (values below 1) or as epochs, ascending. Throws naming --lr-milestones.
std::vector<double> lr_milestone_epochs(const std::string& text, int epochs);

// Runs every row's check (the mixing specs are checked where the Mixer is built); throws mx::Error.
void validate(const TrainConfig& c);
nlohmann::json to_json(const TrainConfig& c);

}  // namespace mx::train
