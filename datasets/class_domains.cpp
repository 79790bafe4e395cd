// Class domains: the images of two classes, padded, as PNG folders through image_folder's writers.
#include "datasets/class_domains.h"

#include <filesystem>
#include <vector>

#include "datasets/image_folder.h"

namespace mx::data {
namespace {

// `img` inside a black border of `pad` pixels.
Image padded(const Image& img, int pad) {
  const int w = img.width + 2 * pad, h = img.height + 2 * pad, c = img.channels;
  Image out{w, h, c, std::vector<uint8_t>(static_cast<size_t>(w) * h * c, 0)};
  const size_t row = static_cast<size_t>(img.width) * c;
  for (int y = 0; y < img.height; ++y)
    std::copy_n(img.pixels.data() + y * row, row, out.pixels.data() + (static_cast<size_t>(y + pad) * w + pad) * c);
  return out;
}

// The images of class `label` in `d` as DIR/<index>.png; returns how many.
int64_t write_domain(const Dataset& d, int label, const ClassDomainsOptions& opt, const char* flag, const char* split,
                     const std::string& dir) {
  std::vector<int64_t> picked;
  const int32_t* labels = d.labels.data<int32_t>();
  for (int64_t i = 0; i < d.size() && (opt.limit == 0 || static_cast<int64_t>(picked.size()) < opt.limit); ++i)
    if (labels[i] == label) picked.push_back(i);
  MX_CHECK(!picked.empty(), flag, " ", label, ": the ", split, " split has no image of that class");
  const auto n = static_cast<int64_t>(picked.size());
  for (int64_t k = 0; k < n; ++k) write_indexed_png(padded(dataset_image(d, picked[k]), opt.pad), dir, k, n);
  return n;
}

void check_class(int label, int classes, const char* flag) {
  MX_CHECK(label >= 0 && label < classes, flag, " ", label, ": not a class of the dataset (0 to ", classes - 1, ")");
}

}  // namespace

ClassDomainsCounts export_class_domains(const Split& split, const ClassDomainsOptions& opt, const std::string& out) {
  const int classes = split.train.num_classes;
  check_class(opt.a, classes, "--a");
  check_class(opt.b, classes, "--b");
  MX_CHECK(opt.a != opt.b, "--a and --b are both ", opt.a, "; the two domains must be different classes");
  MX_CHECK(opt.pad >= 0, "--pad ", opt.pad, ": must not be negative");
  MX_CHECK(opt.limit >= 0, "--limit ", opt.limit, ": must not be negative (0: all images)");
  ClassDomainsCounts n;
  write_new_folder(out, [&](const std::string& tmp) {
    const std::filesystem::path t(tmp);
    n.train_a = write_domain(split.train, opt.a, opt, "--a", "train", (t / "trainA").string());
    n.train_b = write_domain(split.train, opt.b, opt, "--b", "train", (t / "trainB").string());
    n.test_a = write_domain(split.test, opt.a, opt, "--a", "test", (t / "testA").string());
    n.test_b = write_domain(split.test, opt.b, opt, "--b", "test", (t / "testB").string());
  });
  return n;
}

}  // namespace mx::data
