// Test-only communicators (engine/dist/comm.h) for data-parallel code without a launcher:
// MirroredRanks plays a world whose every rank holds this rank's data, on CPU or CUDA buffers;
// ThreadRanks joins ranks that run on threads of one process, on host buffers of doubles.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/dist/comm.h"
#include "engine/error.h"
#include "engine/memory.h"

namespace mx::test {

// A collective that was complete when it started.
struct CompletedRequest final : dist::Request {
  void wait() override {}
};

// Rank 0 of `world` ranks that all hold the same data: a Sum all-reduce multiplies the data by the world
// size (through the host for CUDA buffers), an Avg leaves it. Counts its all-reduces.
class MirroredRanks final : public dist::Communicator {
 public:
  explicit MirroredRanks(int world) : Communicator(0, world, 0) {}
  std::string backend() const override { return "mirrored"; }
  std::unique_ptr<dist::Request> start_all_reduce(void* data, int64_t count, dist::Elem elem, Device dev,
                                                  dist::Reduce op) override {
    ++all_reduces;
    if (op == dist::Reduce::Sum) {
      elem == dist::Elem::F64 ? scale<double>(data, count, dev) : scale<float>(data, count, dev);
    }
    return std::make_unique<CompletedRequest>();
  }
  void broadcast(void*, int64_t, Device, int) override {}
  void barrier() override {}
  void abort_all(const std::string& message) override { MX_FAIL("MirroredRanks: ", message); }

  int all_reduces = 0;

 private:
  template <typename T>
  void scale(void* data, int64_t count, Device dev) const {
    std::vector<T> host(static_cast<size_t>(count));
    device_copy(host.data(), Device::CPU, data, dev, host.size() * sizeof(T));
    for (T& v : host) v *= static_cast<T>(world_size());
    device_copy(data, dev, host.data(), Device::CPU, host.size() * sizeof(T));
  }
};

// Ranks on threads of one process: make one ThreadRanks::Group for the world and give each thread its
// own ThreadRanks(group, rank). Every rank must make the same all-reduces in the same order; they take
// host buffers of F64 and add the ranks' values in rank order, so every rank gets the same bits. A rank
// that waits more than a minute for the others throws.
class ThreadRanks final : public dist::Communicator {
 public:
  class Group {
   public:
    explicit Group(int world) : world_(world), values_(static_cast<size_t>(world)) {}
    int world() const { return world_; }

    // values[0, count) of every rank replaced by their sum over the ranks.
    void sum(int rank, double* values, int64_t count) {
      std::unique_lock<std::mutex> lock(mutex_);
      values_[static_cast<size_t>(rank)] = values;
      arrive(lock);  // every rank's values are posted
      std::vector<double> total(static_cast<size_t>(count), 0.0);
      for (const double* v : values_)
        for (int64_t i = 0; i < count; ++i) total[static_cast<size_t>(i)] += v[i];
      arrive(lock);  // every rank has read every rank's values
      for (int64_t i = 0; i < count; ++i) values[i] = total[static_cast<size_t>(i)];
    }

   private:
    void arrive(std::unique_lock<std::mutex>& lock) {
      const uint64_t generation = generation_;
      if (++arrived_ == world_) {
        arrived_ = 0;
        ++generation_;
        changed_.notify_all();
      } else if (!changed_.wait_for(lock, std::chrono::minutes(1), [&] { return generation_ != generation; })) {
        MX_FAIL("ThreadRanks: the other ranks did not join the all-reduce");
      }
    }
    const int world_;
    std::vector<const double*> values_;
    std::mutex mutex_;
    std::condition_variable changed_;
    int arrived_ = 0;
    uint64_t generation_ = 0;
  };

  ThreadRanks(Group& group, int rank) : Communicator(rank, group.world(), rank), group_(group) {}
  std::string backend() const override { return "threads"; }
  std::unique_ptr<dist::Request> start_all_reduce(void* data, int64_t count, dist::Elem elem, Device dev,
                                                  dist::Reduce op) override {
    MX_CHECK(elem == dist::Elem::F64 && dev == Device::CPU, "ThreadRanks: host F64 buffers only");
    double* values = static_cast<double*>(data);
    group_.sum(rank(), values, count);
    if (op == dist::Reduce::Avg)
      for (int64_t i = 0; i < count; ++i) values[i] /= world_size();
    return std::make_unique<CompletedRequest>();
  }
  void broadcast(void*, int64_t, Device, int) override { MX_FAIL("ThreadRanks: no broadcast"); }
  void barrier() override {}
  void abort_all(const std::string& message) override { MX_FAIL("ThreadRanks: ", message); }

 private:
  Group& group_;
};

}  // namespace mx::test
