// The `mixup` command line. Subcommands: train, preview (more arrive with the roadmap: mixtest,
// landscape, cyclegan, bench). Errors print one line "mixup: error: ..." and exit with status 1.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "apps/progress.h"
#include "datasets/datasets.h"
#include "engine/error.h"
#include "mixup/mixer.h"
#include "mixup/preview.h"
#include "mixup/recipes.h"
#include "mixup/sweep.h"
#include "mixup/trainer.h"
#include "models/models.h"

namespace {

using mx::mixup::TrainConfig;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "|") + x;
  return s;
}

// Every failure ends here: one line on stderr (after clearing a progress bar) and exit status 1.
int fail(const char* what) {
  if (isatty(fileno(stderr))) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "mixup: error: %s\n", what);
  return 1;
}

// The recipe decides every default, so find --recipe before the flags are bound.
std::string find_recipe(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recipe") == 0 && i + 1 < argc) return argv[i + 1];
    if (std::strncmp(argv[i], "--recipe=", 9) == 0) return argv[i] + 9;
  }
  return "quick";
}

void add_data_flags(CLI::App& cmd, std::string& dataset, std::string& data_dir) {
  cmd.add_option("--dataset", dataset, join(mx::data::dataset_names()))->capture_default_str();
  cmd.add_option("--data-dir", data_dir,
                 "Dataset folder (default: /usr/share/datasets/fashion-mnist for fashion-mnist; for CIFAR ./data, "
                 "holding cifar-10-batches-bin or cifar-100-binary)");
}

// The mixing flags shared by train and preview.
void add_mix_flags(CLI::App& cmd, mx::mixup::MixerOptions& m) {
  cmd.add_option("--mix", m.mix,
                 "Mode set: none, c (channel), h (horizontal seam), v (vertical seam), r (rectangle), letters "
                 "combined for equal odds (hv, hc, hvc), weights as \"h:1,c:2\" or \"none:1,hv:3\"")
      ->capture_default_str();
  cmd.add_option("--alpha", m.alpha, "lambda ~ Beta(alpha, alpha) unless --lam-x is given")->capture_default_str();
  cmd.add_option("--lam-x", m.lam_x, "Image mixing ratio: beta:A, beta:A:B, uniform:L1:L2 or const:V");
  cmd.add_option("--lam-l", m.lam_l, "Label mixing ratio: same (tied to the image ratio) or a distribution as --lam-x")
      ->capture_default_str();
  cmd.add_option("--lam-label", m.lam_label,
                 "With --lam-l same: exact (label weight = share of x1's pixels) or raw (the drawn lambda)")
      ->capture_default_str();
  cmd.add_option("--mix-per", m.per,
                 "batch (one mode and lambda per batch), half (first half the first mode, second half the "
                 "second), sample (each sample its own)")
      ->capture_default_str();
}

void add_train_flags(CLI::App& cmd, TrainConfig& c, std::string& recipe) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later flag wins
  cmd.add_option("--recipe", recipe, "Preset for every default below: " + join(mx::mixup::recipe_names()))
      ->capture_default_str();
  add_data_flags(cmd, c.dataset, c.data_dir);
  cmd.add_option("--model", c.model, join(mx::models::model_names()))->capture_default_str();
  add_mix_flags(cmd, c.mixing);
  cmd.add_option("--mix-off-epoch", c.mix_off_epoch, "From this epoch on, train without mixing (0: never)")
      ->capture_default_str();
  cmd.add_option("--epochs", c.epochs, "Training epochs")->capture_default_str();
  cmd.add_option("--batch-size", c.batch_size, "Images per step")->capture_default_str();
  cmd.add_option("--lr", c.lr, "Initial learning rate, divided by 10 at 50% and 75% of the epochs")
      ->capture_default_str();
  cmd.add_option("--warmup", c.warmup_epochs, "Linear learning-rate warm-up, in epochs")->capture_default_str();
  cmd.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  cmd.add_option("--wd", c.wd, "Weight decay")->capture_default_str();
  cmd.add_option("--nesterov", c.nesterov, "Nesterov momentum (true|false)")->capture_default_str();
  cmd.add_option("--flip", c.flip, "Random horizontal flips (true|false)")->capture_default_str();
  cmd.add_option("--translate", c.translate, "Random translation by up to this many pixels, zero padded")
      ->capture_default_str();
  cmd.add_option("--seed", c.seed, "Seed for initialisation, order, augmentation and mixing")->capture_default_str();
  cmd.add_option("--threads", c.threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd.add_option("--device", c.device, "auto|cpu|cuda")->capture_default_str();
  cmd.add_option("--out", c.out, "Output directory")->capture_default_str();
  cmd.add_option("--resume", c.resume, "Continue from this checkpoint (with its .state.safetensors beside it)");
  cmd.add_option("--save-every", c.save_every, "Also keep epoch-K.safetensors every K epochs (0: off)")
      ->capture_default_str();
  cmd.add_option("--train-limit", c.train_limit, "Use only the first N training images (0: all)")
      ->capture_default_str();
  cmd.add_option("--test-limit", c.test_limit, "Use only the first N test images (0: all)")->capture_default_str();
}

