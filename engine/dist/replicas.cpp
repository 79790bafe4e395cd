// Broadcasts of the model's parameters and F32 buffers (replicas.h).
#include "engine/dist/replicas.h"

namespace mx::dist {

namespace {
void broadcast_tensor(Tensor& t, Communicator& comm, int root) {
  comm.broadcast(t.data<float>(), t.numel() * static_cast<int64_t>(sizeof(float)), t.device(), root);
}
}  // namespace

void broadcast_parameters(ParameterStore& store, Communicator& comm, int root) {
  if (comm.world_size() > 1) broadcast_tensor(store.params(), comm, root);
}

void broadcast_buffers(ParameterStore& store, Communicator& comm, int root) {
  if (comm.world_size() > 1 && store.buffers().numel() > 0) broadcast_tensor(store.buffers(), comm, root);
}

}  // namespace mx::dist
