// Penultimate features: the network run with its classifier (the last Linear layer) passing its input
// through, so no model needs a features() method of its own.
#include "models/models.h"

namespace mx::models {

namespace {

// Sets a Linear layer to pass its input through for its lifetime (also when forward throws).
class PassThrough {
 public:
  explicit PassThrough(nn::Linear& layer) : layer_(layer) { layer_.pass_through = true; }
  ~PassThrough() { layer_.pass_through = false; }
  PassThrough(const PassThrough&) = delete;
  PassThrough& operator=(const PassThrough&) = delete;

 private:
  nn::Linear& layer_;
};

}  // namespace

Tensor penultimate_features(nn::Module& model, const Tensor& x) {
  nn::Linear* last = nullptr;
  model.for_each_module([&last](nn::Module& m) {
    if (auto* linear = dynamic_cast<nn::Linear*>(&m)) last = linear;
  });
  MX_CHECK(last != nullptr, "penultimate_features: the model has no Linear layer");
  PassThrough guard(*last);
  return model(x);
}

}  // namespace mx::models
