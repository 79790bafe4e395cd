// Big-endian integers of the file formats the readers parse (IDX headers, PNG chunks).
#pragma once
#include <cstdint>

namespace mx::data {

inline uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace mx::data
