// Image folders: the scan, header probe and decode on worker threads (stb_image), the crop and resize
// transforms (our own separable triangle-filter resize), the in-memory load and the PNG export (stb_image_write).
#include "datasets/image_folder.h"

#include <stb_image.h>
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "datasets/stb_checks.h"
#include "datasets/workers.h"
#include "engine/files.h"

namespace mx::data {
namespace {

namespace fs = std::filesystem;

constexpr int kFallbackSize = 224;
const char* const kLayout = "an image folder holds train/<class>/ and val/<class>/ (torchvision's ImageFolder layout)";

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The sorted names of the folders in `dir`; any other entry counts as a non-image file.
std::vector<std::string> class_folders(const fs::path& dir, int64_t& non_images) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (is_dir(e.path())) names.push_back(e.path().filename().string());
    else ++non_images;
  }
  std::sort(names.begin(), names.end());
  MX_CHECK(!names.empty(), dir.string(), ": no images (no class folders); ", kLayout);
  return names;
}

// The images under a class folder (subfolders included), sorted by path; other files are counted.
std::vector<std::string> class_images(const fs::path& dir, int64_t& non_images) {
  std::vector<std::string> files = list_images(dir.string(), non_images);
  MX_CHECK(!files.empty(), dir.string(), ": empty class folder (no .jpg, .jpeg or .png files)");
  return files;
}

// The images of `names` (folders of split_dir), labelled by their index in `classes`.
FolderSplit scan_split(const fs::path& split_dir, const std::vector<std::string>& names,
                       const std::vector<std::string>& classes, int64_t& non_images) {
  FolderSplit s;
  for (const std::string& name : names) {
    const auto it = std::lower_bound(classes.begin(), classes.end(), name);
    MX_CHECK(it != classes.end() && *it == name, (split_dir / name).string(), ": class '", name, "' is not in ",
             (split_dir.parent_path() / "train").string());
    for (std::string& f : class_images(split_dir / name, non_images)) {
      s.files.push_back(std::move(f));
      s.labels.push_back(static_cast<int32_t>(it - classes.begin()));
    }
  }
  return s;
}

// Calls keep(i) for the files whose `failed` line is empty; the others are warned about and counted in
// `dropped`, or stop everything with `strict`.
template <typename Keep>
void drop_failures(const FolderOptions& opt, const std::vector<std::string>& files,
                   const std::vector<std::string>& failed, int64_t& dropped, Keep keep) {
  for (size_t i = 0; i < files.size(); ++i) {
    if (failed[i].empty()) {
      keep(i);
      continue;
    }
    const std::string& line = failed[i];
    MX_CHECK(!opt.strict, line, "; without --strict-images it would be skipped");
    if (opt.warn) opt.warn("warning: " + line + "; skipped");
    ++dropped;
  }
}

// Reads every header of `s` on the workers and drops the undecodable ones; returns the kept headers.
std::vector<ImageHeader> probe_split(FolderSplit& s, const FolderOptions& opt, int64_t& undecodable) {
  std::vector<ImageHeader> headers = probe_images(s.files, opt, undecodable);
  FolderSplit kept;
  for (const ImageHeader& h : headers) {
    kept.files.push_back(s.files[h.index]);
    kept.labels.push_back(s.labels[h.index]);
  }
  s = std::move(kept);
  return headers;
}

// The size every image is brought to: the option, else the training images' common square size, else 224.
int resolve_image_size(int requested, const std::vector<ImageHeader>& train) {
  if (requested > 0) return requested;
  for (const ImageHeader& h : train)
    if (h.width != h.height || h.width != train.front().width) return kFallbackSize;
  return train.front().width;
}

