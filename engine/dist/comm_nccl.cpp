// The NCCL communicator for CUDA ranks. Collectives run on an NCCL stream of their own: each waits
// for an event recorded on the compute stream (its input is complete), and the compute stream waits
// for its done event in Request::wait, so the host never blocks for a gradient bucket. Host buffers
// go to the MPI communicator when the job has one (mpirun, srun), else through a small pinned host
// buffer and a device buffer, so that the host waits on an event the watchdog watches.
//
// Bootstrap: under MPI, rank 0's ncclUniqueId is broadcast over MPI. Under torchrun, every rank sets
// NCCL_COMM_ID=MASTER_ADDR:port and calls ncclGetUniqueId: with that variable NCCL encodes the
// address in the id instead of starting a root (bootstrapGetUniqueId in NCCL's src/bootstrap.cc), and
// rank 0's ncclCommInitRank creates the bootstrap root there (ncclCommInitRankDev in src/init.cc).
//
// Faults: the communicator is non-blocking (ncclConfig_t::blocking = 0), so that initialisation can
// be given up; a watchdog thread polls ncclCommGetAsyncError and the done events of the collectives in
// flight every 100 ms, and when NCCL reports an error or a collective is older than --dist-timeout it
// prints one line, calls ncclCommAbort and ends the process (with MPI_Abort when MPI started it). The
// watchdog works on the rank's GPU (a new thread starts on device 0), and the communicator is aborted
// once, by whichever thread gets there first.
#ifdef MIXUP_HAVE_NCCL
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/cuda/check.h"
#include "engine/cuda/stream.h"
#include "engine/dist/backends.h"

#define CHECK_NCCL(stmt) MX_CHECK_STATUS(stmt, ncclResult_t, ncclSuccess, ncclGetErrorString)

namespace mx::dist {

namespace {

using Clock = std::chrono::steady_clock;

// An event that is destroyed with its last owner (a request or the watchdog's list).
struct Event {
  cudaEvent_t e = nullptr;
  Event() { CHECK_CUDA(cudaEventCreateWithFlags(&e, cudaEventDisableTiming)); }
  ~Event() { cudaEventDestroy(e); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};
using EventPtr = std::shared_ptr<Event>;

// The compute stream waits for the collective; the host does not.
class StreamRequest final : public Request {
 public:
  explicit StreamRequest(EventPtr done) : done_(std::move(done)) {}
  void wait() override { CHECK_CUDA(cudaStreamWaitEvent(cuda::current_stream(), done_->e, 0)); }

 private:
  EventPtr done_;
};

struct Done final : Request {
  void wait() override {}
};

ncclDataType_t nccl_type(Elem e) { return e == Elem::F32 ? ncclFloat : ncclDouble; }
size_t elem_size(Elem e) { return e == Elem::F32 ? sizeof(float) : sizeof(double); }

class Nccl final : public Communicator {
 public:
  explicit Nccl(NcclSetup s)
      : Communicator(s.rank, s.world, s.local_rank), host_(std::move(s.host)), timeout_s_(s.timeout_s) {
    CHECK_CUDA(cudaGetDevice(&device_));
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    init(s.comm_id);
    watchdog_ = std::thread([this] { watch(); });
  }
  ~Nccl() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    watchdog_.join();
    shut_down();
    if (staging_) cudaFree(staging_);
    if (pinned_) cudaFreeHost(pinned_);
    cudaStreamDestroy(stream_);
  }
  std::string backend() const override { return host_ ? "nccl+mpi" : "nccl"; }

