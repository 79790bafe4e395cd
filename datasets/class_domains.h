// Two classes of a labelled dataset as the two domains of an unaligned image-translation folder in
// junyanz's CycleGAN layout (OUT/trainA, trainB, testA, testB of PNG files), e.g. Fashion-MNIST
// sneakers (7) to ankle boots (9) for the `fashion_domains` tool.
#pragma once
#include <cstdint>
#include <string>

#include "datasets/datasets.h"

namespace mx::data {

struct ClassDomainsOptions {
  int a = 7, b = 9;   // --a, --b: the classes of domains A and B
  int pad = 2;        // --pad: black pixels added on every side (Fashion-MNIST 28x28 -> 32x32)
  int64_t limit = 0;  // --limit: at most this many images per folder, the first of each class; 0: all
};

struct ClassDomainsCounts {
  int64_t train_a = 0, train_b = 0, test_a = 0, test_b = 0;
};

// Writes the images of class a and class b of split.train to OUT/trainA and OUT/trainB and of
// split.test to OUT/testA and OUT/testB, each folder as <index>.png in dataset order, padded by `pad`.
// Everything goes to OUT.tmp.<pid>, renamed to OUT at the end; OUT must not exist. Throws naming the
// flag for a class out of range, equal classes, a negative pad or limit, or a class with no images in a split.
ClassDomainsCounts export_class_domains(const Split& split, const ClassDomainsOptions& opt, const std::string& out);

}  // namespace mx::data
