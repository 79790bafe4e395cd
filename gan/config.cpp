// The settings table of `mixup cyclegan` (gan/config.h).
#include "gan/config.h"

#include "engine/error.h"
#include "mixup/policy.h"

namespace mx::gan {

using train::above;
using train::at_least;
using train::fraction;
using train::one_of;
using train::required;
using train::Setting;

namespace {

std::vector<std::string> layouts() { return {"auto", "unaligned", "aligned"}; }
std::vector<std::string> directions() { return {"AtoB", "BtoA"}; }
std::vector<std::string> modes() { return {"plain", "mix"}; }
std::vector<std::string> d_mixes() { return {"paper", "real-fake"}; }
std::vector<std::string> gan_losses() { return {"lsgan", "bce"}; }
std::vector<std::string> devices() { return {"auto", "cpu", "cuda"}; }

}  // namespace

std::vector<Setting> cyclegan_settings(CycleGanConfig& c) {
  return {
      {"--data-dir", "data_dir",
       "Data folder: trainA/ trainB/ testA/ testB/ (unaligned) or train/ test|val/ of A|B side-by-side images "
       "(aligned)",
       &c.data_dir, {""}, required()},
      {"--layout", "layout", "Data layout: " + train::join_names(layouts()) + " (auto: from the folder names)",
       &c.layout, {"auto"}, one_of(layouts)},
      {"--direction", "direction", "AtoB or BtoA (swaps the domains)", &c.direction, {"AtoB"}, one_of(directions)},
      {"--load-size", "load_size", "Images are resized to this square size first", &c.load_size, {"286"}, above(0)},
      {"--crop-size", "crop_size", "then randomly cropped to this size (centred at test time)", &c.crop_size,
       {"256"}, above(0)},
      {"--flip", "flip", "Random horizontal flips in training (true|false)", &c.flip, {"true"}, {}},
      {"--workers", "workers", "Decoding threads (0: all cores)", &c.workers, {"0"}, at_least(0)},
      {"--max-images", "max_images", "Images per epoch at most (0: all)", &c.max_images, {"0"}, at_least(0)},
      {"--mode", "mode",
       "plain (CycleGAN) or mix (MixCycleGAN: generators see mixup-H/V stitched inputs, discriminators a mixup-C "
       "loss with target lambda)",
       &c.mode, {"plain"}, one_of(modes)},
      {"--clean-share", "clean_share", "mix: share of batches left unstitched", &c.clean_share, {"0.1"}, fraction()},
      {"--alpha", "alpha", "mix: lambda ~ Beta(alpha, alpha)", &c.alpha, {"1"}, above(0)},
      {"--d-mix", "d_mix",
       "mix: the discriminator's mixed input: paper (eq. 3 literally, lambda x~ + (1 - lambda) G(x~)) or real-fake "
       "(lambda real + (1 - lambda) pooled fake, the mixup paper's GAN form); target lambda",
       &c.d_mix, {"paper"}, one_of(d_mixes)},
      {"--gan-loss", "gan_loss", "lsgan (least squares) or bce (cross-entropy with logits)", &c.gan_loss, {"lsgan"},
       one_of(gan_losses)},
      {"--ngf", "ngf", "Generator filters in the first convolution", &c.ngf, {"64"}, above(0)},
      {"--ndf", "ndf", "Discriminator filters in the first convolution", &c.ndf, {"64"}, above(0)},
      {"--g-blocks", "g_blocks", "Generator residual blocks (0: 9 from a crop of 256 on, else 6)", &c.g_blocks, {"0"},
       at_least(0)},
      {"--d-layers", "d_layers", "Discriminator stride-2 layers (3: the 70x70 PatchGAN)", &c.d_layers, {"3"},
       above(0)},
      {"--epochs", "epochs", "Epochs at the initial learning rate", &c.epochs, {"100"}, above(0)},
      {"--epochs-decay", "epochs_decay", "Then epochs of linear decay to 0", &c.epochs_decay, {"100"}, at_least(0)},
      {"--batch-size", "batch_size", "Images per domain and step", &c.batch_size, {"1"}, above(0)},
      {"--lr", "lr", "Adam learning rate", &c.lr, {"2e-4"}, above(0)},
      {"--beta1", "beta1", "Adam beta1", &c.beta1, {"0.5"}, fraction()},
      {"--beta2", "beta2", "Adam beta2", &c.beta2, {"0.999"}, fraction()},
      {"--lambda-cycle", "lambda_cycle", "Weight of the cycle losses", &c.lambda_cycle, {"10"}, at_least(0)},
      {"--lambda-identity", "lambda_identity", "Identity loss weight, as a share of --lambda-cycle (0: off)",
       &c.lambda_identity, {"0.5"}, at_least(0)},
      {"--pool-size", "pool_size", "Generated images kept per discriminator (0: none)", &c.pool_size, {"50"},
       at_least(0)},
      {"--grid-rows", "grid_rows", "Training images shown in each epoch's sample grid", &c.grid_rows, {"4"},
       above(0)},
      {"--seed", "seed", "Seed for initialisation, order, augmentation, stitching and pools", &c.seed, {"0"}, {}},
      {"--threads", "threads", "CPU threads (0: all cores)", &c.threads, {"0"}, at_least(0)},
      {"--device", "device", train::join_names(devices()), &c.device, {"auto"}, one_of(devices)},
      {"--out", "out", "Output directory", &c.out, {"runs/cyclegan"}, required()},
      {"--resume", "resume", "Continue the run in this output directory (its latest_* files)", &c.resume, {""}, {}},
      {"--save-minutes", "save_minutes",
       "Also save the latest_* files in the middle of an epoch when this many minutes have passed since the last "
       "save (0: only at epoch ends)",
       &c.save_minutes, {"15"}, at_least(0)},
  };
}

CycleGanConfig default_cyclegan_config() {
  CycleGanConfig c{};
  train::apply_defaults(cyclegan_settings(c), 0);
  return c;
}

void validate(const CycleGanConfig& config) {
  CycleGanConfig c = config;
  train::check_rows(cyclegan_settings(c));
  MX_CHECK(c.alpha >= mixup::kMinBetaParameter && c.alpha <= mixup::kMaxBetaParameter, "--alpha: ", c.alpha,
           " is outside [", mixup::kMinBetaParameter, ", ", mixup::kMaxBetaParameter, "] (Beta draws turn to NaN or a constant)");
  MX_CHECK(c.load_size >= c.crop_size, "--load-size ", c.load_size, " is smaller than --crop-size ", c.crop_size);
  MX_CHECK(c.crop_size % 4 == 0, "--crop-size: must be a multiple of 4 (the generator halves it twice), got ",
           c.crop_size);
}

nlohmann::json to_json(const CycleGanConfig& config) {
  CycleGanConfig c = config;
  return train::rows_json(cyclegan_settings(c));
}

CycleGanConfig cyclegan_config_from_json(const nlohmann::json& j, const std::string& path) {
  CycleGanConfig c = default_cyclegan_config();
  for (const Setting& s : cyclegan_settings(c)) {
    if (!j.contains(s.key)) continue;
    const nlohmann::json& v = j.at(s.key);
    train::assign(s, v.is_string() ? v.get<std::string>() : v.is_boolean() ? (v.get<bool>() ? "true" : "false")
                                                                             : v.dump());
  }
  try {
    validate(c);
  } catch (const Error& e) {
    MX_FAIL(path, ": ", e.what());
  }
  return c;
}

}  // namespace mx::gan