  std::unique_ptr<Request> start_all_reduce(void* data, int64_t count, Elem elem, Device dev, Reduce op) override {
    if (dev == Device::CPU) {
      if (host_) return host_->start_all_reduce(data, count, elem, dev, op);
      staged(data, count * static_cast<int64_t>(elem_size(elem)), [&](void* d) {
        return ncclAllReduce(d, d, static_cast<size_t>(count), nccl_type(elem), nccl_op(op), comm_, stream_);
      });
      return std::make_unique<Done>();
    }
    return std::make_unique<StreamRequest>(enqueue("all-reduce", [&] {
      return ncclAllReduce(data, data, static_cast<size_t>(count), nccl_type(elem), nccl_op(op), comm_, stream_);
    }));
  }
  void broadcast(void* data, int64_t bytes, Device dev, int root) override {
    if (dev == Device::CPU) {
      if (host_) return host_->broadcast(data, bytes, dev, root);
      return staged(data, bytes, [&](void* d) {
        return ncclBroadcast(d, d, static_cast<size_t>(bytes), ncclUint8, root, comm_, stream_);
      });
    }
    StreamRequest(enqueue("broadcast", [&] {
      return ncclBroadcast(data, data, static_cast<size_t>(bytes), ncclUint8, root, comm_, stream_);
    })).wait();
  }
  void barrier() override {
    if (host_) return host_->barrier();
    double one = 1;
    all_reduce(&one, 1, Elem::F64, Device::CPU, Reduce::Sum);
  }
  void abort_all(const std::string& message) override {
    ncclComm_t comm = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      comm = comm_.exchange(nullptr);
      stop_ = true;
    }
    if (comm) ncclCommAbort(comm);
    if (host_) host_->abort_all(message);
  }

 private:
  static ncclRedOp_t nccl_op(Reduce op) { return op == Reduce::Avg ? ncclAvg : ncclSum; }

  void init(const std::string& comm_id) {
    ncclUniqueId id;
    if (host_) {
      if (rank() == 0) CHECK_NCCL(ncclGetUniqueId(&id));
      host_->broadcast_host(&id, sizeof id, 0);
    } else {
      setenv("NCCL_COMM_ID", comm_id.c_str(), 0);  // a value the user set wins
      CHECK_NCCL(ncclGetUniqueId(&id));
    }
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclComm_t comm = nullptr;
    const ncclResult_t r = ncclCommInitRankConfig(&comm, world_size(), id, rank(), &config);
    comm_ = comm;  // a non-blocking init hands out the communicator before it has settled
    settle("ncclCommInitRankConfig", r);
  }

