// cyclegan-test (gan/translate.h): translate, reconstruct, write, score.
#include "gan/translate.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "datasets/image_folder.h"
#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/device_select.h"
#include "engine/files.h"
#include "engine/parameters.h"
#include "engine/threads.h"
#include "gan/cyclegan.h"
#include "gan/grid.h"

namespace mx::gan {

namespace {

namespace fs = std::filesystem;

const char* const kFolders[] = {"real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"};

// Image i of a [N, C, H, W] host batch in [-1, 1] as 8-bit pixels (HWC).
data::Image to_image(const std::vector<float>& v, const Shape& s, int64_t i) {
  data::Image img;
  img.channels = static_cast<int>(s[1]), img.height = static_cast<int>(s[2]), img.width = static_cast<int>(s[3]);
  const int64_t plane = s[2] * s[3];
  img.pixels.resize(static_cast<size_t>(plane * s[1]));
  for (int64_t c = 0; c < s[1]; ++c)
    for (int64_t p = 0; p < plane; ++p) {
      const float x = v[static_cast<size_t>((i * s[1] + c) * plane + p)];
      img.pixels[static_cast<size_t>(p * s[1] + c)] =
          static_cast<uint8_t>(std::lround(std::fmin(std::fmax((x + 1.f) * 127.5f, 0.f), 255.f)));
    }
  return img;
}

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

// Test images of each domain: an aligned file holds one of each.
int64_t images_a(const data::TranslationFolder& f) { return static_cast<int64_t>(f.a.size()); }
int64_t images_b(const data::TranslationFolder& f) { return static_cast<int64_t>(f.aligned ? f.a.size() : f.b.size()); }

// A fresh temporary output folder with one subfolder per kind of image; throws naming --out.
void make_output_dirs(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (const char* f : kFolders) {
    fs::create_directories(dir + "/" + f, ec);
    MX_CHECK(!ec, "--out: cannot create ", dir, "/", f, " (", ec.message(), ")");
  }
}

// The finished temporary folder replaces `out`; throws naming --out.
void put_in_place(const std::string& tmp, const std::string& out) {
  std::error_code ec;
  fs::remove_all(out, ec);
  fs::rename(tmp, out, ec);
  MX_CHECK(!ec, "--out: cannot move ", tmp, " to ", out, " (", ec.message(), ")");
}

// The run's configuration, with the test's overrides.
CycleGanConfig run_config(const CycleGanTestConfig& t) {
  const std::string path = t.checkpoint + "/config.json";
  MX_CHECK(files::exists(path), "--checkpoint ", t.checkpoint, ": no config.json there (give a cyclegan run directory)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(files::read_all(path));
  } catch (const nlohmann::json::exception& e) {
    MX_FAIL(path, ": not valid JSON (", e.what(), ")");
  }
  CycleGanConfig c = cyclegan_config_from_json(j, path);
  if (!t.data_dir.empty()) c.data_dir = t.data_dir;
  return c;
}

// Writes image i of each batch into its folder and adds its |rec - real| to the domain's sum.
struct Writer {
  std::string dir;
  double l1_a = 0, l1_b = 0;
  int64_t pixels_a = 0, pixels_b = 0;

