// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a few tiny valid inputs and
// a few edge cases per target, each input prefixed by the mode bytes its target reads first. Run by hand
// after changing a format (tests/fuzz/README.md):
//   c++ -std=c++17 -I/usr/include/stb tests/fuzz/make_corpus.cpp -lz -o /tmp/make_corpus && /tmp/make_corpus tests/fuzz/corpus
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(root + "/" + target);
  std::ofstream(root + "/" + target + "/" + name, std::ios::binary) << bytes;
}

std::string be32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// `raw` as one gzip member (zlib's deflate with a gzip wrapper).
std::string gzip(const std::string& raw) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, raw.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t k = 0; k < n; ++k) s[k] = static_cast<char>((k * 7 + k / 28 * 3 + seed * 31) % 256);
  return s;
}

std::string idx_images(uint32_t count, uint32_t rows, uint32_t cols, uint32_t stored) {
  return be32(2051) + be32(count) + be32(rows) + be32(cols) + pattern(size_t{stored} * rows * cols, 1);
}

std::string idx_labels(const std::string& labels) { return be32(2049) + be32(labels.size()) + labels; }

// fuzz_idx: mode byte bit 0 = labels, bit 1 = the rest is already gzip (else the target gzips it).
void idx() {
  put("fuzz_idx", "images-1", std::string(1, '\0') + idx_images(1, 28, 28, 1));
  put("fuzz_idx", "labels-3", "\x01" + idx_labels(std::string("\x00\x09\x04", 3)));
  put("fuzz_idx", "images-2.gz", "\x02" + gzip(idx_images(2, 28, 28, 2)));
  put("fuzz_idx", "labels-2.gz", "\x03" + gzip(idx_labels("\x01\x02")));
  put("fuzz_idx", "images-two-members.gz", "\x02" + gzip(idx_images(1, 28, 28, 1).substr(0, 400)) +
                                                gzip(idx_images(1, 28, 28, 1).substr(400)));
  put("fuzz_idx", "edge-billions", std::string(1, '\0') + idx_images(4000000000u, 28, 28, 0));
  put("fuzz_idx", "edge-27x28", std::string(1, '\0') + idx_images(1, 27, 28, 1));
  put("fuzz_idx", "edge-label-10", "\x01" + idx_labels("\x0a"));
  put("fuzz_idx", "edge-longer-than-header", std::string(1, '\0') + idx_images(1, 28, 28, 2));
  put("fuzz_idx", "edge-truncated.gz", "\x03" + gzip(idx_labels("\x01\x02\x03")).substr(0, 20));
}

std::string cifar_record(const std::string& labels, int seed) { return labels + pattern(3072, seed); }

// fuzz_cifar: mode byte bit 0 = CIFAR-100 (else CIFAR-10).
void cifar() {
  put("fuzz_cifar", "cifar10-2", std::string(1, '\0') + cifar_record("\x03", 1) + cifar_record("\x09", 2));
  put("fuzz_cifar", "cifar100-1", "\x01" + cifar_record("\x13\x63", 3));
  put("fuzz_cifar", "edge-partial-record", std::string(1, '\0') + cifar_record("\x01", 4) + "x");
  put("fuzz_cifar", "edge-label-100", "\x01" + cifar_record("\x00\x64", 5));
  put("fuzz_cifar", "edge-empty", std::string(1, '\0'));
}

std::string safetensors(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}

void checkpoints() {
  const std::string f32 = R"({"__metadata__":{"epoch":"3"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                          R"("n":{"dtype":"I64","shape":[],"data_offsets":[24,32]},)"
                          R"("p":{"dtype":"U8","shape":[3,1],"data_offsets":[32,35]},)"
                          R"("e":{"dtype":"I32","shape":[0,4],"data_offsets":[35,35]}})";
  put("fuzz_safetensors", "four-dtypes", safetensors(f32, pattern(35, 1)));
  put("fuzz_safetensors", "empty-header", safetensors("{}", ""));
  put("fuzz_safetensors", "edge-header-length-3GiB", le64(uint64_t{3} << 30) + "{}      ");
  put("fuzz_safetensors", "edge-overlap",
      safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                  pattern(8, 2)));
  put("fuzz_safetensors", "edge-offsets-beyond",
      safetensors(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[18446744073709551612,18446744073709551615]}})",
                  "abc"));
}

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string png(int w, int h, int c) {
  std::string out;
  const std::string px = pattern(static_cast<size_t>(w) * h * c, w);
  stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c);
  return out;
}

