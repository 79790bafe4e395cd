// Data-parallel training from the outside: the per-rank cut of an epoch (datasets/shard.h), the
// gradient buckets, launcher errors, and whole jobs started by mpirun: ranks started with different
// flags are refused with one line, and a rank that dies or hangs ends the job with a non-zero status
// within --dist-timeout instead of hanging it. The collectives themselves are tested under mpirun by
// tests/mpi.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>

#include "datasets/shard.h"
#include "engine/dist/grad_sync.h"
#include "models/models.h"
#include "tests/fixtures.h"

using namespace mx;
namespace fs = std::filesystem;

TEST(Shard, OneRankCutsTheOrderIntoPlainBatches) {
  const data::Shard one;
  EXPECT_EQ(data::shard_steps(10, 4, one), 3);
  EXPECT_EQ(data::shard_steps(10, 4, one, true), 2);
  for (int64_t k = 0; k < 3; ++k) {
    const data::Span s = data::shard_span(10, 4, one, k);
    EXPECT_EQ(s.first, 4 * k);
    EXPECT_EQ(s.count, k < 2 ? 4 : 2);
  }
}

TEST(Shard, RanksTakeConsecutivePiecesOfEachGlobalBatchAndEqualTails) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const int world = 1 + static_cast<int>(rng() % 5);
    const int64_t b = 1 + static_cast<int64_t>(rng() % 9), n = 1 + static_cast<int64_t>(rng() % 120);
    for (const bool keep_all : {false, true}) {
      std::vector<int> seen(static_cast<size_t>(n), 0);
      const int64_t steps0 = data::shard_steps(n, b, {0, world, keep_all});
      for (int r = 0; r < world; ++r) {
        const data::Shard s{r, world, keep_all};
        const int64_t steps = data::shard_steps(n, b, s);
        if (!keep_all) {
          EXPECT_EQ(steps, steps0) << "every training rank takes as many steps";
        }
        for (int64_t k = 0; k < steps; ++k) {
          const data::Span sp = data::shard_span(n, b, s, k);
          ASSERT_GT(sp.count, 0);
          ASSERT_LE(sp.count, b);
          if (!keep_all) {
            EXPECT_EQ(sp.count, data::shard_span(n, b, {0, world, false}, k).count);
          }
          for (int64_t i = sp.first; i < sp.first + sp.count; ++i) ++seen[static_cast<size_t>(i)];
        }
      }
      const int64_t dropped = std::count(seen.begin(), seen.end(), 0);
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1) + dropped, n) << "no position is visited twice";
      if (keep_all) {
        EXPECT_EQ(dropped, 0) << "evaluation counts every image";
      } else {
        EXPECT_LT(dropped, world) << "training drops less than one image per rank";
      }
      // W ranks of batch b visit, step by step, the positions one rank of batch W*b visits.
      if (!keep_all && n >= world * b) {
        EXPECT_EQ(data::shard_span(n, b, {world - 1, world, false}, 0).first + b,
                  data::shard_span(n, world * b, {}, 0).count);
      }
    }
  }
}

TEST(GradSync, BucketsCoverTheGradientBufferInReverseOrder) {
  auto model = models::make_model("preact-resnet18", {3, 32, 10, 1});
  ParameterStore store(*model);
  dist::SingleProcess one;
  const int64_t bucket = 4 << 20;
  const auto ranges = dist::GradSync(store, one, bucket).bucket_ranges();
  ASSERT_GT(ranges.size(), 5u);
  EXPECT_EQ(ranges.front().second, store.size());
  EXPECT_EQ(ranges.back().first, 0);
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(ranges[i].second, ranges[i - 1].first) << "contiguous, last parameters first";
    }
    if (i + 1 < ranges.size()) {
      EXPECT_GE((ranges[i].second - ranges[i].first) * 4, bucket) << i;
    }
  }
}

namespace {

class DataParallelJob : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_ / "data");
    test::write_tiny_fashion_mnist(tmp_ / "data", 400, 40);
  }
  std::string train_args(const std::string& out, const std::string& extra = "") const {
    return std::string(MIXUP_BINARY) + " train --data-dir " + tmp_.path() + "/data --out " + out +
           " --batch-size 8 --threads 1 --device cpu " + extra;
  }
