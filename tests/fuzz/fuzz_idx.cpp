// libFuzzer target: the Fashion-MNIST IDX reader (data::parse_idx_images / parse_idx_labels). The first
// byte picks images or labels and whether the rest is the .gz file itself or an IDX file to gzip first
// (so that the mutations reach the header checks, not only the inflater). mx::Error is a rejection.
#include <zlib.h>

#include <cstdint>
#include <string>

#include "datasets/datasets.h"

namespace {

// `raw` as a gzip stream.
std::string gzip(const std::string& raw) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::string out(deflateBound(&z, raw.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string gz = data[0] & 2 ? rest : gzip(rest);
  try {
    if (data[0] & 1) {
      const mx::Tensor labels = mx::data::parse_idx_labels(gz, 10, "fuzz.gz");
      for (int32_t label : labels.to_vector<int32_t>())
        if (label < 0 || label >= 10) __builtin_trap();
    } else {
      mx::data::parse_idx_images(gz, "fuzz.gz");
    }
  } catch (const mx::Error&) {
  }
  return 0;
}
