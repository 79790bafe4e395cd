// The MPI communicator (Open MPI from Debian, or any MPI-3 library) for CPU ranks started by mpirun
// or srun. Collectives are MPI's non-blocking ones (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) on a
// duplicate of MPI_COMM_WORLD; a wait tests its request until it completes or --dist-timeout passes,
// and then ends the job with MPI_Abort instead of hanging.
#ifdef MIXUP_HAVE_MPI
#include <mpi.h>

#include <chrono>
#include <climits>
#include <thread>

#include "engine/dist/backends.h"
#include "engine/error.h"

namespace mx::dist {

namespace {

using Clock = std::chrono::steady_clock;

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  MX_FAIL(what, ": ", std::string(text, static_cast<size_t>(len)));
}

int world_value(int (*query)(MPI_Comm, int*)) {
  int v = 0;
  check_mpi(query(MPI_COMM_WORLD, &v), "MPI_COMM_WORLD");
  return v;
}

// The rank of this process among those on its node (MPI_COMM_TYPE_SHARED: one shared-memory domain).
int node_local_rank() {
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int r = 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}

struct Place {
  int rank, world, local_rank;
};

// MPI_Init_thread (unless the program did it already), then where this process stands in the job.
Place join_mpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  const int rank = world_value(MPI_Comm_rank), world = world_value(MPI_Comm_size);
  return {rank, world, node_local_rank()};
}

// Reduce::Avg: the sum divided by the world size once it is in.
struct Average {
  void* data = nullptr;
  int64_t count = 0;
  Elem elem = Elem::F32;
  int world = 1;
  void apply() const {
    if (elem == Elem::F32) scale(static_cast<float*>(data));
    else scale(static_cast<double*>(data));
  }
  template <typename T>
  void scale(T* p) const {
    const T inv = T(1) / static_cast<T>(world);
    for (int64_t i = 0; i < count; ++i) p[i] *= inv;
  }
};

class Mpi;

// One non-blocking collective; wait() tests it until it is done or the deadline has passed.
class MpiRequest final : public Request {
 public:
  MpiRequest(Mpi& comm, MPI_Request req, const char* what, Average avg = {})
      : comm_(comm), req_(req), what_(what), avg_(avg), start_(Clock::now()) {}
  ~MpiRequest() override {
    if (req_ != MPI_REQUEST_NULL) wait();
  }
  void wait() override;

 private:
  Mpi& comm_;
  MPI_Request req_;
  const char* what_;
  Average avg_;
  Clock::time_point start_;
};

class Mpi final : public Communicator {
 public:
  explicit Mpi(double timeout_s) : Mpi(join_mpi(), timeout_s) {}
  Mpi(Place p, double timeout_s) : Communicator(p.rank, p.world, p.local_rank), timeout_s_(timeout_s) {
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  }
  ~Mpi() override {
    MPI_Comm_free(&comm_);
    MPI_Finalize();
  }
  std::string backend() const override { return "mpi"; }

  std::unique_ptr<Request> start_all_reduce(void* data, int64_t count, Elem elem, Device dev, Reduce op) override {
    check_host(dev, count, "all-reduce");
    MPI_Request req;
    const MPI_Datatype type = elem == Elem::F32 ? MPI_FLOAT : MPI_DOUBLE;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count), type, MPI_SUM, comm_, &req),
              "MPI_Iallreduce");
    const Average avg = op == Reduce::Avg ? Average{data, count, elem, world_size()} : Average{};
    return std::make_unique<MpiRequest>(*this, req, "all-reduce", avg);
  }
  void broadcast(void* data, int64_t bytes, Device dev, int root) override {
    check_host(dev, bytes, "broadcast");
    MPI_Request req;
    check_mpi(MPI_Ibcast(data, static_cast<int>(bytes), MPI_BYTE, root, comm_, &req), "MPI_Ibcast");
    MpiRequest(*this, req, "broadcast").wait();
  }
  void barrier() override {
    MPI_Request req;
    check_mpi(MPI_Ibarrier(comm_, &req), "MPI_Ibarrier");
    MpiRequest(*this, req, "barrier").wait();
  }
  void progress() override {
    int flag = 0;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, MPI_STATUS_IGNORE);
  }
  double timeout_s() const { return timeout_s_; }
  void abort_all(const std::string&) override { MPI_Abort(MPI_COMM_WORLD, 1); }

 private:
  static void check_host(Device dev, int64_t count, const char* what) {
    MX_CHECK(dev == Device::CPU, "MPI ", what, ": the buffer is on the GPU (CUDA ranks reduce over NCCL)");
    MX_CHECK(count <= INT_MAX, "MPI ", what, ": ", count, " elements is more than one call takes (", INT_MAX, ")");
  }
  MPI_Comm comm_ = MPI_COMM_NULL;
  double timeout_s_;
};

// Spins on MPI_Test (which also drives MPI's progress), yielding the core after the first few
// thousand tries; past the deadline the whole job ends.
void MpiRequest::wait() {
  if (req_ == MPI_REQUEST_NULL) return;
  const auto deadline = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(comm_.timeout_s()));
  for (int spins = 0;; ++spins) {
    int done = 0;
    check_mpi(MPI_Test(&req_, &done, MPI_STATUS_IGNORE), what_);
    if (done) break;
    if (Clock::now() > deadline)
      comm_.abort_job(detail::concat("rank ", comm_.rank(), ": MPI ", what_, " did not complete within --dist-timeout ",
                                     comm_.timeout_s(), " s (another rank died or hangs)"));
    if (spins > 4096) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  req_ = MPI_REQUEST_NULL;
  if (avg_.data) avg_.apply();
}

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s) { return std::make_unique<Mpi>(timeout_s); }

}  // namespace mx::dist
#endif