// The fewest bytes a complete file can hold its width x height pixels in. A PNG deflates at most 1032:1
// its rows of a filter byte and the pixels' bits (bit depth times the channels of its colour type, from
// the IHDR chunk that stbi_info has read); a JPEG (the other format stb_image is built with) codes at
// least one bit per 8x8 block.
uint64_t fewest_bytes(const std::string& head, const ImageHeader& h) {
  const auto pixels = static_cast<uint64_t>(h.width) * static_cast<uint64_t>(h.height);
  if (head.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return pixels / (8 * 64);
  constexpr uint64_t kChannels[7] = {1, 1, 3, 1, 2, 1, 4};  // grey, -, RGB, palette, grey+alpha, -, RGBA
  auto byte = [&](size_t i) { return i < head.size() ? static_cast<uint8_t>(head[i]) : uint8_t{0}; };
  const uint64_t bits = byte(24) * (byte(25) < 7 ? kChannels[byte(25)] : 1);
  return (static_cast<uint64_t>(h.height) + pixels * bits / 8) / 1032;
}

// Why the image whose file of `file_bytes` bytes holds `bytes` (or begins with them) is refused, or ""
// with its dimensions in h: the checks that stb_image lacks (stb_checks.h; what stbi_info reads, or all
// that stbi_load reads when `whole`), the header read by stbi_info, and its dimensions
// against kMaxImagePixels, kMaxAspectRatio and what the file can hold.
std::string header_problem(const std::string& bytes, uint64_t file_bytes, bool whole, const std::string& path,
                           ImageHeader& h) {
  if (bytes.size() > INT_MAX) return path + ": " + std::to_string(bytes.size()) + " bytes, too many for an image file";
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  if (const char* hazard = stb_image_hazard(data, bytes.size(), !whole))
    return path + ": cannot decode the image (" + hazard + ")";
  if (!stbi_info_from_memory(data, static_cast<int>(bytes.size()), &h.width, &h.height, &h.channels))
    return path + ": cannot decode the image (" + stbi_failure_reason() + ")";
  const int64_t pixels = int64_t{h.width} * h.height;
  const std::string size = std::to_string(h.width) + "x" + std::to_string(h.height);
  if (pixels > kMaxImagePixels)
    return path + ": the image is " + size + ", more than the " + std::to_string(kMaxImagePixels) +
           " pixels an image may have";
  if (std::max(h.width, h.height) > int64_t{kMaxAspectRatio} * std::min(h.width, h.height))
    return path + ": the image is " + size + ", one side more than " + std::to_string(kMaxAspectRatio) +
           " times the other";
  if (file_bytes < fewest_bytes(bytes, h))
    return path + ": the header says " + size + " pixels, more than its " + std::to_string(file_bytes) +
           " bytes can hold";
  return "";
}

// header_problem on the first 4 KiB of the file (what stdio would read for stbi_info), then on 16 times as
// much, and so on up to the whole file, while the header cannot be read from them (metadata before the
// frame header of a JPEG, or before the pixels of a PNG with a palette).
std::string probe_header(const std::string& path, ImageHeader& h) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return path + ": cannot open the file (" + std::strerror(errno) + ")";
  const auto file_bytes = static_cast<uint64_t>(in.tellg());
  for (uint64_t want = 4 << 10;; want *= 16) {
    std::string head(std::min(want, file_bytes), '\0');
    in.seekg(0);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    if (!in) return path + ": cannot read the file (" + std::strerror(errno) + ")";
    const std::string problem = header_problem(head, file_bytes, false, path, h);
    if (problem.empty() || head.size() == file_bytes) return problem;
  }
}

double unit_interval(random::SplitMix64& g) { return static_cast<double>(g() >> 11) * 0x1.0p-53; }

// Triangle-filter taps along one axis from `in` to `out` samples (Pillow's bilinear): the filter is
// widened by the shrink factor, so that shrinking averages every source sample; weights sum to 1.
struct AxisFilter {
  int taps = 0;                // weights stored per output sample
  std::vector<int> first;      // first source sample of each output sample
  std::vector<int> count;      // source samples used
  std::vector<float> weights;  // [out][taps]
};

