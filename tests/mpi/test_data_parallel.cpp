// Data-parallel training over MPI, run by ctest as `mpirun -np 2 mixup_mpi_tests`: every rank runs
// every test, so each collective below is met by both ranks. Checks: collectives are exact on awkward
// sizes; two ranks with half the batch each reach the weights of one rank with the whole batch; after
// an epoch the replicas are identical; a resumed two-rank run equals an uninterrupted one; a non-finite
// gradient on one rank is skipped on both.
#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <random>

#include "engine/dist/grad_sync.h"
#include "engine/dist/launch.h"
#include "engine/interrupt.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/threads.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace mx;

namespace {

dist::Communicator* g_comm = nullptr;

dist::Communicator& comm() { return *g_comm; }

// A folder made by rank 0 and named to every rank (the ranks share one machine's file system).
class SharedDir {
 public:
  SharedDir() {
    char path[256] = {};
    if (comm().rank() == 0) std::strncpy(path, dir_.path().c_str(), sizeof path - 1);
    comm().broadcast_host(path, sizeof path, 0);
    path_ = path;
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  test::TempDir dir_;  // rank 0's is the one used; it is removed after every rank is done (barrier)
  std::string path_;
};

// Every rank gets rank 0's copy of `values`.
std::vector<float> rank0_copy(std::vector<float> values) {
  comm().broadcast_host(values.data(), static_cast<int64_t>(values.size() * sizeof(float)), 0);
  return values;
}

}  // namespace

TEST(Mpi, RunsTwoRanks) {
  EXPECT_EQ(comm().world_size(), 2);
  EXPECT_EQ(comm().backend(), "mpi");
  EXPECT_GE(comm().local_rank(), 0);
}

TEST(Mpi, AllReduceAndBroadcastAreExactOnAwkwardSizes) {
  const int r = comm().rank(), w = comm().world_size();
  for (const int64_t n : {int64_t{1}, int64_t{7}, int64_t{1000003}}) {
    // Small integers and halves: every sum is exact in float, so any lost or doubled element shows.
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i % 1000) + 0.5f * r;
    std::vector<float> avg = v;
    comm().all_reduce(v.data(), n, dist::Elem::F32, Device::CPU, dist::Reduce::Sum);
    comm().all_reduce(avg.data(), n, dist::Elem::F32, Device::CPU, dist::Reduce::Avg);
    for (int64_t i = 0; i < n; ++i) {
      const float base = static_cast<float>(i % 1000);
      ASSERT_EQ(v[static_cast<size_t>(i)], w * base + 0.5f * (w * (w - 1) / 2)) << n << " " << i;
      ASSERT_EQ(avg[static_cast<size_t>(i)], base + 0.25f * (w - 1)) << n << " " << i;
    }
  }
  // A slice: only [3, 3 + 5) of 11 doubles is reduced; the rest keeps this rank's values.
  std::vector<double> d(11, 1.0 + r);
  comm().all_reduce(d.data() + 3, 5, dist::Elem::F64, Device::CPU, dist::Reduce::Sum);
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i], i >= 3 && i < 8 ? 3.0 : 1.0 + r) << i;
  std::vector<uint8_t> bytes(1001, static_cast<uint8_t>(r + 1));
  comm().broadcast_host(bytes.data(), static_cast<int64_t>(bytes.size()), 1);
  for (uint8_t b : bytes) ASSERT_EQ(b, 2);
  comm().barrier();
}

namespace {

// Conv -> ReLU -> global average -> linear, without batch norm, so that the loss of a batch is the
// mean of its samples' losses and two half batches average to the whole one.
std::shared_ptr<nn::Sequential> small_net() {
  std::mt19937 rng(5);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(3, 6, 3, ops::Conv2dArgs{1, 1, 1}, true, rng));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::GlobalAvgPool>());
  net->push_back(std::make_shared<nn::Linear>(6, 5, true, rng));
  return net;
}

// Trains small_net for `steps` steps of SGD with momentum on images [first, first + count) of each
// step's batch of `total`, averaging over `c`; buckets of 256 bytes, so the gradients span several.
std::vector<float> train_small_net(dist::Communicator& c, int64_t first, int64_t count, int64_t total, int steps) {
  auto net = small_net();
  ParameterStore store(*net);
  optim::Sgd sgd(store, {0.9f, 1e-3f, true});
  dist::GradSync sync(store, c, 256);
  EXPECT_GT(sync.bucket_ranges().size(), 1u);
  for (int s = 0; s < steps; ++s) {
    Tensor x = Tensor::empty({total, 3, 7, 5});
    Tensor y = Tensor::empty({total}, DType::I32);
    std::mt19937 rng(100 + s);
    std::normal_distribution<float> normal;
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng);
    for (int64_t i = 0; i < total; ++i) y.data<int32_t>()[i] = static_cast<int32_t>(rng() % 5);
    const Tensor xs = x.slice(first, first + count).clone(), ys = y.slice(first, first + count).clone();
    store.zero_grad();
    const Tensor loss = ops::mixed_cross_entropy((*net)(xs), ys, ys, Tensor::full({count}, 1.f));
    sync.backward(loss);
    sgd.step(0.1f);
  }
  return store.params().to_vector<float>();
}

}  // namespace

