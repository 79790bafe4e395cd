// The ordered batch pipeline of the streaming loaders (FolderLoader, TranslationLoader): persistent
// worker threads claim whole batches in order, keep at most `ahead` of them ready, and the consumer
// takes them in order with the warnings their making produced; start() begins an epoch and drops
// whatever belongs to the last one. A batch depends only on what `make` is given, so the batches are
// the same whatever the number of workers.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mx::data {

template <typename T>
class BatchPipeline {
 public:
  // make(index, warnings) builds batch `index` of the epoch on a worker; warning lines go to `warnings`.
  using Make = std::function<T(int64_t index, std::vector<std::string>& warnings)>;

  BatchPipeline(int workers, int64_t ahead) : ahead_(ahead) {
    for (int w = 0; w < workers; ++w) workers_.emplace_back([this] { run(); });
  }
  ~BatchPipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;

  // A new epoch of `batches` batches, from batch `first` on; batches of the last epoch still being
  // made are thrown away.
  void start(int64_t batches, Make make, int64_t first = 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      make_ = std::make_shared<const Make>(std::move(make));
      ++generation_;
      batches_ = batches;
      claimed_ = consumed_ = first;
      ready_.clear();
      error_ = nullptr;
    }
    cv_.notify_all();
  }

  // The next batch and its warnings; false after the last; rethrows the first exception of a worker.
  bool next(T& out, std::vector<std::string>& warnings) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (consumed_ == batches_) return false;
      cv_.wait(lock, [&] { return ready_.count(consumed_) || error_; });
      if (error_) std::rethrow_exception(error_);
      const auto it = ready_.find(consumed_);
      out = std::move(it->second.first);
      warnings = std::move(it->second.second);
      ready_.erase(it);
      ++consumed_;
    }
    cv_.notify_all();
    return true;
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock,
               [&] { return stop_ || (make_ && !error_ && claimed_ < batches_ && claimed_ < consumed_ + ahead_); });
      if (stop_) return;
      const uint64_t job = generation_;
      const int64_t index = claimed_++;
      const std::shared_ptr<const Make> make = make_;
      lock.unlock();
      std::optional<T> batch;
      std::vector<std::string> lines;
      std::exception_ptr failure;
      try {
        batch = (*make)(index, lines);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      if (job != generation_) continue;  // start() came while this batch was being made
      if (failure && !error_) error_ = failure;
      if (batch) ready_.emplace(index, std::make_pair(std::move(*batch), std::move(lines)));
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_. `generation_` changes with every start() so that the workers drop stale batches.
  std::shared_ptr<const Make> make_;
  uint64_t generation_ = 0;
  int64_t ahead_ = 1, batches_ = 0, claimed_ = 0, consumed_ = 0;
  std::map<int64_t, std::pair<T, std::vector<std::string>>> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  std::vector<std::thread> workers_;  // last, so that they start after everything above exists
};

}  // namespace mx::data
