// The communicator of data-parallel training: who this process is (rank, world size, local rank) and
// the collectives the training step needs (all-reduce of the flat gradient buffer or a slice of it,
// broadcast, barrier, small host reductions for metrics). Implementations: SingleProcess (world 1,
// every collective a no-op), MPI for CPU tensors (comm_mpi.cpp) and NCCL for CUDA tensors
// (comm_nccl.cpp); make_communicator() (launch.h) picks one from the launcher's environment.
//
// Every collective must be called by every rank in the same order (MPI's and NCCL's rule). A
// collective that does not complete within the timeout (--dist-timeout: a rank died or hangs) ends
// the whole job with a one-line error; it never hangs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/device.h"
#include "engine/error.h"

namespace mx::dist {

// An error that every rank of the job raises alike (a collective check failed): rank 0 reports it,
// and the ranks end normally instead of aborting the job.
struct JobError : Error {
  using Error::Error;
};

enum class Elem { F32, F64 };
enum class Reduce { Sum, Avg };

// A collective in flight. wait() returns when its result may be read by the next work on the
// buffer's device (on a GPU: queued behind it on the compute stream, without blocking the host).
class Request {
 public:
  virtual ~Request() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  int local_rank() const { return local_rank_; }
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl" or "nccl+mpi"

  // Starts an in-place all-reduce of `count` elements at `data`, which lives on `dev`.
  virtual std::unique_ptr<Request> start_all_reduce(void* data, int64_t count, Elem elem, Device dev, Reduce op) = 0;
  void all_reduce(void* data, int64_t count, Elem elem, Device dev, Reduce op) {
    start_all_reduce(data, count, elem, dev, op)->wait();
  }
  virtual void broadcast(void* data, int64_t bytes, Device dev, int root) = 0;
  virtual void barrier() = 0;
  // Lets outstanding requests advance (MPI progresses only inside its calls); cheap, may do nothing.
  virtual void progress() {}
  // Ends every rank of the job now (after an error on this one), so that none waits for the timeout:
  // prints "mixup: error: <message>", lets the backend tear the job down, and exits with status 1.
  [[noreturn]] void abort_job(const std::string& message);
  virtual void abort_all(const std::string& message) = 0;  // the backend's part of abort_job (MPI_Abort, ...)

  // Host conveniences, on top of the collectives above.
  void all_reduce_host(double* values, int64_t count, Reduce op) {
    all_reduce(values, count, Elem::F64, Device::CPU, op);
  }
  void broadcast_host(void* data, int64_t bytes, int root) { broadcast(data, bytes, Device::CPU, root); }

 protected:
  Communicator(int rank, int world, int local_rank) : rank_(rank), world_(world), local_rank_(local_rank) {}

 private:
  int rank_, world_, local_rank_;
};

// One process, no launcher: rank 0 of 1; every collective leaves the data as it is.
class SingleProcess final : public Communicator {
 public:
  SingleProcess() : Communicator(0, 1, 0) {}
  std::string backend() const override { return "single"; }
  std::unique_ptr<Request> start_all_reduce(void*, int64_t, Elem, Device, Reduce) override;
  void broadcast(void*, int64_t, Device, int) override {}
  void barrier() override {}
  void abort_all(const std::string& message) override;
};

}  // namespace mx::dist
