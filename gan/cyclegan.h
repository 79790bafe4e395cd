// `mixup cyclegan`: CycleGAN (Zhu et al.) and MixCycleGAN (paper V-B, eq. 3) on unaligned or aligned image
// folders. CycleGan::step() is the whole data path of one step: stitch (mix) -> generators -> generator losses
// -> generator update -> discriminator losses -> discriminator update -> loss record. epoch() runs one epoch,
// writes its sample grid, metrics row and checkpoints; run() trains every epoch left after --resume.
//
// Names follow junyanz/pytorch-CycleGAN-and-pix2pix: G_A maps A to B, G_B maps B to A, D_A judges domain B
// (real_B against fake_B = G_A(real_A)), D_B judges domain A. The run directory holds config.json,
// metrics.csv, samples/epoch_NNN.png, latest_net_{G_A,G_B,D_A,D_B}.safetensors (each network's state_dict
// with the reference's names) and latest.state.safetensors (both Adams, both image pools, the epoch),
// all written atomically; summary.json at the end.
#pragma once
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datasets/translation_folder.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "gan/config.h"
#include "gan/image_pool.h"
#include "gan/stitch.h"

namespace mx::gan {

// The losses of a step, as the reference reports them; G = G_A + G_B + cycle_A + cycle_B + idt_A + idt_B
// (the cycle and identity terms already weighted).
enum LossColumn { kLossG, kLossD_A, kLossD_B, kLossG_A, kLossG_B, kCycleA, kCycleB, kIdtA, kIdtB, kLossColumns };
const std::vector<std::string>& loss_names();  // "G", "D_A", ... in LossColumn order

struct GanEpoch {
  int epoch = 0;  // 1-based
  double lr = 0;
  std::array<double, kLossColumns> loss{};  // means over the epoch's steps
  double seconds = 0, images_per_s = 0;
};

struct GanStepInfo {
  int epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;
  double loss_g = 0, loss_d = 0;  // running means over the epoch (loss_d = D_A + D_B)
  double images_per_s = 0, eta_s = 0;
};

struct GanCallbacks {
  std::function<void(const std::string&)> notice;
  std::function<void(const GanStepInfo&)> step;
  std::function<void(const GanEpoch&)> epoch;
  // Tests: after step `step` (1-based) of epoch `epoch`, with the generators' and discriminators' stores.
  std::function<void(int epoch, int64_t step, ParameterStore& g, ParameterStore& d)> after_step;
};

// The four networks for images of `channels` channels, initialised from the config's seed.
struct CycleGanNets {
  std::shared_ptr<nn::Module> g_a, g_b, d_a, d_b;
};
CycleGanNets make_cyclegan_nets(const CycleGanConfig& c, int channels);
// "DIR/latest_net_G_A.safetensors" for network name "G_A".
std::string net_path(const std::string& dir, const std::string& name);

class CycleGan {
 public:
  // Validates, scans the data, builds networks, optimizers and pools, resumes when asked. Throws one-line
  // mx::Errors naming the flag or file at fault.
  CycleGan(const CycleGanConfig& config, GanCallbacks cb);
  ~CycleGan();

  void step(const data::TranslationBatch& batch);  // one optimisation step of all four networks
  GanEpoch epoch();                                 // the next epoch, its grid, metrics and checkpoints
  void run();                                       // every epoch left, then summary.json

  Device device() const { return dev_; }
  int total_epochs() const { return c_.epochs + c_.epochs_decay; }
  const CycleGanNets& nets() const { return nets_; }

 private:
  using Clock = std::chrono::steady_clock;
  Tensor input(const Tensor& images, const Tensor& partners, const StitchDraw& d) const;
  Tensor gan_loss(const Tensor& logits, const Tensor& target) const;
  Tensor target(int64_t n, float value) const;
  Tensor discriminator_loss(nn::Module& d, const Tensor& source, const Tensor& fake, const Tensor& real,
                            ImagePool& pool, double lam);
  void record(int column, const Tensor& loss);
  std::vector<float> checked_losses();
  std::vector<float> report(bool force);
  void write_grid(int epoch);
  void save();
  void handle_requests(bool epoch_end);
  void resume();
  void load_networks(const checkpoint::File& state, const std::string& state_file);
  void resume_mid_epoch(const checkpoint::File& state, const std::string& state_file);
  void write_metrics();

  CycleGanConfig c_;
  GanCallbacks cb_;
  Device dev_ = Device::CPU;
  data::TranslationFolder train_folder_;
  data::TranslationOptions data_opt_;
  std::unique_ptr<data::TranslationLoader> loader_;
  CycleGanNets nets_;
  std::shared_ptr<nn::Module> generators_, discriminators_;  // pairs owning the flat buffers' layout
  std::unique_ptr<ParameterStore> g_store_, d_store_;
  std::unique_ptr<optim::Adam> g_opt_, d_opt_;
  optim::LinearDecaySchedule schedule_;
  ImagePool pool_a_, pool_b_;  // fakes of domain A (for D_B) and B (for D_A)

  int epoch_ = 0;  // epochs completed
  int64_t step_ = 0;  // steps done in the current epoch
  struct MidEpoch {   // where a run resumed in the middle of an epoch starts it
    int64_t step = 0;
    Tensor losses;  // [step, kLossColumns] on the host
    double seconds = 0, images = 0;
  } resume_at_;
  Clock::time_point last_save_ = Clock::now();
  std::string last_good_ = "no checkpoint was written before it";  // where the last save went, for errors
  float lr_ = 0;
  random::Rng rng_;
  Tensor losses_;  // [steps per epoch, kLossColumns] on the device
  std::vector<GanEpoch> rows_;
  Clock::time_point epoch_start_, last_report_;
  double train_seconds_ = 0, images_ = 0;
};

}  // namespace mx::gan
