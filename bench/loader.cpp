// Image-folder loader benchmark: the streaming training loader alone (stb_image decode, RandomResizedCrop
// to --size, flip, normalize into a float batch) on a temporary tree of synthetic JPEGs, in images/s for
// each worker count (median of --repeats epochs after one warm-up epoch). The first batch is checked
// (shape, finite values) before anything is timed; the time of the decode and of the crop and resize on
// one thread is printed first. With --torch it then runs bench/torch_loader.py on
// the same tree (torchvision's ImageFolder, RandomResizedCrop, flip, ToTensor, Normalize, DataLoader).
// Usage: bench_loader [--images 512] [--width 500] [--height 375] [--quality 90] [--size 224]
//                     [--workers 1,2] [--repeats 3] [--batch-size 32] [--torch]
#include <CLI/CLI.hpp>
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/folder_loader.h"
#include "datasets/image_folder.h"
#include "engine/error.h"
#include "engine/random.h"

namespace {

namespace fs = std::filesystem;

struct Options {
  int images = 512, width = 500, height = 375, quality = 90, size = 224, repeats = 3, batch_size = 32;
  std::vector<int> workers{1, 2};
  bool torch = false;
};

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

// A synthetic colour JPEG: smooth gradients and a few bands plus per-pixel noise, so that the file
// size (about 60-100 KB at quality 90) is of the order of an ImageNet photo's. Not photo content.
std::string synthetic_jpeg(const Options& o, uint64_t seed) {
  mx::random::SplitMix64 g{mx::random::derive_key({seed})};
  std::vector<uint8_t> px(static_cast<size_t>(o.width) * o.height * 3);
  const double fx = 0.01 + 0.0005 * static_cast<double>(g() % 100), fy = 0.02 + 0.0004 * static_cast<double>(g() % 100);
  for (int y = 0; y < o.height; ++y)
    for (int x = 0; x < o.width; ++x)
      for (int c = 0; c < 3; ++c) {
        const double v = 128 + 60 * std::sin(fx * x * (c + 1) + fy * y) + 40 * std::cos(0.003 * x * y + c) +
                         static_cast<double>(g() % 32) - 16;
        px[(static_cast<size_t>(y) * o.width + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
  std::string bytes;
  MX_CHECK(stbi_write_jpg_to_func(append_bytes, &bytes, o.width, o.height, 3, px.data(), o.quality),
           "JPEG encoding failed");
  return bytes;
}

// DIR/train/<class>/<i>.jpg for --images images over 4 classes, and a small val/ the scan requires.
uintmax_t write_tree(const Options& o, const fs::path& dir) {
  uintmax_t bytes = 0;
  for (int i = 0; i < o.images + 4; ++i) {
    const bool val = i >= o.images;
    const fs::path folder = dir / (val ? "val" : "train") / ("class" + std::to_string(i % 4));
    fs::create_directories(folder);
    const std::string jpeg = synthetic_jpeg(o, static_cast<uint64_t>(i));
    std::ofstream(folder / (std::to_string(i) + ".jpg"), std::ios::binary) << jpeg;
    if (!val) bytes += jpeg.size();
  }
  return bytes;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Checks the first batch of an epoch: shape and finite values.
void validate(mx::data::FolderLoader& loader, const Options& o) {
  loader.start_epoch(0);
  mx::data::Batch b;
  MX_CHECK(loader.next(b), "the loader produced no batch");
  MX_CHECK(b.images.shape() == (mx::Shape{o.batch_size, 3, o.size, o.size}), "unexpected batch shape");
  for (float v : b.images.to_vector<float>()) MX_CHECK(std::isfinite(v), "non-finite value in the batch");
}

// Images per second of one worker count: the median over epochs 1..repeats (epoch 0 is the warm-up).
double measure(const mx::data::ImageFolder& f, int workers, const Options& o) {
  mx::data::FolderLoader loader(f, f.train, mx::data::imagenet_normalization(3),
                                {o.batch_size, true, workers, true, 0, {}, {}});
  validate(loader, o);
  mx::data::Batch b;
  while (loader.next(b)) {
  }
  std::vector<double> rates;
  for (int e = 1; e <= o.repeats; ++e) {
    const auto start = std::chrono::steady_clock::now();
    loader.start_epoch(e);
    int64_t n = 0;
    while (loader.next(b)) n += b.images.size(0);
    rates.push_back(static_cast<double>(n) /
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median(rates);
}

// Milliseconds per image of each stage on this thread: decode; decode + crop + resize (no flip, no
// normalization), so the shares of the full loader's time can be read off.
void stage_times(const mx::data::ImageFolder& f, const Options& o) {
  std::vector<double> decode, crop;
  for (int r = 0; r < o.repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (const std::string& file : f.train.files) mx::data::decode_image(file, 3);
    auto mid = std::chrono::steady_clock::now();
    mx::random::SplitMix64 g{static_cast<uint64_t>(r)};
    for (const std::string& file : f.train.files) {
      const mx::data::Image img = mx::data::decode_image(file, 3);
      mx::data::resize(img, mx::data::random_resized_crop(img.width, img.height, g), o.size, o.size);
    }
    auto end = std::chrono::steady_clock::now();
    decode.push_back(std::chrono::duration<double, std::milli>(mid - start).count() / f.train.size());
    crop.push_back(std::chrono::duration<double, std::milli>(end - mid).count() / f.train.size());
  }
  std::printf("# one thread: decode %.2f ms/image, decode + crop + resize %.2f ms/image\n", median(decode),
              median(crop));
}

std::string joined(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

int run(const Options& o) {
  MX_CHECK(o.images >= o.batch_size && o.repeats >= 1 && !o.workers.empty(),
           "need --images >= --batch-size, --repeats >= 1 and a worker count");
  const fs::path dir = fs::temp_directory_path() / ("mixup-bench-loader-" + std::to_string(getpid()));
  const uintmax_t bytes = write_tree(o, dir);
  std::printf("# %d synthetic %dx%d JPEGs (quality %d, mean %.0f KB), RandomResizedCrop to %d, flip, normalize; "
              "batch %d, median of %d epochs\n",
              o.images, o.width, o.height, o.quality, static_cast<double>(bytes) / o.images / 1024, o.size,
              o.batch_size, o.repeats);
  const mx::data::ImageFolder f = mx::data::scan_image_folder(dir.string(), {o.size, 0, true, {}});
  stage_times(f, o);
  std::printf("%-10s %8s %12s %20s\n", "loader", "workers", "images/s", "images/s per worker");
  for (int w : o.workers) {
    const double rate = measure(f, w, o);
    std::printf("%-10s %8d %12.1f %20.1f\n", "mixup", w, rate, rate / w);
    std::fflush(stdout);
  }
  int status = 0;
  if (o.torch) {
    const std::string script = (fs::path(MIXUP_SOURCE_DIR) / "bench" / "torch_loader.py").string();
    status = std::system(("python3 " + script + " --dir " + dir.string() + " --size " + std::to_string(o.size) +
                          " --workers " + joined(o.workers) + " --repeats " + std::to_string(o.repeats) +
                          " --batch-size " + std::to_string(o.batch_size))
                             .c_str());
  }
  fs::remove_all(dir);
  return status == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Image-folder loader benchmark (decode + RandomResizedCrop + flip + normalize)"};
  Options o;
  app.add_option("--images", o.images, "Training images in the temporary tree")->capture_default_str();
  app.add_option("--width", o.width, "Image width")->capture_default_str();
  app.add_option("--height", o.height, "Image height")->capture_default_str();
  app.add_option("--quality", o.quality, "JPEG quality")->capture_default_str();
  app.add_option("--size", o.size, "Crop size")->capture_default_str();
  app.add_option("--workers", o.workers, "Worker counts to measure")->delimiter(',');
  app.add_option("--repeats", o.repeats, "Timed epochs per worker count")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Images per batch")->capture_default_str();
  app.add_flag("--torch", o.torch, "Also run bench/torch_loader.py on the same tree");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const mx::Error& e) {
    std::fprintf(stderr, "bench_loader: error: %s\n", e.what());
    return 1;
  }
}