AxisFilter axis_filter(int in, int out) {
  const double scale = static_cast<double>(in) / out, widen = std::max(scale, 1.0);
  AxisFilter f;
  f.taps = static_cast<int>(std::ceil(widen)) * 2 + 1;
  f.weights.assign(static_cast<size_t>(out) * f.taps, 0.f);
  for (int i = 0; i < out; ++i) {
    const double centre = (i + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(centre - widen + 0.5));
    const int hi = std::min(in, static_cast<int>(centre + widen + 0.5));
    float* w = f.weights.data() + static_cast<size_t>(i) * f.taps;
    double sum = 0;
    for (int k = lo; k < hi; ++k) {
      w[k - lo] = static_cast<float>(std::max(0.0, 1 - std::abs((k + 0.5 - centre) / widen)));
      sum += w[k - lo];
    }
    for (int k = 0; k < hi - lo; ++k) w[k] = static_cast<float>(w[k] / sum);
    f.first.push_back(lo);
    f.count.push_back(hi - lo);
  }
  return f;
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::string*>(context);
  out->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string zero_padded(int64_t value, int64_t largest) {
  std::string s = std::to_string(value);
  const size_t width = std::to_string(largest).size();
  return std::string(width > s.size() ? width - s.size() : 0, '0') + s;
}

void create_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  MX_CHECK(!ec, dir, ": cannot create the directory (", ec.message(), ")");
}

// One split as DIR/<class>/<index>.png.
void export_split(const Dataset& d, const std::string& dataset, const fs::path& dir) {
  const int32_t* labels = d.labels.data<int32_t>();
  for (int64_t i = 0; i < d.size(); ++i)
    write_indexed_png(dataset_image(d, i), (dir / class_folder_name(dataset, labels[i], d.num_classes)).string(), i,
                      d.size());
}

// Removes a temporary directory unless released.
struct TemporaryDir {
  fs::path path;
  bool keep = false;
  ~TemporaryDir() {
    std::error_code ec;
    if (!keep) fs::remove_all(path, ec);
  }
};

}  // namespace

std::vector<std::string> list_images(const std::string& dir, int64_t& non_images) {
  std::vector<std::string> files;
  const auto options = fs::directory_options::follow_directory_symlink;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, options)) {
    if (is_dir(e.path())) continue;
    if (is_image_file(e.path().string())) files.push_back(e.path().string());
    else ++non_images;
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<ImageHeader> probe_images(const std::vector<std::string>& files, const FolderOptions& opt,
                                      int64_t& undecodable) {
  std::vector<ImageHeader> headers(files.size());
  std::vector<std::string> failed(files.size());
  parallel_for(static_cast<int64_t>(files.size()), opt.workers, [&](int64_t i) {
    ImageHeader& h = headers[static_cast<size_t>(i)];
    h.index = static_cast<size_t>(i);
    failed[h.index] = probe_header(files[h.index], h);
  });
  std::vector<ImageHeader> kept;
  drop_failures(opt, files, failed, undecodable, [&](size_t i) { kept.push_back(headers[i]); });
  return kept;
}

Image crop(const Image& src, const Box& b) {
  MX_CHECK(
      b.x >= 0 && b.y >= 0 && b.width > 0 && b.height > 0 && b.x + b.width <= src.width && b.y + b.height <= src.height,
      "crop: box ", b.width, "x", b.height, "+", b.x, "+", b.y, " is not inside a ", src.width, "x", src.height,
      " image");
  Image out{b.width, b.height, src.channels,
            std::vector<uint8_t>(static_cast<size_t>(b.width) * b.height * src.channels)};
  const size_t row = static_cast<size_t>(b.width) * src.channels;
  for (int y = 0; y < b.height; ++y)
    std::memcpy(out.pixels.data() + y * row,
                src.pixels.data() + (static_cast<size_t>(b.y + y) * src.width + b.x) * src.channels, row);
  return out;
}

void normalize_planar(const Image& img, bool flip, const std::vector<float>& table, float* out) {
  const int w = img.width, c = img.channels;
  const size_t plane = static_cast<size_t>(w) * img.height;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* px = img.pixels.data() + (static_cast<size_t>(y) * w + (flip ? w - 1 - x : x)) * c;
      for (int ch = 0; ch < c; ++ch) out[ch * plane + static_cast<size_t>(y) * w + x] = table[ch * 256 + px[ch]];
    }
}

