// Inputs that stb_image 2.27 (Debian 12's libstb-dev) mishandles, found by the fuzz target
// tests/fuzz/fuzz_image.cpp; the folder reader refuses them before it hands the bytes to stb_image:
// - a JPEG Huffman table (DHT segment) of more than 256 codes: stb fills its 257-entry table with the
//   code lengths without checking, in stbi_info as in stbi_load, and writes past it (checked upstream
//   from stb_image 2.28 on);
// - a PNG whose first IDAT chunk is empty: stbi_load copies it with memcpy into its data buffer while
//   that is still null (undefined behaviour);
// - a PNG IDAT chunk longer than the rest of the file: stbi_load allocates the announced length (up to
//   2 GiB) before it finds the data missing.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mx::data {

// Why stb_image must not be given data[0, n) ("corrupt JPEG: ...", "corrupt PNG: ..."), or nullptr.
// With header_only, what stbi_info reads is checked (a JPEG up to its frame header), else all that
// stbi_load reads. The walks read the segments and chunks as stb_image does, and read zeros past the end
// of the data as it does; where stb would stop at a corrupt byte they go on, so that they check at least
// all that stb would read.
const char* stb_image_hazard(const uint8_t* data, size_t n, bool header_only);

}  // namespace mx::data
