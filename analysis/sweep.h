// `mixup sweep`: the paper's experiment grids as lists of training runs (Table 1, Fig. 1 (a)-(d)),
// run one after another from a base recipe, summarised in results.csv and results.md. A run whose
// summary.json already exists is read back instead of trained again, so a sweep can be resumed.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "train/trainer.h"

namespace mx::analysis {

struct SweepRun {
  std::string name;       // folder name and table row, e.g. "mixup-HV" or "lx=0.5 ll~U[0.4,0.6]"
  mixup::MixerOptions mixing;
};

std::vector<std::string> sweep_names();  // table1, fig1a, fig1b, fig1c, fig1d
std::vector<SweepRun> sweep_runs(const std::string& name);  // throws naming --sweep

// Runs every configuration of `name` with `base` (its out is the sweep's folder) and writes
// results.csv and results.md there; returns the markdown table.
std::string run_sweep(const std::string& name, const train::TrainConfig& base, const train::TrainCallbacks& cb);

}  // namespace mx::analysis