std::string jpeg(int w, int h, int c) {
  std::string out;
  const std::string px = pattern(static_cast<size_t>(w) * h * c, h);
  stbi_write_jpg_to_func(append, &out, w, h, c, px.data(), 80);
  return out;
}

std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  return be32(data.size()) + body + be32(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size()));
}

// fuzz_image: byte 0 = channels (bit 0: RGB, else grey) and output size (1 + (byte >> 1) % 64), byte 1 = seed.
void images() {
  put("fuzz_image", "grey-4x3.png", std::string("\x0e\x01", 2) + png(4, 3, 1));
  put("fuzz_image", "rgba-3x5.png", std::string("\x07\x02", 2) + png(3, 5, 4));
  put("fuzz_image", "rgb-9x6.jpg", std::string("\x0b\x03", 2) + jpeg(9, 6, 3));
  put("fuzz_image", "grey-8x8.jpg", std::string("\x0c\x04", 2) + jpeg(8, 8, 1));
  const std::string format("\x08\x00\x00\x00\x00", 5);  // 8 bits, grey, deflate, no filter, no interlace
  put("fuzz_image", "edge-20000x20000.png",
      std::string("\x0e\x05", 2) + "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", be32(20000) + be32(20000) + format) +
          png_chunk("IEND", ""));
  put("fuzz_image", "edge-cut.png", std::string("\x0e\x06", 2) + png(12, 12, 1).substr(0, 40));
  put("fuzz_image", "edge-1x101.png", std::string("\x0e\x07", 2) + png(1, 101, 1));
  // Variants of what the long runs found (tests/fuzz/README.md), rebuilt from valid files.
  std::string overfull = jpeg(8, 8, 3);
  const size_t dht = overfull.find("\xff\xc4");
  overfull.replace(dht + 5, 16, std::string(16, '\x20'));
  put("fuzz_image", "found-overfull-huffman.jpg", std::string("\x0b\x08", 2) + "\xff\xff" + overfull);
  std::string vast = jpeg(8, 8, 3);
  vast.replace(vast.find("\xff\xc0") + 5, 4, "\xf4\x06\x04\x09");  // 62470 x 1033 pixels in 700 bytes
  put("fuzz_image", "found-vast-header.jpg", std::string("\x0b\x09", 2) + vast);
  const std::string rgba = png(3, 5, 4);
  const size_t idat = rgba.find("IDAT") - 4;
  put("fuzz_image", "found-empty-first-idat.png",
      std::string("\x07\x0a", 2) + std::string(rgba).insert(idat, png_chunk("IDAT", "")));
  put("fuzz_image", "found-idat-past-end.png",
      std::string("\x07\x0b", 2) + std::string(rgba).replace(idat, 4, "\x7f\xff\xff\xf0"));
}

// fuzz_mix_spec: one line per flag, --mix, --lam-x, --lam-l.
void specs() {
  put("fuzz_mix_spec", "mixup-c", "c\nbeta:1\nsame\n");
  put("fuzz_mix_spec", "weighted", "none:1,hv:3\nuniform:0.3:0.7\nconst:0.5\n");
  put("fuzz_mix_spec", "decoupled", "h:1,c:2\nbeta:0.2:0.5\nbeta:1\n");
  put("fuzz_mix_spec", "edge-empty", "\n\n\n");
  put("fuzz_mix_spec", "edge-separators", ",\n:\n::\n");
  put("fuzz_mix_spec", "edge-extremes", "c:1e308,h:1e308\nbeta:1e-300\nuniform:1:0\n");
  put("fuzz_mix_spec", "found-repeated-letters", "vvvvvvvvv\nbeta:1e7\n\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  root = argv[1];
  idx();
  cifar();
  checkpoints();
  images();
  specs();
  return 0;
}
