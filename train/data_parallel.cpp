// Settings check, metric sums and the layout line of data-parallel training (data_parallel.h).
#include "train/data_parallel.h"

#include <cstdint>
#include <vector>

#include "engine/error.h"

namespace mx::train {

namespace {

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  return h;
}

}  // namespace

void check_same_settings(const nlohmann::json& config, dist::Communicator& comm) {
  if (comm.world_size() == 1) return;
  const uint64_t mine = fnv1a(config.dump());
  uint64_t first = mine;
  comm.broadcast_host(&first, sizeof first, 0);
  double differs = first == mine ? 0 : 1;
  comm.all_reduce_host(&differs, 1, dist::Reduce::Sum);
  if (differs != 0)
    throw dist::JobError(detail::concat("data-parallel: ", differs, " of ", comm.world_size(),
                                        " ranks were started with settings that differ from rank 0's (their "
                                        "config.json would differ); give every rank the same flags"));
}

ScoreTotals summed_over_ranks(const ScoreTotals& t, dist::Communicator& comm) {
  std::vector<double> v{t.loss_sum, t.weighted, t.x1x2, t.x2x1, t.seen};
  comm.all_reduce_host(v.data(), static_cast<int64_t>(v.size()), dist::Reduce::Sum);
  return {v[0], v[1], v[2], v[3], v[4]};
}

std::string layout_notice(const dist::Communicator& comm, int batch, float lr, const std::string& lr_scale) {
  const int w = comm.world_size();
  return detail::concat("data-parallel: ", w, " ranks over ", comm.backend(), ", batch ", batch,
                        " per rank = ", batch * w, " global, lr ", lr, " (--lr-scale ", lr_scale, ")");
}

}  // namespace mx::train
