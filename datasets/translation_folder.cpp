// Image-translation folders: the layout detection and scan (headers probed on the workers), and the loader:
// a BatchPipeline whose workers each make whole batches, planning every sample's files, crop and flip from
// its (seed, epoch, position) stream and decoding one file per job (an aligned A|B file once for both halves).
#include "datasets/translation_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <utility>

#include "datasets/batch_pipeline.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "datasets/workers.h"
#include "engine/random.h"

namespace mx::data {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kTranslationStream = 5;  // loader.cpp uses streams 1 and 2, the trainer 3, folder_loader 4
const char* const kUnaligned = "the unaligned layout holds DIR/trainA/, DIR/trainB/, DIR/testA/, DIR/testB/";
const char* const kAligned =
    "the aligned layout holds DIR/train/ and DIR/test/ (or DIR/val/), each image A|B side by side";

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The aligned folder of a phase: DIR/<phase>, for "test" DIR/val when DIR/test is absent.
fs::path aligned_dir(const fs::path& dir, const std::string& phase) {
  if (phase == "test" && !is_dir(dir / "test") && is_dir(dir / "val")) return dir / "val";
  return dir / phase;
}

// "trainA/, trainB/, val/" or "no folders": the folders in `dir`, sorted.
std::string folders_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (is_dir(e.path())) names.push_back(e.path().filename().string() + "/");
  std::sort(names.begin(), names.end());
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "no folders" : s;
}

// --layout resolved: true for aligned.
bool resolve_layout(const fs::path& dir, const std::string& phase, const std::string& layout) {
  MX_CHECK(layout == "auto" || layout == "unaligned" || layout == "aligned",
           "--layout: expected auto, unaligned or aligned, got '", layout, "'");
  if (layout != "auto") return layout == "aligned";
  const bool unaligned = is_dir(dir / (phase + "A")) || is_dir(dir / (phase + "B"));
  const bool aligned = is_dir(aligned_dir(dir, phase));
  MX_CHECK(unaligned != aligned, dir.string(), ": ", unaligned ? "both" : "neither", " the unaligned layout (", phase,
           "A/, ", phase, "B/) ", unaligned ? "and" : "nor", " the aligned one (",
           aligned_dir(dir, phase).filename().string(), "/) found; the folder holds ", folders_in(dir),
           unaligned ? "; choose one with --layout unaligned or aligned" : "");
  return aligned;
}

// The images of one domain folder, sorted; throws naming the folder when it is missing or empty.
std::vector<std::string> domain_images(const fs::path& dir, const char* layout, int64_t& non_images) {
  MX_CHECK(is_dir(dir), dir.string(), ": missing; ", layout);
  std::vector<std::string> files = list_images(dir.string(), non_images);
  MX_CHECK(!files.empty(), dir.string(), ": empty domain (no .jpg, .jpeg or .png files)");
  return files;
}

// Drops the undecodable files of one domain; returns the headers of those kept.
std::vector<ImageHeader> probe_domain(std::vector<std::string>& files, const fs::path& dir,
                                      const TranslationOptions& opt, int64_t& undecodable) {
  const std::vector<ImageHeader> headers =
      probe_images(files, FolderOptions{0, opt.workers, opt.strict, opt.warn}, undecodable);
  MX_CHECK(!headers.empty(), dir.string(), ": no decodable images");
  std::vector<std::string> kept;
  for (const ImageHeader& h : headers) kept.push_back(files[h.index]);
  files = std::move(kept);
  return headers;
}

int resolve_channels(int requested, const std::vector<ImageHeader>& a, const std::vector<ImageHeader>& b) {
  MX_CHECK(requested == 0 || requested == 1 || requested == 3, "--channels: expected 0 (from the images), 1 or 3, got ",
           requested);
  if (requested != 0) return requested;
  const auto colour = [](const ImageHeader& h) { return h.channels >= 3; };
  return std::any_of(a.begin(), a.end(), colour) || std::any_of(b.begin(), b.end(), colour) ? 3 : 1;
}

// Where one image of a sample comes from and how it is cut: the file (index into its domain), the
// crop box in the load_size x load_size image and the flip.
struct View {
  int64_t file = 0;
  Box crop;
  bool flip = false;
};