Image dataset_image(const Dataset& d, int64_t index) {
  const int c = d.channels(), h = d.height(), w = d.width();
  const size_t plane = static_cast<size_t>(h) * w;
  const uint8_t* src = d.images.data<uint8_t>() + static_cast<size_t>(index) * plane * c;
  Image img{w, h, c, std::vector<uint8_t>(plane * c)};
  for (size_t k = 0; k < plane; ++k)
    for (int ch = 0; ch < c; ++ch) img.pixels[k * c + ch] = src[ch * plane + k];
  return img;
}

void write_png(const Image& img, const std::string& path) {
  std::string bytes;
  MX_CHECK(stbi_write_png_to_func(append_bytes, &bytes, img.width, img.height, img.channels, img.pixels.data(),
                                  img.width * img.channels) != 0,
           path, ": PNG encoding failed");
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  MX_CHECK(out.good(), path, ": cannot write the file (", std::strerror(errno), ")");
}

void write_indexed_png(const Image& img, const std::string& dir, int64_t index, int64_t count) {
  create_dir(dir);
  write_png(img, (fs::path(dir) / (zero_padded(index, std::max<int64_t>(count - 1, 0)) + ".png")).string());
}

void write_new_folder(const std::string& dir, const std::function<void(const std::string& tmp)>& fill) {
  MX_CHECK(!dir.empty(), "--out: a folder to write is required");
  MX_CHECK(!fs::exists(dir), dir, ": already exists; --out must name a new folder");
  TemporaryDir tmp{dir + ".tmp." + std::to_string(getpid())};
  create_dir(tmp.path.string());
  fill(tmp.path.string());
  std::error_code ec;
  fs::rename(tmp.path, dir, ec);
  MX_CHECK(!ec, dir, ": cannot rename ", tmp.path.string(), " into place (", ec.message(), ")");
  tmp.keep = true;
}

