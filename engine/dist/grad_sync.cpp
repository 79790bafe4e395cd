// GradSync: buckets over the flat gradient buffer, started from the autograd leaf hook, waited for
// before the optimizer step.
#include "engine/dist/grad_sync.h"

#include "engine/autograd.h"

namespace mx::dist {

GradSync::GradSync(ParameterStore& store, Communicator& comm, int64_t bucket_bytes) : store_(store), comm_(comm) {
  const auto& named = store.named();
  const auto& offsets = store.offsets();
  const int64_t per_bucket = std::max<int64_t>(1, bucket_bytes / static_cast<int64_t>(sizeof(float)));
  int64_t end = store.size();  // the last bucket takes the tail of alignment padding too
  Bucket open{0, end, 0, 0};
  for (size_t i = named.size(); i-- > 0;) {
    bucket_of_[named[i].second.impl()] = buckets_.size();
    ++open.params;
    open.begin = offsets[i];
    if (open.end - open.begin >= per_bucket || i == 0) {
      if (i == 0) open.begin = 0;
      buckets_.push_back(open);
      open = Bucket{0, open.begin, 0, 0};
    }
  }
}

std::vector<std::pair<int64_t, int64_t>> GradSync::bucket_ranges() const {
  std::vector<std::pair<int64_t, int64_t>> r;
  for (const Bucket& b : buckets_) r.emplace_back(b.begin, b.end);
  return r;
}

void GradSync::backward(const Tensor& loss) {
  // A world of one launched over MPI or NCCL still takes the bucketed path, so that its cost shows.
  if (comm_.backend() == "single") return loss.backward();
  for (Bucket& b : buckets_) b.left = b.params;
  next_ = 0;
  {
    LeafGradHook hook([this](const TensorImpl* leaf) { on_leaf(leaf); });
    loss.backward();
  }
  for (Bucket& b : buckets_) b.left = 0;  // parameters backward never reached keep zero gradients
  start_ready();
  for (auto& r : in_flight_) r->wait();
  in_flight_.clear();
}

void GradSync::on_leaf(const TensorImpl* leaf) {
  const auto it = bucket_of_.find(leaf);
  if (it == bucket_of_.end()) return;  // an input image, not a parameter
  if (--buckets_[it->second].left == 0) start_ready();
  comm_.progress();
}

void GradSync::start_ready() {
  Tensor& grads = store_.grads();
  for (; next_ < buckets_.size() && buckets_[next_].left == 0; ++next_) {
    const Bucket& b = buckets_[next_];
    in_flight_.push_back(comm_.start_all_reduce(grads.data<float>() + b.begin, b.end - b.begin, Elem::F32,
                                                grads.device(), Reduce::Avg));
  }
}

}  // namespace mx::dist