struct SamplePlan {
  View a, b, a_partner, b_partner;
};

// A uniformly drawn index of [0, n) other than `self`; self when n is 1.
int64_t other_index(random::SplitMix64& g, int64_t n, int64_t self) {
  if (n == 1) return self;
  const auto k = static_cast<int64_t>(random::uniform_below(g, static_cast<uint64_t>(n - 1)));
  return k >= self ? k + 1 : k;
}

// One decode job: a file into `left` (the whole image, or with `right` its left half, the right half
// going to `right`), cut as `view` says.
struct Job {
  const std::string* path;
  View view;
  float *left, *right;
};

// What a batch is made from: the epoch and its sample order.
struct EpochPlan {
  int epoch = 0;
  std::vector<int64_t> order;
};

}  // namespace

int64_t TranslationFolder::size() const {
  const auto na = static_cast<int64_t>(a.size()), nb = static_cast<int64_t>(b.size());
  return aligned ? na : std::max(na, nb);
}

std::string TranslationFolder::summary() const {
  std::string s = dir + ": " + (aligned ? "aligned " : "unaligned ") + phase + ", ";
  s += aligned ? std::to_string(a.size()) + " A|B images"
               : std::to_string(a.size()) + " A and " + std::to_string(b.size()) + " B images";
  s += ", " + std::to_string(channels) + "-channel, " + (swapped ? "BtoA" : "AtoB");
  s += "; " + std::to_string(non_images) + " non-image files skipped";
  if (undecodable > 0) s += ", " + std::to_string(undecodable) + " undecodable images skipped";
  return s;
}

TranslationFolder scan_translation_folder(const std::string& dir, const std::string& phase,
                                          const TranslationOptions& opt) {
  MX_CHECK(phase == "train" || phase == "test", "scan_translation_folder: phase must be train or test, got '", phase,
           "'");
  MX_CHECK(opt.direction == "AtoB" || opt.direction == "BtoA", "--direction: expected AtoB or BtoA, got '",
           opt.direction, "'");
  MX_CHECK(is_dir(dir), dir, ": translation data folder not found (--data-dir); ", kUnaligned, "; or ", kAligned);
  TranslationFolder f;
  f.dir = dir;
  f.phase = phase;
  f.aligned = resolve_layout(dir, phase, opt.layout);
  f.swapped = opt.direction == "BtoA";
  std::vector<ImageHeader> ha, hb;
  if (f.aligned) {
    const fs::path d = aligned_dir(dir, phase);
    f.a = domain_images(d, kAligned, f.non_images);
    ha = probe_domain(f.a, d, opt, f.undecodable);
    for (size_t i = 0; i < ha.size(); ++i)
      MX_CHECK(ha[i].width >= 2, f.a[i], ": ", ha[i].width,
               " pixel wide; an aligned image holds A|B side by side, at least 2 pixels wide");
  } else {
    const fs::path da = fs::path(dir) / (phase + "A"), db = fs::path(dir) / (phase + "B");
    f.a = domain_images(da, kUnaligned, f.non_images);
    f.b = domain_images(db, kUnaligned, f.non_images);
    ha = probe_domain(f.a, da, opt, f.undecodable);
    hb = probe_domain(f.b, db, opt, f.undecodable);
    if (f.swapped) std::swap(f.a, f.b);
  }
  f.channels = resolve_channels(opt.channels, ha, hb);
  return f;
}

struct TranslationLoader::State {
  TranslationFolder folder;
  TranslationOptions opt;
  bool train = true;
  int64_t batch_size = 1, batches = 0;
  uint64_t seed = 0;
  std::vector<float> table;  // [channel * 256 + pixel] -> (pixel / 255 - 0.5) / 0.5
  bool started = false;
  std::unique_ptr<BatchPipeline<TranslationBatch>> pipeline;  // last, so that its workers stop first

  View draw_view(random::SplitMix64& g, int64_t file) const;
  SamplePlan plan(const EpochPlan& e, int64_t position) const;
  std::vector<Job> jobs(const EpochPlan& e, int64_t first, TranslationBatch& b) const;
  TranslationBatch make_batch(const EpochPlan& e, int64_t index, std::vector<std::string>& lines) const;
  void put(const Image& img, const View& v, float* out) const;
  void decode(const Job& job, std::vector<std::string>& lines) const;
};

