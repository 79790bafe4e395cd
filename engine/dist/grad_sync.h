// Gradient averaging of data-parallel training, overlapped with backward: the flat gradient buffer of
// a ParameterStore is cut into buckets of about 25 MB in reverse parameter order (the order in which
// backward completes the gradients), and each bucket's all-reduce starts as soon as backward has made
// its last contribution to every parameter in it. Buckets start in a fixed order on every rank (a
// ready bucket waits for the ones before it), as MPI and NCCL require; the optimizer waits for the last.
#pragma once
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/dist/comm.h"
#include "engine/parameters.h"

namespace mx::dist {

constexpr int64_t kBucketBytes = 25 << 20;

class GradSync {
 public:
  GradSync(ParameterStore& store, Communicator& comm, int64_t bucket_bytes = kBucketBytes);
  // loss.backward(), and unless `comm` is a SingleProcess every gradient averaged over the ranks on
  // return.
  void backward(const Tensor& loss);
  // The buckets as [begin, end) ranges of the flat gradient buffer, in the order they start.
  std::vector<std::pair<int64_t, int64_t>> bucket_ranges() const;

 private:
  struct Bucket {
    int64_t begin = 0, end = 0;  // floats of the flat gradient buffer
    int params = 0, left = 0;    // parameters, and those whose gradient backward has not finished
  };
  void on_leaf(const TensorImpl* leaf);
  void start_ready();

  ParameterStore& store_;
  Communicator& comm_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const TensorImpl*, size_t> bucket_of_;
  size_t next_ = 0;  // the first bucket not started
  std::vector<std::unique_ptr<Request>> in_flight_;
};

}  // namespace mx::dist
