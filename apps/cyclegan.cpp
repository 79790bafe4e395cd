// The cyclegan commands (apps/cyclegan.h): a live bar while training, one line per epoch, a result line.
#include "apps/cyclegan.h"

#include <cstdio>

#include "apps/progress.h"
#include "gan/cyclegan.h"

namespace mx::app {

namespace {

gan::GanCallbacks gan_progress(Progress& progress) {
  gan::GanCallbacks cb;
  cb.notice = [&progress](const std::string& s) { progress.line(s); };
  cb.step = [&progress](const gan::GanStepInfo& s) {
    char detail[96];
    std::snprintf(detail, sizeof detail, "G %.4f D %.4f %.1f img/s", s.loss_g, s.loss_d, s.images_per_s);
    progress.update("epoch " + std::to_string(s.epoch) + "/" + std::to_string(s.epochs), s.step, s.steps, detail,
                    s.eta_s);
  };
  cb.epoch = [&progress](const gan::GanEpoch& e) {
    const auto& l = e.loss;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %d  G %.4f (G_A %.4f G_B %.4f cycle %.4f/%.4f idt %.4f/%.4f)  D_A %.4f D_B %.4f  lr %.3g  "
                  "%.1f img/s  %s",
                  e.epoch, l[gan::kLossG], l[gan::kLossG_A], l[gan::kLossG_B], l[gan::kCycleA], l[gan::kCycleB],
                  l[gan::kIdtA], l[gan::kIdtB], l[gan::kLossD_A], l[gan::kLossD_B], e.lr, e.images_per_s,
                  format_duration(e.seconds).c_str());
    progress.line(buf);
  };
  return cb;
}

}  // namespace

int run_cyclegan(const gan::CycleGanConfig& c) {
  Progress progress(stderr, stdout);
  gan::CycleGan trainer(c, gan_progress(progress));
  progress.line("mixup cyclegan: mode " + c.mode + (c.mode == "mix" ? " (d-mix " + c.d_mix + ")" : "") + ", " +
                std::to_string(trainer.total_epochs()) + " epochs, batch " + std::to_string(c.batch_size) + ", " +
                device_name(trainer.device()) + " -> " + c.out);
  trainer.run();
  std::printf("wrote %s: latest_net_{G_A,G_B,D_A,D_B}.safetensors, metrics.csv, samples/, summary.json\n",
              c.out.c_str());
  return 0;
}

int run_cyclegan_test(const gan::CycleGanTestConfig& c) {
  Progress progress(stderr, stdout);
  const gan::CycleGanTestResult r = gan::run_cyclegan_test(c, [&progress](const std::string& s) { progress.line(s); });
  std::printf("translated %lld A and %lld B test images; cycle L1 A %.4f, B %.4f (pixels in [0, 1]); wrote %s\n",
              static_cast<long long>(r.a_images), static_cast<long long>(r.b_images), r.cycle_l1_a, r.cycle_l1_b,
              r.out.c_str());
  return 0;
}

}  // namespace mx::app