View TranslationLoader::State::draw_view(random::SplitMix64& g, int64_t file) const {
  const int load = opt.load_size, crop = opt.crop_size;
  View v{file, {0, 0, crop, crop}, false};
  if (train) {
    v.crop.x = static_cast<int>(random::uniform_below(g, static_cast<uint64_t>(load - crop + 1)));
    v.crop.y = static_cast<int>(random::uniform_below(g, static_cast<uint64_t>(load - crop + 1)));
    v.flip = opt.flip && (g() >> 63) != 0;
  } else {
    v.crop.x = v.crop.y = static_cast<int>(std::lround((load - crop) / 2.0));
  }
  return v;
}

SamplePlan TranslationLoader::State::plan(const EpochPlan& e, int64_t position) const {
  random::SplitMix64 g{
      random::derive_key({seed, kTranslationStream, static_cast<uint64_t>(e.epoch), static_cast<uint64_t>(position)})};
  const int64_t idx = e.order[static_cast<size_t>(position)];
  const auto na = static_cast<int64_t>(folder.a.size()), nb = static_cast<int64_t>(folder.b.size());
  SamplePlan p;
  if (folder.aligned) {
    p.a = p.b = draw_view(g, idx);
    if (opt.partners) p.a_partner = p.b_partner = draw_view(g, other_index(g, na, idx));
    return p;
  }
  const int64_t b_file = train ? static_cast<int64_t>(random::uniform_below(g, static_cast<uint64_t>(nb))) : idx % nb;
  p.a = draw_view(g, idx % na);
  p.b = draw_view(g, b_file);
  if (opt.partners) {
    p.a_partner = draw_view(g, other_index(g, na, p.a.file));
    p.b_partner = draw_view(g, other_index(g, nb, p.b.file));
  }
  return p;
}

// One image (or half) resized to load_size (unless it is that size already), cropped, flipped, normalized.
void TranslationLoader::State::put(const Image& img, const View& v, float* out) const {
  const int load = opt.load_size;
  if (img.width == load && img.height == load) return normalize_planar(crop(img, v.crop), v.flip, table, out);
  normalize_planar(crop(resize(img, {0, 0, img.width, img.height}, load, load), v.crop), v.flip, table, out);
}

// Decodes one file; an undecodable file gives blank (zero) images, or throws with `strict`.
void TranslationLoader::State::decode(const Job& job, std::vector<std::string>& lines) const {
  const std::optional<Image> img = decode_or_warn(*job.path, folder.channels, opt.strict, "--strict-images", lines);
  if (!img) {
    const size_t n = static_cast<size_t>(folder.channels) * opt.crop_size * opt.crop_size;
    for (float* out : {job.left, job.right})
      if (out) std::fill(out, out + n, 0.f);
    return;
  }
  if (!job.right) return put(*img, job.view, job.left);
  const int half = img->width / 2;
  put(crop(*img, {0, 0, half, img->height}), job.view, job.left);
  put(crop(*img, {half, 0, img->width - half, img->height}), job.view, job.right);
}

// The paths of batch b's samples from `first` on, and one decode job per file into b's tensors: an
// aligned file fills both sides at once (its left half is A, or B when swapped).
std::vector<Job> TranslationLoader::State::jobs(const EpochPlan& e, int64_t first, TranslationBatch& b) const {
  const size_t sample = static_cast<size_t>(folder.channels) * opt.crop_size * opt.crop_size;
  std::vector<Job> out;
  const auto add = [&](const std::vector<std::string>& files, const View& v, Tensor& t, Tensor* right, int64_t i) {
    float* dst = t.data<float>() + static_cast<size_t>(i) * sample;
    float* dst_right = right ? right->data<float>() + static_cast<size_t>(i) * sample : nullptr;
    if (right && folder.swapped) std::swap(dst, dst_right);
    out.push_back({&files[static_cast<size_t>(v.file)], v, dst, dst_right});
  };
  const std::vector<std::string>& files_b = folder.aligned ? folder.a : folder.b;
  for (int64_t i = 0; i < b.a.size(0); ++i) {
    const SamplePlan p = plan(e, first + i);
    b.a_paths.push_back(folder.a[static_cast<size_t>(p.a.file)]);
    b.b_paths.push_back(files_b[static_cast<size_t>(p.b.file)]);
    if (folder.aligned) {
      add(folder.a, p.a, b.a, &b.b, i);
      if (opt.partners) add(folder.a, p.a_partner, b.a_partner, &b.b_partner, i);
      continue;
    }
    add(folder.a, p.a, b.a, nullptr, i);
    add(folder.b, p.b, b.b, nullptr, i);
    if (opt.partners) {
      add(folder.a, p.a_partner, b.a_partner, nullptr, i);
      add(folder.b, p.b_partner, b.b_partner, nullptr, i);
    }
  }
  return out;
}