bool is_image_file(const std::string& path) {
  const std::string ext = lower(fs::path(path).extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

void put_planar(const Image& img, uint8_t* dst) {
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  for (size_t k = 0; k < plane; ++k)
    for (int c = 0; c < img.channels; ++c) dst[c * plane + k] = img.pixels[k * img.channels + c];
}

std::string ImageFolder::summary() const {
  std::string s = dir + ": " + std::to_string(classes.size()) + " classes, " + std::to_string(train.size()) +
                  " train and " + std::to_string(val.size()) + " val images, " + std::to_string(channels) +
                  "-channel " + std::to_string(image_size) + "x" + std::to_string(image_size);
  s += "; " + std::to_string(non_images) + " non-image files skipped";
  if (undecodable > 0) s += ", " + std::to_string(undecodable) + " undecodable images skipped";
  return s;
}

ImageFolder scan_image_folder(const std::string& dir, const FolderOptions& opt) {
  MX_CHECK(is_dir(dir), dir, ": image folder not found (--data-dir); ", kLayout);
  const fs::path train_dir = fs::path(dir) / "train", val_dir = fs::path(dir) / "val";
  for (const fs::path& p : {train_dir, val_dir}) MX_CHECK(is_dir(p), p.string(), ": missing; ", kLayout);
  ImageFolder f;
  f.dir = dir;
  f.classes = class_folders(train_dir, f.non_images);
  f.train = scan_split(train_dir, f.classes, f.classes, f.non_images);
  f.val = scan_split(val_dir, class_folders(val_dir, f.non_images), f.classes, f.non_images);
  const std::vector<ImageHeader> train = probe_split(f.train, opt, f.undecodable);
  probe_split(f.val, opt, f.undecodable);
  MX_CHECK(f.train.size() > 0, train_dir.string(), ": no decodable images");
  MX_CHECK(f.val.size() > 0, val_dir.string(), ": no decodable images");
  f.channels = std::any_of(train.begin(), train.end(), [](const ImageHeader& h) { return h.channels >= 3; }) ? 3 : 1;
  f.image_size = resolve_image_size(opt.image_size, train);
  return f;
}

Dataset load_folder_split(const ImageFolder& folder, const FolderSplit& split, const FolderOptions& opt) {
  const int64_t n = split.size();
  const int c = folder.channels, size = folder.image_size;
  const size_t sample = static_cast<size_t>(c) * size * size;
  Dataset d;
  d.num_classes = static_cast<int>(folder.classes.size());
  d.images = Tensor::empty({n, c, size, size}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I32);
  std::copy(split.labels.begin(), split.labels.end(), d.labels.data<int32_t>());
  std::vector<std::string> failed(static_cast<size_t>(n));
  parallel_for(n, opt.workers, [&](int64_t i) {
    try {
      const Image img = eval_transform(decode_image(split.files[static_cast<size_t>(i)], c), size);
      put_planar(img, d.images.data<uint8_t>() + static_cast<size_t>(i) * sample);
    } catch (const Error& e) {
      failed[static_cast<size_t>(i)] = e.what();
    }
  });
  std::vector<int64_t> kept;
  int64_t dropped = 0;
  drop_failures(opt, split.files, failed, dropped, [&](size_t i) { kept.push_back(static_cast<int64_t>(i)); });
  return dropped == 0 ? d : subset(d, kept);
}

Split load_image_folder(const ImageFolder& folder, const FolderOptions& opt) {
  Split out{load_folder_split(folder, folder.train, opt), load_folder_split(folder, folder.val, opt)};
  MX_CHECK(out.train.size() > 0 && out.test.size() > 0, folder.dir, ": no decodable images in train/ or val/");
  return out;
}

FolderSplit spaced_subset(const FolderSplit& split, int64_t count) {
  if (count <= 0 || count >= split.size()) return split;
  FolderSplit out;
  for (int64_t k = 0; k < count; ++k) {
    const auto i = static_cast<size_t>(k * split.size() / count);
    out.files.push_back(split.files[i]);
    out.labels.push_back(split.labels[i]);
  }
  return out;
}

Image decode_image(const std::string& path, int channels) {
  return decode_image_bytes(files::read_all(path), channels, path);
}

Image decode_image_bytes(const std::string& bytes, int channels, const std::string& path) {
  ImageHeader header;
  const std::string problem = header_problem(bytes, bytes.size(), true, path, header);
  MX_CHECK(problem.empty(), problem);
  int w = 0, h = 0, stored = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> p(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h,
                            &stored, channels),
      stbi_image_free);
  MX_CHECK(p, path, ": cannot decode the image (", stbi_failure_reason(), ")");
  const size_t n = static_cast<size_t>(w) * h * channels;
  return {w, h, channels, std::vector<uint8_t>(p.get(), p.get() + n)};
}

std::optional<Image> decode_or_warn(const std::string& path, int channels, bool strict, const std::string& flag,
                                    std::vector<std::string>& lines) {
  try {
    return decode_image(path, channels);
  } catch (const Error& e) {
    MX_CHECK(!strict, e.what(), "; without ", flag, " it would be replaced by a blank image");
    lines.push_back(std::string("warning: ") + e.what() + "; replaced by a blank image");
    return std::nullopt;
  }
}

Box random_resized_crop(int width, int height, random::SplitMix64& g) {
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(3.0 / 4), log_hi = std::log(4.0 / 3);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (0.08 + 0.92 * unit_interval(g));
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * unit_interval(g));
    const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const int x = static_cast<int>(random::uniform_below(g, static_cast<uint64_t>(width - w + 1)));
      const int y = static_cast<int>(random::uniform_below(g, static_cast<uint64_t>(height - h + 1)));
      return {x, y, w, h};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < 3.0 / 4) h = static_cast<int>(std::lround(w * 4.0 / 3));
  else if (in_ratio > 4.0 / 3) w = static_cast<int>(std::lround(h * 4.0 / 3));
  return {(width - w) / 2, (height - h) / 2, w, h};
}

