// Checkpoints as safetensors files: 8-byte little-endian header length, a JSON header mapping each
// name to {dtype, shape, data_offsets} (plus "__metadata__" of string pairs), padded with spaces to a
// multiple of 8, then the raw little-endian data. Written to a temporary file and renamed.
#pragma once
#include <map>
#include <string>

#include "engine/nn.h"

namespace mx::checkpoint {

using Metadata = std::map<std::string, std::string>;

// Tensors are copied to the host as needed. Throws mx::Error naming the file on any I/O problem.
void save(const std::string& path, const nn::NamedTensors& tensors, const Metadata& meta = {});

struct File {
  nn::NamedTensors tensors;  // in file order, host tensors
  Metadata meta;
};
// Throws mx::Error naming the file when it is missing, truncated or does not follow the format.
File load(const std::string& path);
// load on the file's bytes in memory (what load calls; the fuzz target too); `path` names it in errors.
// The header length must fit the file and every tensor's data_offsets the data section, so nothing is
// allocated beyond what the bytes hold.
File parse(const std::string& bytes, const std::string& path);

// Copies the file's tensors into the model's state (parameters and buffers) by name. Every model
// entry must be present with the same shape and dtype, and the file must hold no unknown names;
// otherwise throws naming the file and the first offending tensor.
void load_into(const std::string& path, const File& file, const nn::NamedTensors& state);

}  // namespace mx::checkpoint
