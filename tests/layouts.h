// The state_dict layouts the model tests compare against: tests/data/NAME.state_dict.txt, written by
// tests/data/make_state_dicts.py from torchvision or the PyTorch twins in bench/torch_models.py.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn.h"

namespace mx::test {

using KeyShapes = std::vector<std::pair<std::string, Shape>>;

// tests/data/NAME.state_dict.txt: "name dim dim ..." per line after a '#' comment line.
inline KeyShapes reference_layout(const std::string& name) {
  const std::string path = std::string(MIXUP_SOURCE_DIR) + "/tests/data/" + name + ".state_dict.txt";
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  KeyShapes out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    Shape shape;
    for (int64_t d; fields >> d;) shape.push_back(d);
    out.emplace_back(key, shape);
  }
  return out;
}

inline KeyShapes key_shapes(const nn::Module& m) {
  KeyShapes out;
  for (const auto& [name, t] : m.state_dict()) out.emplace_back(name, t.shape());
  return out;
}

}  // namespace mx::test