TEST(Mpi, TwoRanksWithHalfBatchesReachTheWeightsOfOneRankWithTheWholeBatch) {
  const int64_t b = 6;
  dist::SingleProcess alone;
  const std::vector<float> whole = train_small_net(alone, 0, 2 * b, 2 * b, 4);
  const std::vector<float> halves = train_small_net(comm(), comm().rank() * b, b, 2 * b, 4);
  ASSERT_EQ(whole.size(), halves.size());
  double worst = 0;
  for (size_t i = 0; i < whole.size(); ++i) worst = std::max(worst, std::abs(double(whole[i]) - halves[i]));
  EXPECT_LT(worst, 1e-5) << "largest difference of a weight";
  // The ranks themselves agree bit for bit: they averaged the same sums.
  EXPECT_EQ(rank0_copy(halves), halves);
}

namespace {

train::TrainConfig tiny_config(const std::string& data, const std::string& out) {
  train::TrainConfig c = test::tiny_run(data, out, 8);
  c.seed = 4;
  c.mixing.mix = "c";
  return c;
}

}  // namespace

class MpiTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    if (comm().rank() == 0) {
      std::filesystem::create_directories(dir_ / "data");
      test::write_tiny_fashion_mnist(dir_ / "data", 70, 30);
    }
    comm().barrier();
  }
  void TearDown() override { comm().barrier(); }
  SharedDir dir_;
};

TEST_F(MpiTrain, ReplicasAreIdenticalAfterEveryEpochAndOnlyRankZeroWrites) {
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "run");
  c.epochs = 1;
  train::Trainer t(c, {}, &comm());
  t.run();
  const std::vector<float> mine = const_cast<ParameterStore&>(t.parameters()).params().to_vector<float>();
  EXPECT_EQ(rank0_copy(mine), mine);
  const std::vector<float> statistics = t.parameters().buffers().to_vector<float>();  // broadcast before the test pass
  ASSERT_FALSE(statistics.empty());
  EXPECT_EQ(rank0_copy(statistics), statistics) << "every rank evaluates with rank 0's batch-norm statistics";
  comm().barrier();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/checkpoint.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/summary.json"));
  const std::string summary = test::read_file(dir_ / "run/summary.json");
  EXPECT_NE(summary.find("\"ranks\": 2"), std::string::npos) << summary;
}

// quicknet has batch norm: with --sync-bn, two ranks of batch 4 normalise with the statistics of the
// global batch of 8, so they follow one rank of batch 8 (no mixing or augmentation, which differ by rank).
TEST_F(MpiTrain, SyncBatchNormTwoRanksOfHalfBatchesFollowOneRankOfTheWholeBatch) {
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "sync");
  c.mixing.mix = "none";
  c.flip = false;
  c.epochs = 1;
  c.sync_bn = true;
  c.batch_size = 4;
  train::Trainer two(c, {}, &comm());
  two.run();
  c.batch_size = 8;
  c.out = dir_ / ("alone-" + std::to_string(comm().rank()));
  train::Trainer one(c, {});
  one.run();
  const std::vector<float> a = const_cast<ParameterStore&>(two.parameters()).params().to_vector<float>();
  const std::vector<float> b = const_cast<ParameterStore&>(one.parameters()).params().to_vector<float>();
  ASSERT_EQ(a.size(), b.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  EXPECT_LT(worst, 1e-4 * scale) << "largest difference of a weight; largest weight " << scale;
}

// The run "interrupted" after epoch 1 is the uninterrupted run's own epoch-1 checkpoint (written by
// rank 0, read by both ranks), resumed into another folder.
TEST_F(MpiTrain, ResumedTwoRankRunEqualsAnUninterruptedOne) {
  std::vector<float> full;
  {
    train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "full");
    c.save_every = 1;
    train::Trainer t(c, {}, &comm());
    t.run();
    full = const_cast<ParameterStore&>(t.parameters()).params().to_vector<float>();
  }
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "resumed");
  c.resume = dir_ / "full/epoch-1.safetensors";
  train::Trainer t(c, {}, &comm());
  t.run();
  EXPECT_EQ(const_cast<ParameterStore&>(t.parameters()).params().to_vector<float>(), full);
}

