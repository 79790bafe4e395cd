// A check that stb_image 2.27 (Debian 12's libstb-dev) lacks: it fills a 257-entry table with the code
// lengths of each JPEG Huffman table (DHT segment) without checking that there are at most 256 codes,
// and so writes past the table on a crafted file, in stbi_info as in stbi_load (checked upstream from
// stb_image 2.28 on). The folder reader runs this walk over the bytes before it hands them to stb_image.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mx::data {

// True when data[0, n) is a JPEG with a Huffman table of more than 256 codes. The walk reads the marker
// segments as stb_image does, to the frame header (SOF) when header_only (stbi_info), else to the end
// of the image (stbi_load), reading zeros past the end of the data as stb does; where stb would stop at
// a corrupt byte the walk goes on, so that it checks at least every table stb would read.
bool jpeg_has_overfull_huffman_table(const uint8_t* data, size_t n, bool header_only);

}  // namespace mx::data
