// Joining a data-parallel job: which launcher started this process and the communicator it implies.
//   mpirun / srun (PMIx, PMI2): MPI; CUDA ranks add NCCL, its unique id broadcast over MPI.
//   torchrun: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; NCCL bootstraps through
//             NCCL_COMM_ID=MASTER_ADDR:(MASTER_PORT + 1), so CUDA ranks only.
//   none: a single process, exactly as without this file.
#pragma once
#include <memory>
#include <string>

#include "engine/dist/comm.h"

namespace mx::dist {

struct Launch {
  std::string launcher = "none";  // "mpirun", "srun", "torchrun" or "none"
  int rank = 0, world = 1, local_rank = 0;  // as the environment says (MPI ranks: refined by MPI itself)
};

// Reads the environment; throws a one-line mx::Error naming the variable when it is malformed.
Launch detect_launch();

// The communicator for this process on `dev` (CUDA ranks first select GPU local_rank, a clear error
// when the machine has fewer GPUs than local ranks). Collectives give up after timeout_s seconds.
std::unique_ptr<Communicator> make_communicator(const Launch& launch, Device dev, double timeout_s);

}  // namespace mx::dist
