// The settings table of `mixup train` and what it drives: recipes, checks, JSON (train/settings.h).
#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "datasets/datasets.h"
#include "models/models.h"

namespace mx::train {

namespace {

std::vector<std::string> device_names() { return {"auto", "cpu", "cuda"}; }
std::vector<std::string> augment_names() { return {"rrc", "flip-translate", "none"}; }
std::vector<std::string> norm_names() { return {"compute", "imagenet"}; }
std::vector<std::string> lr_scale_names() { return {"none", "linear"}; }
std::vector<std::string> switch_names() { return {"auto", "on", "off"}; }

Check milestones() {
  return [](const Setting& s) { lr_milestone_epochs(*std::get<std::string*>(s.value), 1); };
}

}  // namespace

std::vector<std::string> recipe_names() { return {"quick", "paper", "paper-densenet", "paper-resnext", "imagenet"}; }

std::vector<Setting> mixing_settings(mixup::MixerOptions& m) {
  return {
      {"--mix", "mix",
       "Mode set: none, c (channel), h (horizontal seam), v (vertical seam), r (rectangle), letters combined for "
       "equal odds (hv, hc, hvc), weights as \"h:1,c:2\" or \"none:1,hv:3\"",
       &m.mix, {"none", "c"}, {}},
      {"--alpha", "alpha", "lambda ~ Beta(alpha, alpha) unless --lam-x is given", &m.alpha,
       {nullptr, nullptr, nullptr, nullptr, "0.2"}, {}},
      {"--lam-x", "lam_x", "Image mixing ratio: beta:A, beta:A:B, uniform:L1:L2 or const:V", &m.lam_x, {nullptr}, {}},
      {"--lam-l", "lam_l", "Label mixing ratio: same (tied to the image ratio) or a distribution as --lam-x", &m.lam_l,
       {nullptr}, {}},
      {"--lam-label", "lam_label",
       "With --lam-l same: exact (label weight = share of x1's pixels) or raw (the drawn lambda)", &m.lam_label,
       {nullptr}, {}},
      {"--mix-per", "mix_per",
       "batch (one mode and lambda per batch), half (first half the first mode, second half the second), sample "
       "(each sample its own)",
       &m.per, {nullptr}, {}},
  };
}

std::vector<Setting> train_settings(TrainConfig& c) {
  std::vector<Setting> rows = {
      {"--recipe", "recipe", "Preset for every default below: " + join_names(recipe_names()), &c.recipe,
       {"quick", "paper", "paper-densenet", "paper-resnext", "imagenet"}, one_of(recipe_names)},
      {"--dataset", "dataset", join_names(data::dataset_names()), &c.dataset,
       {"fashion-mnist", nullptr, nullptr, nullptr, "folder"},
       one_of(data::dataset_names)},
      {"--data-dir", "data_dir",
       "Dataset folder (default: /usr/share/datasets/fashion-mnist for fashion-mnist; for CIFAR ./data, holding "
       "cifar-10-batches-bin or cifar-100-binary)",
       &c.data_dir, {""}, {}},
      {"--workers", "workers", "Image-folder decoding threads (0: all cores)", &c.workers, {"0"}, at_least(0)},
      {"--augment", "augment",
       "Training transform: rrc (RandomResizedCrop + flip, streamed; --dataset folder only), flip-translate "
       "(--flip, --translate) or none",
       &c.augment, {"flip-translate", nullptr, nullptr, nullptr, "rrc"}, one_of(augment_names)},
      {"--image-size", "image_size",
       "Image-folder side length (0: the training images' own size when all are square and of one size, else 224)",
       &c.image_size, {"0", nullptr, nullptr, nullptr, "224"}, at_least(0)},
      {"--norm", "norm",
       "Normalization: compute (per-channel mean and std of the training set; with --augment rrc of a 2000-image "
       "sample) or imagenet (the standard ImageNet mean and std)",
       &c.norm, {"compute", nullptr, nullptr, nullptr, "imagenet"}, one_of(norm_names)},
      {"--strict-images", "strict_images",
       "Stop at an image that does not decode instead of skipping it with a warning (true|false)", &c.strict_images,
       {"false"}, {}},
      {"--model", "model", join_names(models::model_names()), &c.model,
       {"quicknet", "preact-resnet18", "densenet-bc-190", "resnext29-8x64d", "resnet50"}, one_of(models::model_names)},
      {"--init", "init", "Start from these weights (.safetensors of the same model; a classifier of another class "
                         "count is initialised afresh)",
       &c.init, {""}, {}},
      {"--zero-init-residual", "zero_init_residual",
       "Residual models: start the last batch norm of every block at 0 (true|false)", &c.zero_init_residual,
       {"false"}, {}},
      {"--memory-efficient", "memory_efficient",
       "DenseNet: recompute concatenation, batch norm and ReLU in backward instead of storing them (true|false)",
       &c.memory_efficient, {"true"}, {}},
  };
  for (Setting& s : mixing_settings(c.mixing)) rows.push_back(std::move(s));
  std::vector<Setting> rest = {
      {"--mix-off-epoch", "mix_off_epoch", "From this epoch on, train without mixing (0: never)", &c.mix_off_epoch,
       {"0"}, at_least(0)},
      {"--epochs", "epochs", "Training epochs", &c.epochs, {"7", "200", nullptr, nullptr, "90"}, above(0)},
      {"--batch-size", "batch_size", "Images per step", &c.batch_size, {"128", nullptr, nullptr, nullptr, "256"},
       above(0)},
      {"--lr", "lr", "Initial learning rate", &c.lr, {"0.1"}, above(0)},
      {"--lr-milestones", "lr_milestones",
       "The learning rate is divided by 10 at each of these, as fractions of the epochs (0.5,0.75) or epochs "
       "(30,60,80)",
       &c.lr_milestones, {"0.5,0.75", nullptr, nullptr, nullptr, "30,60,80"}, milestones()},
      {"--warmup", "warmup_epochs", "Linear learning-rate warm-up, in epochs", &c.warmup_epochs, {"0"}, at_least(0)},
      {"--momentum", "momentum", "SGD momentum", &c.momentum, {"0.9"}, fraction()},
      {"--wd", "wd", "Weight decay", &c.wd, {"1e-4"}, at_least(0)},
      {"--nesterov", "nesterov", "Nesterov momentum (true|false)", &c.nesterov,
       {"true", nullptr, nullptr, nullptr, "false"}, {}},
      {"--stop-on-nonfinite", "stop_on_nonfinite",
       "Stop at a step whose loss or gradient norm is NaN or infinite, once --skip-nonfinite such steps have been "
       "skipped; false: skip every such step (true|false)",
       &c.stop_on_nonfinite, {"true"}, {}},
      {"--skip-nonfinite", "skip_nonfinite",
       "Skip the update of up to N steps whose loss or gradient norm is NaN or infinite over the run (weights and "
       "momentum unchanged), stop at the next",
       &c.skip_nonfinite, {"0"}, at_least(0)},
      {"--flip", "flip", "Random horizontal flips (true|false)", &c.flip, {"true"}, {}},
      {"--translate", "translate", "Random translation by up to this many pixels, zero padded", &c.translate,
       {"0", "4", nullptr, nullptr, "0"}, at_least(0)},
      {"--seed", "seed", "Seed for initialisation, order, augmentation and mixing", &c.seed, {"0"}, {}},
      {"--threads", "threads", "CPU threads (0: all cores)", &c.threads, {"0"}, at_least(0)},
      {"--device", "device", join_names(device_names()), &c.device, {"auto"}, one_of(device_names)},
      {"--data-on-device", "data_on_device",
       "Keep the uint8 training images on the model's device and build each batch there with one fused kernel "
       "(shift, mirror, normalize, mix) instead of a loader thread: auto (on when training on a GPU with an "
       "in-memory training set that, with a step, takes at most half of its free memory; off on the CPU), on or off",
       &c.data_on_device, {"auto"}, one_of(switch_names)},
      {"--out", "out", "Output directory", &c.out,
       {"runs/quick", "runs/paper", "runs/paper-densenet", "runs/paper-resnext", "runs/imagenet"}, required()},
      {"--resume", "resume", "Continue from this checkpoint (with its .state.safetensors beside it)", &c.resume, {""},
       {}},
      {"--save-every", "save_every", "Also keep epoch-K.safetensors every K epochs (0: off)", &c.save_every, {"0"},
       at_least(0)},
      {"--save-minutes", "save_minutes",
       "Also write checkpoint.safetensors in the middle of an epoch when this many minutes have passed since the "
       "last save, so that a preempted run loses at most that much (0: only at epoch ends)",
       &c.save_minutes, {"15"}, at_least(0)},
      {"--train-limit", "train_limit", "Use only the first N training images (0: all)", &c.train_limit, {"0"},
       at_least(0)},
      {"--test-limit", "test_limit", "Use only the first N test images (0: all)", &c.test_limit, {"0"}, at_least(0)},
      {"--sync-bn", "sync_bn",
       "Data-parallel: batch-norm statistics over all ranks' batches, in forward and backward (true|false; "
       "default: per rank)",
       &c.sync_bn, {"false"}, {}},
      {"--lr-scale", "lr_scale",
       "Data-parallel: none (--lr as given) or linear (--lr times the number of ranks, for a global batch of "
       "ranks x --batch-size)",
       &c.lr_scale, {"none"}, one_of(lr_scale_names)},
      {"--dist-timeout", "dist_timeout",
       "Data-parallel: seconds a collective may wait for the other ranks before the job ends with an error",
       &c.dist_timeout, {"600"}, above(0)},
  };
  for (Setting& s : rest) rows.push_back(std::move(s));
  return rows;
}

TrainConfig recipe(const std::string& name) {
  const std::vector<std::string> names = recipe_names();
  const auto it = std::find(names.begin(), names.end(), name);
  MX_CHECK(it != names.end(), "--recipe: unknown recipe '", name, "' (known: ", join_names(names), ")");
  const auto column = static_cast<size_t>(it - names.begin());
  TrainConfig c{};
  apply_defaults(train_settings(c), column);
  return c;
}

std::vector<double> lr_milestone_epochs(const std::string& text, int epochs) {
  std::vector<double> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MX_CHECK(used > 0 && used == item.size() && std::isfinite(v) && v > 0, "--lr-milestones: '", item,
             "' in '", text, "' is not a positive number");
    out.push_back(v < 1 ? v * epochs : v);
    MX_CHECK(out.size() < 2 || out[out.size() - 2] < out.back(), "--lr-milestones: '", text, "' is not ascending");
  }
  return out;  // empty text: a constant learning rate
}

void validate(const TrainConfig& config) {
  TrainConfig c = config;
  check_rows(train_settings(c));
  MX_CHECK(c.stop_on_nonfinite || c.skip_nonfinite == 0, "--skip-nonfinite: has no effect with "
           "--stop-on-nonfinite false, which skips every non-finite step");
}

nlohmann::json to_json(const TrainConfig& config) {
  TrainConfig c = config;
  return rows_json(train_settings(c));
}

}  // namespace mx::train
