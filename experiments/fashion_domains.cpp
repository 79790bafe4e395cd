// fashion_domains: two Fashion-MNIST classes as the unaligned image-translation folder of CycleGAN
// (OUT/trainA, trainB, testA, testB of PNG images), by default sneakers (7) to ankle boots (9), padded
// from 28x28 to 32x32. Usage: fashion_domains --out DIR [--a 7] [--b 9] [--pad 2] [--limit N] [--data-dir D]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "datasets/class_domains.h"
#include "datasets/datasets.h"
#include "engine/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Fashion-MNIST classes as CycleGAN domains (OUT/trainA, trainB, testA, testB)"};
  mx::data::ClassDomainsOptions o;
  std::string data_dir = mx::data::default_data_dir("fashion-mnist"), out;
  app.add_option("--out", out, "Folder to write; must not exist")->required();
  app.add_option("--a", o.a, "Class of domain A")->capture_default_str();
  app.add_option("--b", o.b, "Class of domain B")->capture_default_str();
  app.add_option("--pad", o.pad, "Black pixels added on every side")->capture_default_str();
  app.add_option("--limit", o.limit, "At most this many images per folder (0: all)")->capture_default_str();
  app.add_option("--data-dir", data_dir, "Fashion-MNIST IDX .gz files")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const mx::data::Split split = mx::data::load_fashion_mnist(data_dir);
    const mx::data::ClassDomainsCounts n = mx::data::export_class_domains(split, o, out);
    const int size = split.train.height() + 2 * o.pad;
    std::printf("wrote %s: trainA %lld, trainB %lld, testA %lld, testB %lld images of %dx%d (%s -> %s)\n", out.c_str(),
                static_cast<long long>(n.train_a), static_cast<long long>(n.train_b), static_cast<long long>(n.test_a),
                static_cast<long long>(n.test_b), size, size, mx::data::class_name("fashion-mnist", o.a).c_str(),
                mx::data::class_name("fashion-mnist", o.b).c_str());
    return 0;
  } catch (const mx::Error& e) {
    std::fprintf(stderr, "fashion_domains: error: %s\n", e.what());
    return 1;
  }
}
