// `mixup models` and `mixup init`: the model zoo's table (parameters, multiply-adds per image), freshly
// initialised weights written as a checkpoint, and a strict load of a checkpoint (one converted from
// PyTorch, say) into a model.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace mx::app {

struct ZooConfig {
  std::string model;  // models: only this model (empty: all); init: required
  int classes = 0;    // 0: each model's natural number (models::natural_spec)
  int in_channels = 0;
  int image_size = 0;  // models: the input side for the multiply-adds and the probe (0: the model's natural)
  uint64_t seed = 0;
  bool zero_init_residual = false;
  std::string out;    // init: the .safetensors file to write
  std::string check;  // models: a checkpoint to load into --model
  int threads = 0;    // models: CPU threads of the forward passes (0: all cores)
};

// A header and one line per model (each written as soon as it is known): name, input size, classes,
// parameters, multiply-adds of one image.
void print_models_table(const ZooConfig& c, std::FILE* out);

// Loads c.check into c.model (every name, shape and dtype must match) and runs the probe image through it
// in evaluation mode; returns a line with the tensor count and the first logits.
std::string check_checkpoint(const ZooConfig& c);

// Writes the initialised weights of c.model to c.out (atomically); returns "wrote ...".
std::string write_init(const ZooConfig& c);

}  // namespace mx::app