  // A non-blocking communicator may answer ncclInProgress: the result once the call has settled, or
  // ncclInProgress still after the timeout.
  ncclResult_t settled(ncclResult_t r) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_));
    while (r == ncclInProgress && Clock::now() <= deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      ncclCommGetAsyncError(comm_, &r);
    }
    return r;
  }

  // settled(r), failing the job where the call did not succeed in time.
  void settle(const char* what, ncclResult_t r) {
    r = settled(r);
    if (r == ncclInProgress) fail(detail::concat(what, " did not complete within --dist-timeout ", timeout_s_, " s"));
    if (r != ncclSuccess) fail(detail::concat(what, ": ", ncclGetErrorString(r), " (", ncclGetLastError(comm_), ")"));
  }

  // The documented end of a non-blocking communicator: ncclCommFinalize until it has settled, then
  // ncclCommDestroy; ncclCommAbort where finalizing fails or does not settle in time. Warns, never throws.
  void shut_down() {
    if (!comm_) return;
    const ncclResult_t r = settled(ncclCommFinalize(comm_));
    if (r != ncclSuccess) {
      std::fprintf(stderr, "warning: ncclCommFinalize: %s; aborting the communicator\n", ncclGetErrorString(r));
      ncclCommAbort(comm_);
    } else if (ncclCommDestroy(comm_) != ncclSuccess) {
      std::fprintf(stderr, "warning: ncclCommDestroy failed\n");
    }
  }

  // Queues `call` on the NCCL stream behind the compute stream's work so far; returns its done event,
  // which the watchdog keeps an eye on.
  template <typename Call>
  EventPtr enqueue(const char* what, Call call) {
    auto ready = std::make_shared<Event>(), done = std::make_shared<Event>();
    CHECK_CUDA(cudaEventRecord(ready->e, cuda::current_stream()));
    CHECK_CUDA(cudaStreamWaitEvent(stream_, ready->e, 0));
    settle(what, call());
    CHECK_CUDA(cudaEventRecord(done->e, stream_));
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.push_back({done, Clock::now(), what});
    return done;
  }

  // Host data through the device: into the pinned buffer, to the device, `call` on it, back, then the
  // host waits for the done event (which the watchdog watches, so a hung peer ends the job).
  template <typename Call>
  void staged(void* data, int64_t bytes, Call call) {
    if (bytes == 0) return;
    const auto n = static_cast<size_t>(bytes);
    if (bytes > staging_bytes_) {
      if (staging_) CHECK_CUDA(cudaFree(staging_));
      if (pinned_) CHECK_CUDA(cudaFreeHost(pinned_));
      staging_ = pinned_ = nullptr;
      staging_bytes_ = 0;  // until both allocations succeed
      CHECK_CUDA(cudaMalloc(&staging_, n));
      CHECK_CUDA(cudaMallocHost(&pinned_, n));
      staging_bytes_ = bytes;
    }
    std::memcpy(pinned_, data, n);
    CHECK_CUDA(cudaMemcpyAsync(staging_, pinned_, n, cudaMemcpyHostToDevice, stream_));
    settle("host collective", call(staging_));
    CHECK_CUDA(cudaMemcpyAsync(pinned_, staging_, n, cudaMemcpyDeviceToHost, stream_));
    const EventPtr done = std::make_shared<Event>();
    CHECK_CUDA(cudaEventRecord(done->e, stream_));
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_.push_back({done, Clock::now(), "host collective"});
    }
    CHECK_CUDA(cudaEventSynchronize(done->e));
    std::memcpy(data, pinned_, n);
  }

  // Every 100 ms: NCCL's asynchronous error, and the oldest collective in flight against the timeout.
  // The lock is let go before fail(), which aborts the communicator under it.
  void watch() {
    if (const cudaError_t err = cudaSetDevice(device_); err != cudaSuccess) {
      std::fprintf(stderr, "warning: rank %d: the NCCL watchdog cannot use cuda:%d (%s) and does not run\n", rank(),
                   device_, cudaGetErrorString(err));
      return;
    }
    std::string problem;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!poll(problem)) return;
      if (!problem.empty()) fail(problem);
    }
  }

  // False once the communicator is being destroyed or was aborted; else true, `problem` naming what
  // went wrong or empty.
  bool poll(std::string& problem) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || !comm_) return false;
    ncclResult_t r = ncclSuccess;
    ncclCommGetAsyncError(comm_, &r);
    if (r != ncclSuccess && r != ncclInProgress) {
      problem = detail::concat("NCCL reported ", ncclGetErrorString(r), " (", ncclGetLastError(comm_), ")");
      return true;
    }
    while (!in_flight_.empty() && cudaEventQuery(in_flight_.front().done->e) == cudaSuccess) in_flight_.pop_front();
    if (in_flight_.empty()) return true;
    if (std::chrono::duration<double>(Clock::now() - in_flight_.front().since).count() > timeout_s_)
      problem = detail::concat("NCCL ", in_flight_.front().what, " did not complete within --dist-timeout ", timeout_s_,
                               " s (another rank died or hangs)");
    return true;
  }

  [[noreturn]] void fail(const std::string& what) { abort_job(detail::concat("rank ", rank(), ": ", what)); }

  struct InFlight {
    EventPtr done;
    Clock::time_point since;
    const char* what;
  };
  std::unique_ptr<Communicator> host_;  // first member: MPI_Finalize comes after everything NCCL
  double timeout_s_;
  std::atomic<ncclComm_t> comm_{nullptr};  // null once aborted (by either thread)
  int device_ = 0;  // the rank's GPU, current when the communicator was made
  cudaStream_t stream_ = nullptr;
  void* staging_ = nullptr;  // staging_bytes_ on the device, and as many pinned on the host
  void* pinned_ = nullptr;
  int64_t staging_bytes_ = 0;
  std::mutex mu_;  // guards in_flight_ and stop_; the watchdog holds it while it uses comm_
  std::deque<InFlight> in_flight_;
  bool stop_ = false;
  std::thread watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(NcclSetup setup) { return std::make_unique<Nccl>(std::move(setup)); }

}  // namespace mx::dist
#endif
