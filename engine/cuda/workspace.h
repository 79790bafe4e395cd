// Scratch device memory for one launcher call: taken from the stream-ordered pool (engine/cuda/runtime.h)
// when the call begins and given back in stream order when it ends, so work queued on the compute stream
// that still reads it finishes first.
#pragma once
#include <cstddef>

#include "engine/cuda/runtime.h"

namespace mx::cuda {

class Workspace {
 public:
  explicit Workspace(size_t bytes) : ptr_(bytes ? alloc(bytes) : nullptr) {}  // none for 0 bytes
  ~Workspace() {
    if (ptr_) free(ptr_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_;
};

}  // namespace mx::cuda
