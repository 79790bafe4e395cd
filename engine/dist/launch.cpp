// Which launcher started this process, read from the variables each one sets, and the communicator
// that follows: MPI for mpirun and srun (with NCCL on top for CUDA ranks), NCCL alone for torchrun,
// none for a plain start.
#include "engine/dist/launch.h"

#include <cstdlib>

#include "engine/cuda/runtime.h"
#include "engine/dist/backends.h"
#include "engine/error.h"

namespace mx::dist {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int lo) {
  const char* v = env(name);
  MX_CHECK(v, "launcher: ", name, " is not set");
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  MX_CHECK(*end == '\0' && n >= lo && n < (1L << 30), "launcher: ", name, "='", v, "' is not an integer >= ", lo);
  return static_cast<int>(n);
}

Launch mpi_launch(const char* launcher, const char* rank, const char* size, const char* local) {
  Launch l{launcher, env_int(rank, 0), env_int(size, 1), local && env(local) ? env_int(local, 0) : 0};
  MX_CHECK(l.rank < l.world, "launcher: ", rank, " ", l.rank, " is not below ", size, " ", l.world);
  return l;
}

#ifdef MIXUP_HAVE_NCCL
std::unique_ptr<Communicator> nccl_over(NcclSetup setup) { return make_nccl_communicator(std::move(setup)); }
#else
[[noreturn]] std::unique_ptr<Communicator> nccl_over(NcclSetup) {
  MX_FAIL("--device cuda with several ranks needs NCCL, and this build has none (set NCCL_ROOT and rebuild)");
}
#endif

std::unique_ptr<Communicator> mpi_job(Device dev, double timeout_s) {
#ifdef MIXUP_HAVE_MPI
  std::unique_ptr<Communicator> mpi = make_mpi_communicator(timeout_s);
  if (dev == Device::CPU) return mpi;
  const int rank = mpi->rank(), world = mpi->world_size(), local = mpi->local_rank();
  cuda::use_device(cuda::one_visible_gpu() ? 0 : local,  // srun --gpus-per-task=1
                   detail::concat("rank ", rank, " (local rank ", local, ")"));
  return nccl_over({rank, world, local, timeout_s, std::move(mpi), ""});
#else
  (void)dev, (void)timeout_s;
  MX_FAIL("started by an MPI launcher, but this build has no MPI (install libopenmpi-dev openmpi-bin, then "
          "reconfigure: cmake -S . -B build -DMIXUP_MPI=ON)");
#endif
}

std::unique_ptr<Communicator> torchrun_job(const Launch& l, Device dev, double timeout_s) {
  MX_CHECK(dev == Device::CUDA, "torchrun: CPU ranks need MPI (start them with mpirun -np N); torchrun "
                                "bootstraps NCCL, which needs --device cuda");
  const char* addr = env("MASTER_ADDR");
  MX_CHECK(addr, "torchrun: MASTER_ADDR is not set");
  const int port = env_int("MASTER_PORT", 1);
  MX_CHECK(port < 65535, "torchrun: MASTER_PORT ", port, " leaves no port above it for NCCL_COMM_ID");
  cuda::use_device(l.local_rank, detail::concat("rank ", l.rank, " (LOCAL_RANK ", l.local_rank, ")"));
  return nccl_over({l.rank, l.world, l.local_rank, timeout_s, nullptr, detail::concat(addr, ":", port + 1)});
}

}  // namespace

Launch detect_launch() {
  if (env("OMPI_COMM_WORLD_SIZE"))
    return mpi_launch("mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK");
  const bool slurm = env("SLURM_PROCID") != nullptr;
  if (env("PMIX_RANK") && slurm) return mpi_launch("srun", "PMIX_RANK", "SLURM_NTASKS", "SLURM_LOCALID");
  if (env("PMI_RANK")) return mpi_launch(slurm ? "srun" : "mpirun", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID");
  if (slurm && env("SLURM_NTASKS") && env_int("SLURM_NTASKS", 1) > 1)
    MX_FAIL("srun: SLURM_NTASKS is ", env("SLURM_NTASKS"), " but no PMI is set up; start with srun --mpi=pmix "
            "(or --mpi=pmi2) so that MPI can join the ranks");
  if (env("RANK") && env("WORLD_SIZE"))
    return {"torchrun", env_int("RANK", 0), env_int("WORLD_SIZE", 1), env_int("LOCAL_RANK", 0)};
  return {};
}

std::unique_ptr<Communicator> make_communicator(const Launch& launch, Device dev, double timeout_s) {
  if (launch.launcher == "mpirun" || launch.launcher == "srun") return mpi_job(dev, timeout_s);
  if (launch.launcher == "torchrun") return torchrun_job(launch, dev, timeout_s);
  return std::make_unique<SingleProcess>();
}

}  // namespace mx::dist
