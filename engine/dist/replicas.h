// Keeping the model replicas of data-parallel ranks equal: rank `root`'s parameters and F32 buffers
// (batch-norm running statistics), each a flat buffer of the ParameterStore, copied to every rank.
// Used at start-up, so that every rank begins from the same weights whatever their initialisation, and
// before each evaluation, since per-rank batch-norm statistics drift apart during an epoch.
#pragma once
#include "engine/dist/comm.h"
#include "engine/parameters.h"

namespace mx::dist {

void broadcast_parameters(ParameterStore& store, Communicator& comm, int root = 0);
void broadcast_buffers(ParameterStore& store, Communicator& comm, int root = 0);

}  // namespace mx::dist