  void write(const char* folder, const std::string& name, const std::vector<float>& v, const Shape& s, int64_t i) {
    data::write_png(to_image(v, s, i), dir + "/" + folder + "/" + name + ".png");
  }
  static double l1(const std::vector<float>& x, const std::vector<float>& y, int64_t i, int64_t per_image) {
    double sum = 0;
    for (int64_t p = i * per_image; p < (i + 1) * per_image; ++p)
      sum += std::fabs(static_cast<double>(x[static_cast<size_t>(p)]) - y[static_cast<size_t>(p)]);
    return sum / 2;  // [-1, 1] -> [0, 1]
  }
};

}  // namespace

CycleGanTestResult run_cyclegan_test(const CycleGanTestConfig& t, const std::function<void(const std::string&)>& notice) {
  MX_CHECK(!t.checkpoint.empty(), "--checkpoint: a run directory is required");
  MX_CHECK(t.limit >= 0 && t.grid_rows >= 1 && t.batch_size >= 1, "--limit, --grid-rows or --batch-size out of range");
  const CycleGanConfig c = run_config(t);
  std::string device_notice;
  const Device dev = select_device(t.device, device_notice);
  if (!device_notice.empty() && notice) notice(device_notice);
  set_num_threads(t.threads);
  data::TranslationOptions opt;
  opt.layout = c.layout, opt.direction = c.direction, opt.load_size = c.load_size, opt.crop_size = c.crop_size;
  opt.flip = false, opt.workers = 0, opt.warn = notice;
  data::TranslationFolder folder = data::scan_translation_folder(c.data_dir, "test", opt);
  if (t.limit > 0)
    for (auto* files : {&folder.a, &folder.b})
      if (static_cast<int64_t>(files->size()) > t.limit) files->resize(static_cast<size_t>(t.limit));
  if (notice) notice(folder.summary());

  CycleGanNets nets = make_cyclegan_nets(c, folder.channels);
  for (const auto& [name, net] : {std::pair{"G_A", nets.g_a}, std::pair{"G_B", nets.g_b}}) {
    const std::string path = net_path(t.checkpoint, name);
    checkpoint::load_into(path, checkpoint::load(path), net->state_dict());
  }
  nn::Sequential both;  // only to move the generators onto the device together
  both.push_back(nets.g_a);
  both.push_back(nets.g_b);
  ParameterStore store(both, dev);

  CycleGanTestResult r;
  r.out = t.out.empty() ? t.checkpoint + "/test" : t.out;
  Writer w{r.out + ".tmp." + std::to_string(::getpid())};
  make_output_dirs(w.dir);
  NoGradGuard no_grad;
  data::TranslationLoader loader(folder, opt, false, t.batch_size, c.seed);
  loader.start_epoch(0);
  data::TranslationBatch batch;
  std::vector<GridRow> grid;
  for (int64_t index = 0; loader.next(batch);) {
    const Tensor a = batch.a.to(dev), b = batch.b.to(dev);
    const Tensor fake_b = (*nets.g_a)(a), fake_a = (*nets.g_b)(b);
    const Tensor rec_a = (*nets.g_b)(fake_b), rec_b = (*nets.g_a)(fake_a);
    const Tensor* images[] = {&a, &fake_b, &rec_a, &b, &fake_a, &rec_b};
    std::vector<std::vector<float>> host;
    for (const Tensor* x : images) host.push_back(x->to(Device::CPU).to_vector<float>());
    const Shape& s = a.shape();
    const int64_t per_image = s[1] * s[2] * s[3];
    for (int64_t i = 0; i < s[0]; ++i, ++index) {
      if (index < images_a(folder)) {
        for (int k = 0; k < 3; ++k) w.write(kFolders[k], stem(batch.a_paths[static_cast<size_t>(i)]), host[k], s, i);
        w.l1_a += Writer::l1(host[2], host[0], i, per_image);
        w.pixels_a += per_image;
        ++r.a_images;
      }
      if (index < images_b(folder)) {
        for (int k = 3; k < 6; ++k) w.write(kFolders[k], stem(batch.b_paths[static_cast<size_t>(i)]), host[k], s, i);
        w.l1_b += Writer::l1(host[5], host[3], i, per_image);
        w.pixels_b += per_image;
        ++r.b_images;
      }
      if (static_cast<int>(grid.size()) < t.grid_rows)
        grid.push_back(translation_row(nets, a.slice(i, i + 1), b.slice(i, i + 1), stem(batch.a_paths[static_cast<size_t>(i)])));
    }
  }
  r.cycle_l1_a = w.l1_a / static_cast<double>(std::max<int64_t>(w.pixels_a, 1));
  r.cycle_l1_b = w.l1_b / static_cast<double>(std::max<int64_t>(w.pixels_b, 1));
  write_grid(w.dir + "/grid.png", grid, "mixup cyclegan-test: " + t.checkpoint);
  nlohmann::json s;
  s["checkpoint"] = t.checkpoint, s["data_dir"] = c.data_dir, s["mode"] = c.mode;
  s["a_images"] = r.a_images, s["b_images"] = r.b_images;
  s["cycle_l1_a"] = r.cycle_l1_a, s["cycle_l1_b"] = r.cycle_l1_b;
  files::write_atomic(w.dir + "/summary.json", s.dump(2) + "\n");
  put_in_place(w.dir, r.out);
  return r;
}

}  // namespace mx::gan