// Batch `index` of the epoch; its files are decoded one after the other (the workers make whole batches).
TranslationBatch TranslationLoader::State::make_batch(const EpochPlan& e, int64_t index,
                                                      std::vector<std::string>& lines) const {
  const int64_t first = index * batch_size, n = std::min(batch_size, folder.size() - first);
  const int c = folder.channels, size = opt.crop_size;
  TranslationBatch b;
  for (Tensor* t : {&b.a, &b.b, &b.a_partner, &b.b_partner})
    if (opt.partners || t == &b.a || t == &b.b) *t = Tensor::empty({n, c, size, size});
  for (const Job& job : jobs(e, first, b)) decode(job, lines);
  return b;
}

TranslationLoader::TranslationLoader(const TranslationFolder& f, const TranslationOptions& opt, bool train,
                                     int64_t batch_size, uint64_t seed)
    : state_(std::make_unique<State>()) {
  MX_CHECK(opt.crop_size >= 1, "--crop-size must be at least 1, got ", opt.crop_size);
  MX_CHECK(opt.load_size >= opt.crop_size, "--load-size ", opt.load_size, " is smaller than --crop-size ",
           opt.crop_size, "; the crop is cut from the image resized to --load-size");
  MX_CHECK(batch_size >= 1, "--batch-size must be at least 1, got ", batch_size);
  MX_CHECK(f.size() > 0 && (f.aligned || !f.b.empty()), "TranslationLoader: ", f.dir, " has an empty domain");
  MX_CHECK(f.channels == 1 || f.channels == 3, "TranslationLoader: ", f.dir, " has ", f.channels,
           " channels, expected 1 or 3 (scan it with scan_translation_folder)");
  State& s = *state_;
  s.folder = f;
  s.opt = opt;
  s.train = train;
  s.batch_size = batch_size;
  s.batches = (f.size() + batch_size - 1) / batch_size;
  s.seed = seed;
  s.table = normalization_table(Normalization{std::vector<float>(static_cast<size_t>(f.channels), 0.5f),
                                              std::vector<float>(static_cast<size_t>(f.channels), 0.5f)},
                                f.channels);
  const int workers = worker_count(opt.workers);
  s.pipeline = std::make_unique<BatchPipeline<TranslationBatch>>(workers, 2 * workers);
}

TranslationLoader::~TranslationLoader() = default;

int64_t TranslationLoader::batches_per_epoch() const { return state_->batches; }

void TranslationLoader::start_epoch(int epoch, int64_t first_batch) {
  MX_CHECK(epoch >= 0, "TranslationLoader: epoch must not be negative, got ", epoch);
  State& s = *state_;
  MX_CHECK(first_batch >= 0 && first_batch <= s.batches, "TranslationLoader: first batch ", first_batch,
           " of an epoch of ", s.batches);
  s.started = true;
  const auto e =
      std::make_shared<const EpochPlan>(EpochPlan{epoch, sample_order(s.folder.size(), s.train, s.seed, epoch)});
  s.pipeline->start(s.batches,
                    [&s, e](int64_t index, std::vector<std::string>& lines) { return s.make_batch(*e, index, lines); },
                    first_batch);
}

bool TranslationLoader::next(TranslationBatch& out) {
  State& s = *state_;
  MX_CHECK(s.started, "TranslationLoader: call start_epoch before next");
  std::vector<std::string> lines;
  if (!s.pipeline->next(out, lines)) return false;
  if (s.opt.warn)
    for (const std::string& line : lines) s.opt.warn(line);
  return true;
}

}  // namespace mx::data