Image resize(const Image& src, const Box& box, int out_width, int out_height) {
  MX_CHECK(box.x >= 0 && box.y >= 0 && box.width > 0 && box.height > 0 && box.x + box.width <= src.width &&
               box.y + box.height <= src.height && out_width > 0 && out_height > 0,
           "resize: box ", box.width, "x", box.height, "+", box.x, "+", box.y, " is not inside a ", src.width, "x",
           src.height, " image");
  constexpr int kMaxChannels = 4;
  const int c = src.channels;
  MX_CHECK(c >= 1 && c <= kMaxChannels, "resize: ", c, " channels, expected 1 to 4");
  const AxisFilter fx = axis_filter(box.width, out_width), fy = axis_filter(box.height, out_height);
  // Rows of the box filtered horizontally (sums kept in registers), then columns vertically.
  std::vector<float> rows(static_cast<size_t>(box.height) * out_width * c);
  for (int y = 0; y < box.height; ++y) {
    const uint8_t* in = src.pixels.data() + (static_cast<size_t>(box.y + y) * src.width + box.x) * c;
    float* row = rows.data() + static_cast<size_t>(y) * out_width * c;
    for (int x = 0; x < out_width; ++x) {
      const float* w = fx.weights.data() + static_cast<size_t>(x) * fx.taps;
      const uint8_t* p = in + static_cast<size_t>(fx.first[x]) * c;
      float sum[kMaxChannels] = {};
      for (int k = 0; k < fx.count[x]; ++k, p += c)
        for (int ch = 0; ch < c; ++ch) sum[ch] += w[k] * p[ch];
      for (int ch = 0; ch < c; ++ch) row[x * c + ch] = sum[ch];
    }
  }
  Image out{out_width, out_height, c, std::vector<uint8_t>(static_cast<size_t>(out_width) * out_height * c)};
  const size_t line = static_cast<size_t>(out_width) * c;
  std::vector<float> acc(line);
  for (int y = 0; y < out_height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.f);
    const float* w = fy.weights.data() + static_cast<size_t>(y) * fy.taps;
    for (int k = 0; k < fy.count[y]; ++k) {
      const float* row = rows.data() + static_cast<size_t>(fy.first[y] + k) * line;
      for (size_t i = 0; i < line; ++i) acc[i] += w[k] * row[i];
    }
    uint8_t* dst = out.pixels.data() + y * line;
    for (size_t i = 0; i < line; ++i) dst[i] = static_cast<uint8_t>(std::clamp(acc[i] + 0.5f, 0.f, 255.f));
  }
  return out;
}

EvalGeometry eval_geometry(int width, int height, int size) {
  const int short_side = static_cast<int>(std::lround(size * 256.0 / 224));
  EvalGeometry g;
  if (width <= height) {
    g.resized_width = short_side;
    g.resized_height = static_cast<int>(static_cast<double>(short_side) * height / width);
  } else {
    g.resized_height = short_side;
    g.resized_width = static_cast<int>(static_cast<double>(short_side) * width / height);
  }
  g.crop = {static_cast<int>(std::lround((g.resized_width - size) / 2.0)),
            static_cast<int>(std::lround((g.resized_height - size) / 2.0)), size, size};
  return g;
}

Image eval_transform(const Image& src, int size) {
  if (src.width == size && src.height == size) return src;
  const EvalGeometry g = eval_geometry(src.width, src.height, size);
  return crop(resize(src, {0, 0, src.width, src.height}, g.resized_width, g.resized_height), g.crop);
}

Normalization imagenet_normalization(int channels) {
  if (channels == 1) return {{0.449f}, {0.226f}};
  MX_CHECK(channels == 3, "--norm imagenet: needs 1 or 3 channels, the data has ", channels);
  return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
}

std::string class_folder_name(const std::string& dataset, int label, int classes) {
  const std::string number = zero_padded(label, std::max(classes - 1, 0));
  std::string name = lower(class_name(dataset, label));
  if (name == std::to_string(label)) return number;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '-';
  return number + "-" + name;
}

int64_t export_image_folder(const Split& split, const std::string& dataset, const std::string& dir) {
  write_new_folder(dir, [&](const std::string& tmp) {
    export_split(split.train, dataset, fs::path(tmp) / "train");
    export_split(split.test, dataset, fs::path(tmp) / "val");
  });
  return split.train.size() + split.test.size();
}

}  // namespace mx::data
