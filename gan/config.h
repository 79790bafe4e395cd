// The settings of `mixup cyclegan`, one table (gan/config.cpp) as for `mixup train` (train/settings.h):
// flag, JSON key, help, default, check. Defaults are those of junyanz/pytorch-CycleGAN-and-pix2pix's
// train.py for CycleGAN: Adam lr 2e-4 with beta1 0.5, 100 epochs then 100 of linear decay, batch 1, load
// 286 / crop 256, LSGAN, lambda_cyc 10, identity 0.5, a pool of 50, ngf = ndf = 64.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/settings.h"

namespace mx::gan {

struct CycleGanConfig {
  std::string data_dir, layout, direction;
  int load_size, crop_size, workers;
  bool flip;
  int64_t max_images;  // per epoch (junyanz --max_dataset_size); 0: all
  std::string mode;    // plain | mix
  double clean_share, alpha;
  std::string d_mix;     // paper | real-fake
  std::string gan_loss;  // lsgan | bce
  int ngf, ndf, g_blocks, d_layers;
  int epochs, epochs_decay, batch_size;
  float lr, beta1, beta2;
  float lambda_cycle, lambda_identity;
  int pool_size, grid_rows;
  double save_minutes;  // a mid-epoch checkpoint when this many minutes have passed since the last save (0: off)
  uint64_t seed;
  int threads;
  std::string device, out, resume;
};

std::vector<train::Setting> cyclegan_settings(CycleGanConfig& c);
CycleGanConfig default_cyclegan_config();
void validate(const CycleGanConfig& c);  // every row's check; throws naming the flag
nlohmann::json to_json(const CycleGanConfig& c);
// The config.json of a run back into a configuration (for cyclegan-test); throws naming the file.
CycleGanConfig cyclegan_config_from_json(const nlohmann::json& j, const std::string& path);

}  // namespace mx::gan
