// The NCCL communicator on one GPU (world size 1, bootstrapped as under torchrun through
// NCCL_COMM_ID): all-reduce (sum and average, floats and doubles, a slice), broadcast, barrier and
// host reductions through the staging buffer leave the data as a world of one must; and the gradient
// buckets of a training step averaged over NCCL give the step without a communicator. Only in a build
// with NCCL; skipped without a GPU.
#ifdef MIXUP_HAVE_NCCL
#include <random>

#include "engine/dist/backends.h"
#include "engine/dist/grad_sync.h"
#include "engine/ops.h"
#include "models/models.h"
#include "tests/cuda_fixtures.h"

using namespace mx;

namespace {

class CudaNccl : public test::CudaTest {
 protected:
  void SetUp() override {
    test::CudaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    comm_ = dist::make_nccl_communicator({0, 1, 0, 60, nullptr, "127.0.0.1:29647"});
  }
  std::unique_ptr<dist::Communicator> comm_;
};

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST_F(CudaNccl, CollectivesOfAWorldOfOneLeaveTheDataAsItIs) {
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(comm_->backend(), "nccl");
  for (const int64_t n : {int64_t{1}, int64_t{7}, int64_t{1000003}}) {
    const std::vector<float> host = random_values(n, static_cast<uint32_t>(n));
    Tensor t = Tensor::from_vector(host, {n}).to(Device::CUDA);
    comm_->all_reduce(t.data<float>(), n, dist::Elem::F32, Device::CUDA, dist::Reduce::Sum);
    comm_->all_reduce(t.data<float>(), n, dist::Elem::F32, Device::CUDA, dist::Reduce::Avg);
    comm_->broadcast(t.data<float>(), n * 4, Device::CUDA, 0);
    EXPECT_EQ(t.to_vector<float>(), host) << n;
  }
  std::vector<double> d{1.5, -2, 3};
  comm_->all_reduce_host(d.data(), 3, dist::Reduce::Sum);
  EXPECT_EQ(d, (std::vector<double>{1.5, -2, 3}));
  uint64_t word = 0x0123456789abcdefull;
  comm_->broadcast_host(&word, sizeof word, 0);
  EXPECT_EQ(word, 0x0123456789abcdefull);
  comm_->barrier();
}

TEST_F(CudaNccl, BucketedGradientsOfAWorldOfOneEqualTheStepWithoutCommunicator) {
  if (IsSkipped() || HasFatalFailure()) return;
  auto grads_of = [](dist::Communicator& c) {
    auto model = models::make_model("quicknet", {1, 28, 10, 3});
    ParameterStore store(*model, Device::CUDA);
    dist::GradSync sync(store, c, 64 << 10);
    const std::vector<float> x = random_values(4 * 28 * 28, 9);
    const Tensor images = Tensor::from_vector(x, {4, 1, 28, 28}).to(Device::CUDA);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4}, {4}).to(Device::CUDA);
    const Tensor ones = Tensor::full({4}, 1.f, Device::CUDA);
    sync.backward(ops::mixed_cross_entropy((*model)(images), y, y, ones));
    return store.grads().to_vector<float>();
  };
  dist::SingleProcess alone;
  EXPECT_EQ(grads_of(*comm_), grads_of(alone));
}
#endif