void add_preview_flags(CLI::App& cmd, mx::mixup::PreviewConfig& p) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_data_flags(cmd, p.dataset, p.data_dir);
  add_mix_flags(cmd, p.mix);
  cmd.add_option("--count", p.count, "Images in the previewed batch")->capture_default_str();
  cmd.add_option("--columns", p.columns, "Tiles per row")->capture_default_str();
  cmd.add_option("--scale", p.scale, "Screen pixels per image pixel")->capture_default_str();
  cmd.add_option("--seed", p.seed, "Seed for the images picked and the mixing")->capture_default_str();
  cmd.add_option("--out", p.out, "PNG file to write")->capture_default_str();
}

// Callbacks that drive the progress display of a training run.
mx::mixup::TrainCallbacks progress_callbacks(mx::app::Progress& progress, int epochs) {
  mx::mixup::TrainCallbacks cb;
  cb.notice = [&progress](const std::string& s) { progress.line(s); };
  cb.step = [&progress](const mx::mixup::StepInfo& s) {
    char detail[96];
    std::snprintf(detail, sizeof detail, "loss %.4f %.0f img/s", s.loss, s.images_per_s);
    progress.update("epoch " + std::to_string(s.epoch) + "/" + std::to_string(s.epochs), s.step, s.steps, detail,
                    s.eta_s);
  };
  cb.epoch = [&progress, epochs](const mx::mixup::EpochInfo& e) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %d/%d  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  lr %.4g  %.0f img/s  %s",
                  e.epoch, epochs, e.train_loss, 100 * e.train_acc, e.test_loss, 100 * e.test_acc, e.lr,
                  e.images_per_s, mx::app::format_duration(e.seconds).c_str());
    progress.line(buf);
  };
  return cb;
}

int run_train(const TrainConfig& c) {
  mx::mixup::validate(c);
  mx::app::Progress progress(stderr, stdout);
  mx::mixup::TrainCallbacks cb = progress_callbacks(progress, c.epochs);
  progress.line("mixup train: " + c.model + " on " + c.dataset + ", mix " + c.mixing.mix + ", " + std::to_string(c.epochs) +
                " epochs, batch " + std::to_string(c.batch_size) + ", " + std::to_string(c.threads > 0 ? c.threads : omp_get_num_procs()) +
                " threads -> " + c.out);
  mx::mixup::TrainSummary s = mx::mixup::train(c, cb);
  std::printf("final test accuracy %.2f%% (best %.2f%% at epoch %d), %.0f train images/s on %s, %s; wrote %s\n",
              100 * s.final_test_acc, 100 * s.best_test_acc, s.best_epoch, s.images_per_s, s.device.c_str(),
              mx::app::format_duration(s.seconds).c_str(), c.out.c_str());
  return 0;
}

int run_sweep(const std::string& name, TrainConfig c, const std::string& recipe_out) {
  if (c.out == recipe_out) c.out = "runs/sweep-" + name;
  mx::mixup::sweep_runs(name);  // reject an unknown name before anything runs
  mx::mixup::validate(c);
  mx::app::Progress progress(stderr, stdout);
  std::printf("%s", mx::mixup::run_sweep(name, c, progress_callbacks(progress, c.epochs)).c_str());
  std::printf("wrote %s/results.md and results.csv\n", c.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mixup: a framework-free engine for the mixup training methods (Liang et al., IEEE Access 2018)"};
  app.require_subcommand(1);
  app.footer("Run `mixup <command> --help` for the flags of a command and their defaults.");
  std::string recipe_name = find_recipe(argc, argv);
  TrainConfig config;
  try {
    config = mx::mixup::recipe(recipe_name);
  } catch (const mx::Error& e) {
    return fail(e.what());
  }
  CLI::App* train = app.add_subcommand("train", "Train a network with a mixing method; writes config.json, "
                                                "metrics.csv, checkpoint.safetensors, best.safetensors, summary.json");
  add_train_flags(*train, config, recipe_name);
  train->footer("Defaults shown are those of --recipe " + recipe_name + ".");
  TrainConfig sweep_config = config;
  std::string sweep_name;
  CLI::App* sweep = app.add_subcommand("sweep", "Run one of the paper's experiment grids (table1: ERM, mixup-C/H/HV/HC; "
                                                "fig1a-d: decoupled lambda ranges) and write results.md and results.csv");
  sweep->add_option("--sweep", sweep_name, join(mx::mixup::sweep_names()))->required();
  add_train_flags(*sweep, sweep_config, recipe_name);
  sweep->footer("Each run trains with the flags above, its mixing set by the sweep (--alpha still applies); runs "
                "go to OUT/<run>, and a finished run (with summary.json) is not trained again. Defaults shown are "
                "those of --recipe " + recipe_name + "; --out defaults to runs/sweep-<name>.");
  mx::mixup::PreviewConfig preview_config;
  CLI::App* preview = app.add_subcommand("preview", "Write a PNG grid of one training batch after mixing, each "
                                                    "tile labelled with its mode, labels and label weights");
  add_preview_flags(*preview, preview_config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return fail(e.what());
  }
  try {
    if (*train) return run_train(config);
    if (*sweep) return run_sweep(sweep_name, sweep_config, config.out);
    if (*preview) std::printf("%s\n", mx::mixup::write_preview(preview_config).c_str());
  } catch (const mx::Error& e) {
    return fail(e.what());
  }
  return 0;
}