#ifdef MIXUP_MPIEXEC  // a build with MPI: jobs of two ranks under mpirun
  test::RunResult mpirun(const std::string& args) const {
    return test::run_command("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " + std::string(MIXUP_MPIEXEC) +
                                 " --oversubscribe " + args,
                             tmp_);
  }
  // Starts a long two-rank job, waits for its first epoch, sends `signal` to rank 1 and returns the
  // job's exit status and the seconds it took to end after the signal.
  std::pair<int, double> disturb_rank_1(const char* signal, int timeout_s) {
    const std::string out = tmp_ / "run", script = tmp_ / "disturb.sh";
    {
      std::ofstream f(script);
      f << "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " << MIXUP_MPIEXEC << " --oversubscribe -np 2 "
        << train_args(out, "--epochs 1000 --dist-timeout " + std::to_string(timeout_s)) << " >/dev/null 2>&1 &\n"
        << "job=$!\n"
        << "for i in $(seq 600); do [ -f " << out << "/metrics.csv ] && break; sleep 0.1; done\n"
        << "victim=$(pgrep -P $job | sort -n | tail -1)\n"
        << "start=$(date +%s.%N); kill -" << signal << " $victim; wait $job; rc=$?\n"
        << "echo \"$rc $(echo \"$(date +%s.%N) - $start\" | bc)\"; kill -9 $victim 2>/dev/null; exit 0\n";
    }
    const test::RunResult r = test::run_command("bash " + script, tmp_);
    std::istringstream in(r.out);
    int rc = -1;
    double seconds = -1;
    in >> rc >> seconds;
    return {rc, seconds};
  }
#endif
  test::TempDir tmp_;
};

}  // namespace

TEST_F(DataParallelJob, TorchrunWithCpuRanksIsAOneLineError) {
  const std::string env = "RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 ";
  const test::RunResult r = test::run_command(env + train_args(tmp_ / "run", "--epochs 1"), tmp_);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.err.rfind("mixup: error: torchrun: CPU ranks need MPI", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

#ifdef MIXUP_MPIEXEC
TEST_F(DataParallelJob, RanksStartedWithDifferentFlagsAreRefusedWithOneLine) {
  const std::string out = tmp_ / "run";
  const test::RunResult r =
      mpirun("-np 1 " + train_args(out, "--epochs 1 --lr 0.1") + " : -np 1 " + train_args(out, "--epochs 1 --lr 0.2"));
  EXPECT_NE(r.status, 0);
  size_t lines = 0;
  for (size_t at = r.err.find("mixup: error: "); at != std::string::npos; at = r.err.find("mixup: error: ", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << r.err;
  EXPECT_NE(r.err.find("ranks were started with settings that differ from rank 0's"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/checkpoint.safetensors"));
}

TEST_F(DataParallelJob, TwoRanksTrainAndSayHowTheJobIsLaidOut) {
  const test::RunResult r = mpirun("-np 2 " + train_args(tmp_ / "run", "--epochs 1 --lr-scale linear"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("data-parallel: 2 ranks over mpi, batch 8 per rank = 16 global, lr 0.2 (--lr-scale linear)"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(tmp_ / "run/checkpoint.safetensors"));
}

TEST_F(DataParallelJob, AKilledRankEndsTheJobWithAnError) {
  const auto [rc, seconds] = disturb_rank_1("KILL", 30);
  EXPECT_NE(rc, 0);
  EXPECT_GE(seconds, 0);
  EXPECT_LT(seconds, 30);
}

TEST_F(DataParallelJob, AHungRankEndsTheJobWithinTheTimeout) {
  const auto [rc, seconds] = disturb_rank_1("STOP", 5);
  EXPECT_NE(rc, 0);
  EXPECT_GE(seconds, 4);  // the other rank waited for its collective
  EXPECT_LT(seconds, 30);
}
#endif