// A SIGTERM that reaches rank 1 alone: both ranks stop at the same step (the next agreement, step
// 10), rank 0 saves the resume point with both ranks' running scores, and the resumed two-rank run
// equals an uninterrupted one. One process cannot resume it: the shards of its epoch would differ.
TEST_F(MpiTrain, ASignalOnOneRankStopsBothAtOneStepAndTheResumedRunEqualsAnUninterruptedOne) {
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "stopped");
  c.batch_size = 2;  // 18 steps per epoch
  if (comm().rank() == 1) interrupt::request(SIGTERM);
  test::expect_stopped([&] { train::Trainer(c, {}, &comm()).run(); }, 143, "stopped at epoch 1 step 10");  // every rank
  interrupt::clear();
  comm().barrier();
  train::TrainConfig resumed = c;
  resumed.resume = dir_ / "stopped/checkpoint.safetensors";
  train::Trainer t(resumed, {}, &comm());
  t.run();
  train::TrainConfig full = c;
  full.out = dir_ / "full";
  train::Trainer u(full, {}, &comm());
  u.run();
  EXPECT_EQ(const_cast<ParameterStore&>(t.parameters()).params().to_vector<float>(),
            const_cast<ParameterStore&>(u.parameters()).params().to_vector<float>());
  comm().barrier();
  EXPECT_EQ(test::read_file(dir_ / "stopped/metrics.csv").substr(0, 60), test::read_file(dir_ / "full/metrics.csv").substr(0, 60));
}

TEST_F(MpiTrain, AResumePointInsideAnEpochNeedsAsManyRanks) {
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "two");
  c.batch_size = 2;
  c.epochs = 1;
  interrupt::request(SIGINT);  // both ranks stop at step 10
  EXPECT_THROW(train::Trainer(c, {}, &comm()).run(), interrupt::Stopped);
  interrupt::clear();
  comm().barrier();
  c.resume = dir_ / "two/checkpoint.safetensors";
  c.out = dir_ / ("alone-" + std::to_string(comm().rank()));
  try {
    train::Trainer(c, {});
    ADD_FAILURE() << "one process must refuse a resume point of two ranks";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("by 2 ranks; resume it with as many"), std::string::npos) << e.what();
  }
}

// A NaN image on rank 1 alone: its loss and gradient are NaN, rank 0's are finite, and the averaged
// gradient is NaN on both. The step guard decides from that gradient, so both ranks skip the update and
// the replicas stay identical, with the weights they started from.
TEST_F(MpiTrain, ANonFiniteGradientOnOneRankIsSkippedOnEveryRank) {
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "nonfinite");
  c.skip_nonfinite = 1;
  train::Trainer t(c, {}, &comm());
  ParameterStore& store = const_cast<ParameterStore&>(t.parameters());
  const std::vector<float> before = store.params().to_vector<float>();
  data::Batch b{Tensor::full({8, 1, 28, 28}, 0.5f), Tensor::zeros({8}, DType::I32), {}};
  if (comm().rank() == 1) b.images.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  t.step(b);
  EXPECT_EQ(store.params().to_vector<float>(), before) << "rank " << comm().rank();
  b.images.data<float>()[0] = 0.5f;
  t.step(b);
  const std::vector<float> after = store.params().to_vector<float>();
  EXPECT_NE(after, before) << "a finite step updates";
  EXPECT_EQ(rank0_copy(after), after);
}

TEST_F(MpiTrain, RanksWithDifferentSettingsAreRefusedOnEveryRank) {
  train::TrainConfig c = tiny_config(dir_ / "data", dir_ / "mismatch");
  c.lr = comm().rank() == 0 ? 0.1f : 0.2f;
  try {
    train::Trainer t(c, {}, &comm());
    FAIL() << "expected the settings check to refuse the job";
  } catch (const dist::JobError& e) {
    EXPECT_NE(std::string(e.what()).find("settings that differ from rank 0's"), std::string::npos) << e.what();
  }
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::unique_ptr<dist::Communicator> c = dist::make_communicator(dist::detect_launch(), Device::CPU, 120);
  g_comm = c.get();
  set_num_threads(1);
  if (c->rank() != 0) {  // one rank's report is enough; a failure on any rank still fails the job
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int status = RUN_ALL_TESTS();
  double failed = status;
  c->all_reduce_host(&failed, 1, dist::Reduce::Sum);
  return failed == 0 ? 0 : 1;
}
