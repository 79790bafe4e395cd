// Data-parallel sharding of one epoch's sample order over the ranks. Step k covers positions
// [k·W·b, (k+1)·W·b) of the order (W ranks, b images per rank) and rank r takes the r-th b of them, so
// W ranks with batch b see, step by step, the same images as one rank with batch W·b, and an image's
// augmentation (drawn from its position in the order) is the same either way. The tail, fewer than
// W·b positions, is cut into W consecutive parts: of floor(tail / W) each for training, the rest
// unused, so that every rank's batch has the same size and averaged gradients are exact; for
// evaluation (keep_all) of sizes that differ by at most one, so that every image counts once.
// With one rank this is the plain cut into batches of b.
#pragma once
#include <cstdint>

namespace mx::data {

struct Shard {
  int rank = 0, world = 1;
  bool keep_all = false;  // evaluation: the tail is shared out without dropping any image
};

struct Span {
  int64_t first = 0, count = 0;  // positions in the epoch's order
};

// The steps rank s.rank takes over an order of n positions with b images per step (drop_last: whole
// steps only).
int64_t shard_steps(int64_t n, int64_t b, const Shard& s, bool drop_last = false);
// The positions of step `step` of rank s.rank (step < shard_steps).
Span shard_span(int64_t n, int64_t b, const Shard& s, int64_t step);

}  // namespace mx::data
