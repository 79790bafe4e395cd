// `mixup cyclegan-test`: the test images of both domains through a trained run's generators, as the
// reference's test.py does: OUT/{real_A,fake_B,rec_A,real_B,fake_A,rec_B}/<name>.png, a grid of the first
// rows (gan/grid.h), and summary.json with the image counts and the cycle L1 of each domain.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace mx::gan {

struct CycleGanTestConfig {
  std::string checkpoint;  // the run directory: config.json and latest_net_G_{A,B}.safetensors
  std::string data_dir;    // default: the run's --data-dir
  std::string out;         // default: CHECKPOINT/test; replaced as a whole when it exists
  std::string device = "auto";
  int threads = 0;
  int64_t limit = 0;  // test images per domain at most (0: all)
  int grid_rows = 8;
  int batch_size = 8;
};

struct CycleGanTestResult {
  int64_t a_images = 0, b_images = 0;
  double cycle_l1_a = 0, cycle_l1_b = 0;  // mean |G_B(G_A(a)) - a| and |G_A(G_B(b)) - b|, pixels in [0, 1]
  std::string out;
};

// Throws one-line mx::Errors naming the flag or file at fault; writes everything into OUT.tmp.<pid> first.
CycleGanTestResult run_cyclegan_test(const CycleGanTestConfig& c, const std::function<void(const std::string&)>& notice);

}  // namespace mx::gan
