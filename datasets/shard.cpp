// The per-rank cut of an epoch's order (shard.h).
#include "datasets/shard.h"

#include <algorithm>

namespace mx::data {

namespace {

// The tail part of rank s.rank: it starts `tail_start` positions in and holds `tail` positions in all.
Span tail_span(int64_t tail_start, int64_t tail, const Shard& s) {
  const int64_t per = tail / s.world, extra = s.keep_all ? tail % s.world : 0;
  const int64_t r = s.rank;
  return {tail_start + r * per + std::min(r, extra), per + (r < extra ? 1 : 0)};
}

}  // namespace

int64_t shard_steps(int64_t n, int64_t b, const Shard& s, bool drop_last) {
  const int64_t full = n / (b * s.world);
  if (drop_last) return full;
  return full + (tail_span(full * b * s.world, n - full * b * s.world, s).count > 0 ? 1 : 0);
}

Span shard_span(int64_t n, int64_t b, const Shard& s, int64_t step) {
  const int64_t full = n / (b * s.world);
  if (step < full) return {(step * s.world + s.rank) * b, b};
  return tail_span(full * b * s.world, n - full * b * s.world, s);
}

}  // namespace mx::data
