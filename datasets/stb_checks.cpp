// The checks of stb_checks.h: walks over the marker segments of a JPEG (ITU-T T.81, annex B) and the
// chunks of a PNG.
#include "datasets/stb_checks.h"

#include <cstring>

#include "datasets/big_endian.h"

namespace mx::data {
namespace {

// Markers without a length field: stuffing or padding (0x00, 0x01), restarts (RST0-7), start of image.
bool standalone(uint8_t marker) { return marker <= 0x01 || (marker >= 0xD0 && marker <= 0xD8); }

// Whether a DHT segment whose tables start at `i` holds a table of more than 256 codes. Like stb_image
// it takes `length` from the segment header and reads zeros past the end of the data.
bool overfull_dht(const uint8_t* data, size_t n, size_t i, long length) {
  for (long left = length - 2; left > 0;) {  // per table: class and id, 16 code counts, the symbols
    long codes = 0;
    for (size_t k = 1; k <= 16; ++k) codes += i + k < n ? data[i + k] : 0;
    if (codes > 256) return true;
    i += static_cast<size_t>(17 + codes);
    left -= 17 + codes;
  }
  return false;
}

// True when data[0, n) is a JPEG with a Huffman table of more than 256 codes, up to the frame header
// when header_only.
bool jpeg_has_overfull_huffman_table(const uint8_t* data, size_t n, bool header_only) {
  size_t i = 0;
  if (n == 0 || data[0] != 0xFF) return false;  // stb_image takes only a marker for the start
  while (i < n && data[i] == 0xFF) ++i;          // fill bytes before it too
  if (i >= n || data[i++] != 0xD8) return false;  // no start of image: not a JPEG for stb_image
  for (;;) {
    while (i < n && data[i] != 0xFF) ++i;  // entropy-coded data, or padding stb_image skips
    while (i < n && data[i] == 0xFF) ++i;  // fill bytes
    if (i >= n) return false;  // stb_image reads zeros past the end: no further marker
    const uint8_t marker = data[i++];
    if (marker == 0xD9) return false;  // end of image
    if (standalone(marker)) continue;
    if (i + 2 > n) return false;  // only zeros follow for stb_image: no table codes
    const long length = (long{data[i]} << 8) | data[i + 1];
    if (length < 2) return false;  // stb_image stops at a segment this short
    if (marker == 0xC4 && overfull_dht(data, n, i + 2, length)) return true;
    if (header_only && marker >= 0xC0 && marker <= 0xC2) return false;  // the frames stb reads
    i += static_cast<size_t>(length);
  }
}

// Why stb_image's decode must not be given the PNG in data[0, n), or nullptr. stb reads the chunks in
// order, each of its announced length followed by a CRC, and grows its buffer to hold every IDAT
// chunk before it reads the chunk.
const char* png_hazard(const uint8_t* data, size_t n) {
  if (n < 8 || std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) != 0) return nullptr;
  bool first = true;
  for (size_t i = 8; i + 8 <= n; i += 12 + size_t{big_endian32(data + i)}) {
    const uint32_t length = big_endian32(data + i);
    if (std::memcmp(data + i + 4, "IEND", 4) == 0) return nullptr;
    if (std::memcmp(data + i + 4, "IDAT", 4) != 0) continue;
    if (first && length == 0) return "corrupt PNG: an empty first IDAT chunk";
    if (length > n - i - 8) return "corrupt PNG: an IDAT chunk runs past the end of the file";
    first = false;
  }
  return nullptr;
}

}  // namespace

const char* stb_image_hazard(const uint8_t* data, size_t n, bool header_only) {
  if (jpeg_has_overfull_huffman_table(data, n, header_only))
    return "corrupt JPEG: a Huffman table of more than 256 codes";
  return header_only ? nullptr : png_hazard(data, n);
}

}  // namespace mx::data
