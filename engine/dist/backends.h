// The communicator backends behind make_communicator() (launch.h). Each exists only in a build with
// its library (MIXUP_HAVE_MPI, MIXUP_HAVE_NCCL); launch.cpp calls them after reading the launcher's
// environment.
#pragma once
#include <memory>
#include <string>

#include "engine/dist/comm.h"

namespace mx::dist {

// MPI_COMM_WORLD of an mpirun or srun job (MPI_Init_thread with MPI_THREAD_FUNNELED; the local rank
// comes from MPI_Comm_split_type). Collectives take host buffers. MPI_Finalize runs in the destructor.
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s);

// How the NCCL ranks find each other.
struct NcclSetup {
  int rank = 0, world = 1, local_rank = 0;
  double timeout_s = 600;
  // mpirun / srun: rank 0's ncclUniqueId is broadcast over this communicator, which also carries the
  // host reductions and stays alive (owned by the NCCL communicator). nullptr under torchrun: every
  // rank calls ncclGetUniqueId with NCCL_COMM_ID=<comm_id> set (NCCL's own rendezvous: rank 0 listens
  // there), and host reductions go through small device buffers.
  std::unique_ptr<Communicator> host;
  std::string comm_id;  // "MASTER_ADDR:port", torchrun only
};

// NCCL over the current CUDA device (set by launch.cpp to the local rank's GPU) for CUDA buffers,
// on its own stream ordered against the compute stream with events; host buffers go to `host` or are
// staged through the device.
std::unique_ptr<Communicator> make_nccl_communicator(NcclSetup setup);

}  // namespace mx::dist
