// The training loop's side of data-parallel runs: refusing ranks started with different settings,
// adding up per-rank metrics, and the line that says how the job is laid out.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "engine/dist/comm.h"
#include "train/scores.h"

namespace mx::train {

// Every rank hashes its resolved configuration (FNV-1a over config.json's text) and compares it with
// rank 0's; when any rank differs, all of them throw the same one-line error.
void check_same_settings(const nlohmann::json& config, dist::Communicator& comm);

// The totals of every rank added up (every rank gets the sums).
ScoreTotals summed_over_ranks(const ScoreTotals& t, dist::Communicator& comm);

// "data-parallel: 2 ranks over mpi, batch 64 per rank = 128 global, lr 0.2 (--lr-scale linear)"
std::string layout_notice(const dist::Communicator& comm, int batch, float lr, const std::string& lr_scale);

}  // namespace mx::train
