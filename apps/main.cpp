// The `mixup` command line. Subcommands: train, sweep, preview, mixtest, landscape, export, models, init
// (more arrive with the roadmap: cyclegan, bench). Errors print one line "mixup: error: ..." and exit with status 1.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <variant>

#include "analysis/landscape.h"
#include "analysis/mixtest.h"
#include "analysis/sweep.h"
#include "apps/cyclegan.h"
#include "apps/progress.h"
#include "apps/zoo.h"
#include "apps/translation_score.h"
#include "datasets/datasets.h"
#include "datasets/image_folder.h"
#include "engine/device_select.h"
#include "engine/dist/launch.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/threads.h"
#include "models/models.h"
#include "train/config.h"
#include "train/trainer.h"
#include "viz/preview.h"

namespace {

using mx::train::TrainConfig;

using mx::train::join_names;

// Every failure ends here: one line on stderr (after clearing a progress bar) and exit status 1.
int fail(const char* what) {
  if (isatty(fileno(stderr))) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "mixup: error: %s\n", what);
  return 1;
}

// Every number flag of `cmd` and its commands (CLI11's type FLOAT: float and double) must be finite, so
// that `--lr inf` or `--range nan` stops with one line naming the flag, as other bad values do. The
// settings tables check their rows once more after parsing (train/settings.h: check_rows).
void require_finite_numbers(CLI::App& cmd) {
  static const CLI::Validator finite(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && *end == '\0';  // anything else is CLI11's to refuse
        return number && !std::isfinite(v) ? "must be a finite number, got " + text : "";
      },
      "");
  for (CLI::Option* opt : cmd.get_options())
    if (opt->get_type_name() == "FLOAT") opt->check(finite);
  for (CLI::App* sub : cmd.get_subcommands([](CLI::App*) { return true; })) require_finite_numbers(*sub);
}

// A word for a shell command line: as it is when it is plain, else single-quoted.
std::string shell_word(const std::string& w) {
  const bool plain = !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                        "-_./=:,+@%") == std::string::npos;
  if (plain) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// This command line with `flag` set to `value` (an earlier value of it dropped); no flag: as it is.
std::string command_with(int argc, char** argv, const std::string& flag, const std::string& value) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (!flag.empty() && a == flag) {
      ++i;  // and its value
      continue;
    }
    if (!flag.empty() && a.rfind(flag + "=", 0) == 0) continue;
    line += (line.empty() ? "" : " ") + shell_word(a);
  }
  return flag.empty() ? line : line + " " + flag + " " + shell_word(value);
}

// A job stopped by SIGINT or SIGTERM after saving: where it stopped, how to go on, status 128 + signal.
int stopped(const mx::interrupt::Stopped& e, const std::string& resume_line) {
  if (isatty(fileno(stderr))) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "mixup: %s\nmixup: resume with: %s\n", e.what(), resume_line.c_str());
  return e.exit_status();
}

// The recipe decides every default, so find --recipe before the flags are bound.
std::string find_recipe(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recipe") == 0 && i + 1 < argc) return argv[i + 1];
    if (std::strncmp(argv[i], "--recipe=", 9) == 0) return argv[i] + 9;
  }
  return "quick";
}

// Binds the rows of a settings table (train/config.h) to flags of `cmd`, showing their current values
// (the recipe's) as defaults. A true/false setting also works as a bare flag (`--strict-images`).
void add_settings(CLI::App& cmd, const std::vector<mx::train::Setting>& rows) {
  for (const mx::train::Setting& s : rows)
    std::visit(
        [&](auto* value) {
          CLI::Option* opt = cmd.add_option(s.flag, *value, s.help)->capture_default_str();
          if constexpr (std::is_same_v<std::decay_t<decltype(*value)>, bool>) opt->expected(0)->expected(0, 1);
        },
        s.value);
}

void add_train_flags(CLI::App& cmd, TrainConfig& c) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later flag wins
  add_settings(cmd, mx::train::train_settings(c));
}

void add_preview_flags(CLI::App& cmd, mx::viz::PreviewConfig& p) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd.add_option("--dataset", p.dataset, join_names(mx::data::dataset_names()))->capture_default_str();
  cmd.add_option("--data-dir", p.data_dir, "Dataset folder (default: the dataset's, as for train)");
  add_settings(cmd, mx::train::mixing_settings(p.mix));
  cmd.add_option("--count", p.count, "Images in the previewed batch")->capture_default_str();
  cmd.add_option("--columns", p.columns, "Tiles per row")->capture_default_str();
  cmd.add_option("--scale", p.scale, "Screen pixels per image pixel")->capture_default_str();
  cmd.add_option("--seed", p.seed, "Seed for the images picked and the mixing")->capture_default_str();
  cmd.add_option("--out", p.out, "PNG file to write")->capture_default_str();
}

void add_cyclegan_flags(CLI::App& cmd, mx::gan::CycleGanConfig& c) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_settings(cmd, mx::gan::cyclegan_settings(c));
}

void add_cyclegan_test_flags(CLI::App& cmd, mx::gan::CycleGanTestConfig& t) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd.add_option("--checkpoint", t.checkpoint, "The cyclegan run directory (config.json, latest_net_G_*.safetensors)")
      ->required();
  cmd.add_option("--data-dir", t.data_dir, "Data folder (default: the run's)");
  cmd.add_option("--out", t.out, "Output folder (default: CHECKPOINT/test; replaced when it exists)");
  cmd.add_option("--limit", t.limit, "Test images per domain at most (0: all)")->capture_default_str();
  cmd.add_option("--grid-rows", t.grid_rows, "Rows of the grid")->capture_default_str();
  cmd.add_option("--batch-size", t.batch_size, "Images per forward pass")->capture_default_str();
  cmd.add_option("--device", t.device, "auto|cpu|cuda")->capture_default_str();
  cmd.add_option("--threads", t.threads, "CPU threads (0: all cores)")->capture_default_str();
}

// The flags that say which trained model an analysis reads: checkpoint, overrides, data, device.
void add_source_flags(CLI::App& cmd, mx::analysis::ModelSource& src) {
  cmd.add_option("--checkpoint", src.checkpoint, "Model checkpoint (.safetensors written by train)")->required();
  cmd.add_option("--model", src.model, "Override the checkpoint's model: " + join_names(mx::models::model_names()));
  cmd.add_option("--dataset", src.dataset, "Override the checkpoint's dataset: " + join_names(mx::data::dataset_names()));
  cmd.add_option("--data-dir", src.data_dir, "Dataset folder (default: the dataset's, as for train)");
  cmd.add_option("--device", src.device, "auto|cpu|cuda")->capture_default_str();
}

void add_mixtest_flags(CLI::App& cmd, mx::analysis::MixTestConfig& m) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_source_flags(cmd, m.source);
  cmd.add_option("--mix", m.mix, "How pairs are mixed: c (lambda x1 + (1-lambda) x2), h, v (seams), r (centred box of x2)")
      ->capture_default_str();
  cmd.add_option("--steps", m.steps, "Values of lambda from 0 to 1 (101: steps of 0.01)")->capture_default_str();
  cmd.add_option("--limit", m.limit, "Number of test pairs (0: the whole test set)")->capture_default_str();
  cmd.add_flag("--distinct-classes", m.distinct_classes, "Keep only pairs whose classes differ");
  cmd.add_option("--batch-size", m.batch_size, "Pairs per forward pass")->capture_default_str();
  cmd.add_option("--seed", m.seed, "Seed of the permutation that picks each x2")->capture_default_str();
  cmd.add_option("--threads", m.threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd.add_option("--out", m.out, "Output prefix (PREFIX.csv, PREFIX.png) or directory; default "
                                 "<checkpoint dir>/mixtest-<mix>");
}

void add_landscape_flags(CLI::App& cmd, mx::analysis::LandscapeConfig& l) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_source_flags(cmd, l.source);
  cmd.add_option("--method", l.method, "weighted-noise (Algorithm 1), random-weights ([33] in 2-D), "
                                       "filter-normalized (Li et al.)")
      ->capture_default_str();
  cmd.add_option("--target-loss", l.target_loss, "L: the loss the variance search aims at")->capture_default_str();
  cmd.add_option("--mean", l.mean, "M: mean of the noise T")->capture_default_str();
  cmd.add_option("--variance", l.variance, "V: starting variance of the noise T (std = sqrt(V))")->capture_default_str();
  cmd.add_option("--mom", l.mom, "mom: V is multiplied by (1 + mom) or (1 - mom) per search step")
      ->capture_default_str();
  cmd.add_option("--max-search", l.max_search, "Most variance steps per direction")->capture_default_str();
  cmd.add_option("--grid", l.grid, "Points per axis")->capture_default_str();
  cmd.add_option("--range", l.range, "alpha and beta run over [-range, range]")->capture_default_str();
  cmd.add_flag("--slice", l.slice, "Only the 1-D curve along the first direction (beta = 0)");
  cmd.add_option("--perturb", l.perturb, "all (every parameter) or weights (biases and batch-norm parameters stay)")
      ->capture_default_str();
  cmd.add_option("--bn", l.bn, "keep (the checkpoint's running statistics) or reestimate (from training batches at "
                               "every point)")
      ->capture_default_str();
  cmd.add_option("--bn-batches", l.bn_batches, "Training batches per re-estimation")->capture_default_str();
  cmd.add_option("--samples", l.samples, "Test images the loss is measured on (a fixed seeded subset)")
      ->capture_default_str();
  cmd.add_option("--batch-size", l.batch_size, "Images per forward pass")->capture_default_str();
  cmd.add_option("--vmax", l.vmax, "Top of the colour scale (0: the smaller of the largest loss and 3 L)")
      ->capture_default_str();
  cmd.add_option("--seed", l.seed, "Seed of the noise and of the image subsets")->capture_default_str();
  cmd.add_option("--threads", l.threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd.add_option("--out", l.out, "Output prefix (PREFIX.csv, .png, .json) or directory; default "
                                 "<checkpoint dir>/landscape-<method>[-slice]");
}

// The model flags shared by `models` and `init`.
void add_zoo_flags(CLI::App& cmd, mx::app::ZooConfig& z) {
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd.add_option("--classes", z.classes, "Classes of the classifier (default: the model's data set)")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--in-channels", z.in_channels, "Input channels (default: the model's data set)")
      ->check(CLI::PositiveNumber);
}

void add_init_flags(CLI::App& cmd, mx::app::ZooConfig& z) {
  add_zoo_flags(cmd, z);
  cmd.add_option("--model", z.model, join_names(mx::models::model_names()))->required();
  cmd.add_option("--out", z.out, "The .safetensors file to write")->required();
  cmd.add_option("--seed", z.seed, "Seed of the initialisation")->capture_default_str();
  cmd.add_flag("--zero-init-residual", z.zero_init_residual,
               "Start the last batch norm of every residual block at weight 0 (torchvision's zero_init_residual)");
}

void add_models_flags(CLI::App& cmd, mx::app::ZooConfig& z) {
  add_zoo_flags(cmd, z);
  cmd.add_option("--model", z.model, "Only this model: " + join_names(mx::models::model_names()));
  cmd.add_option("--image-size", z.image_size, "Input side for the multiply-adds (default: the model's data set)")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--check", z.check, "Load this checkpoint (.safetensors, PyTorch names) into --model strictly "
                                     "and print the logits of a probe image");
  cmd.add_option("--threads", z.threads, "CPU threads (0: all cores)")->capture_default_str();
}

// Callbacks that drive the progress display of an analysis: `unit` names what is counted.
mx::analysis::ProgressCallbacks analysis_callbacks(mx::app::Progress& progress, const std::string& label,
                                                const std::string& unit) {
  mx::analysis::ProgressCallbacks cb;
  cb.notice = [&progress](const std::string& s) { progress.line(s); };
  cb.progress = [&progress, label, unit](int64_t done, int64_t total, double eta_s) {
    progress.update(label, done, total, unit, eta_s);
  };
  return cb;
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * share);
  return buf;
}

int run_mixtest(const mx::analysis::MixTestConfig& c) {
  mx::analysis::validate(c);
  mx::app::Progress progress(stderr, stdout);
  const mx::analysis::MixTestSummary s = mx::analysis::run_mixtest(c, analysis_callbacks(progress, "mixtest", "forward passes"));
  const mx::analysis::MixTestRow &first = s.rows.front(), &mid = s.rows[s.rows.size() / 2], &last = s.rows.back();
  double loss_max = 0;
  for (const auto& r : s.rows) loss_max = std::max(loss_max, r.loss_max);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%lld pairs; lambda 1: acc x1 %s; lambda 0: acc x2 %s; lambda %.2f: acc x1 %s, x2 %s, test-x1x2 %s, "
                "test-x2x1 %s, mean loss %.4f; largest loss %.4f",
                static_cast<long long>(s.pairs), percent(last.acc_x1).c_str(), percent(first.acc_x2).c_str(), mid.lam,
                percent(mid.acc_x1).c_str(), percent(mid.acc_x2).c_str(), percent(mid.top2_x1x2).c_str(),
                percent(mid.top2_x2x1).c_str(), mid.loss_mean, loss_max);
  progress.line(buf);
  progress.line("wrote " + s.csv + " and " + s.png);
  return 0;
}

int run_landscape(const mx::analysis::LandscapeConfig& c) {
  mx::analysis::validate(c);
  mx::app::Progress progress(stderr, stdout);
  const mx::analysis::LandscapeSummary s =
      mx::analysis::run_landscape(c, analysis_callbacks(progress, "landscape", "grid points"));
  char buf[512];
  std::snprintf(buf, sizeof buf, "share of the grid with loss below L = %g: %s (%lld of %zu points); test accuracy %s",
                c.target_loss, percent(static_cast<double>(s.below) / static_cast<double>(s.rows.size())).c_str(),
                static_cast<long long>(s.below), s.rows.size(), percent(s.test_acc).c_str());
  progress.line(buf);
  if (s.computed > 0) {
    std::snprintf(buf, sizeof buf, "%.3f s per grid point (%lld points computed, %d threads)", s.seconds_per_point,
                  static_cast<long long>(s.computed), mx::num_threads());
    progress.line(buf);
  }
  progress.line("wrote " + s.csv + ", " + s.png + " and " + s.json);
  return 0;
}

// Callbacks that drive the progress display of a training run.
mx::train::TrainCallbacks progress_callbacks(mx::app::Progress& progress, int epochs) {
  mx::train::TrainCallbacks cb;
  cb.notice = [&progress](const std::string& s) { progress.line(s); };
  cb.step = [&progress](const mx::train::StepInfo& s) {
    char detail[96];
    std::snprintf(detail, sizeof detail, "loss %.4f %.0f img/s", s.loss, s.images_per_s);
    progress.update("epoch " + std::to_string(s.epoch) + "/" + std::to_string(s.epochs), s.step, s.steps, detail,
                    s.eta_s);
  };
  cb.epoch = [&progress, epochs](const mx::train::EpochInfo& e) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %d/%d  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  lr %.4g  %.0f img/s  %s",
                  e.epoch, epochs, e.train_loss, 100 * e.train_acc, e.test_loss, 100 * e.test_acc, e.lr,
                  e.images_per_s, mx::app::format_duration(e.seconds).c_str());
    progress.line(buf);
  };
  return cb;
}

// One training run on this process, which may be one rank of a data-parallel job (comm non-null).
int train_on(const TrainConfig& c, mx::dist::Communicator* comm) {
  mx::app::Progress progress(stderr, stdout);
  const bool speaks = !comm || comm->rank() == 0;
  mx::train::Trainer trainer(c, speaks ? progress_callbacks(progress, c.epochs) : mx::train::TrainCallbacks{}, comm);
  if (speaks)
    progress.line("mixup train: " + c.model + " on " + c.dataset + ", mix " + c.mixing.mix + ", " +
                  std::to_string(c.epochs) + " epochs, batch " + std::to_string(c.batch_size) + ", " +
                  mx::device_name(trainer.device()) + ", " + std::to_string(trainer.threads()) + " threads -> " +
                  c.out);
  const mx::train::TrainSummary s = trainer.run();
  if (speaks)
    std::printf("final test accuracy %.2f%% (best %.2f%% at epoch %d), %.0f train images/s on %s, %s; wrote %s\n",
                100 * s.final_test_acc, 100 * s.best_test_acc, s.best_epoch, s.images_per_s, s.device.c_str(),
                mx::app::format_duration(s.seconds).c_str(), c.out.c_str());
  return 0;
}

// A plain start trains here; under mpirun, srun or torchrun this process joins the job as one rank
// (engine/dist/launch.h). An error that every rank meets alike (mx::dist::JobError) is reported once by
// rank 0; any other ends the whole job at once, so that no rank waits for the timeout.
int run_train(const TrainConfig& config) {
  const mx::dist::Launch launch = mx::dist::detect_launch();
  if (launch.launcher == "none") return train_on(config, nullptr);
  TrainConfig c = config;
  std::string device_line;  // the Trainer says again which device it uses
  const mx::Device dev = mx::select_device(c.device, device_line);
  c.device = mx::device_name(dev);
  const std::unique_ptr<mx::dist::Communicator> comm = mx::dist::make_communicator(launch, dev, c.dist_timeout);
  try {
    return train_on(c, comm.get());
  } catch (const mx::interrupt::Stopped& e) {  // every rank stopped at the same step; rank 0 says so
    if (comm->rank() != 0) return e.exit_status();
    throw e.noted(" (" + std::to_string(comm->world_size()) +
                  " ranks: launch them again as before, each with the line below)");
  } catch (const mx::dist::JobError& e) {
    return comm->rank() == 0 ? fail(e.what()) : 1;
  } catch (const std::exception& e) {
    comm->abort_job("rank " + std::to_string(comm->rank()) + ": " + e.what());
  }
}

struct ExportConfig {
  std::string dataset = "fashion-mnist", data_dir, out;
};

int run_export(const ExportConfig& e) {
  mx::check_one_of("--dataset", e.dataset, mx::data::dataset_names(), "dataset");
  const std::string dir = e.data_dir.empty() ? mx::data::default_data_dir(e.dataset) : e.data_dir;
  const int64_t n = mx::data::export_image_folder(mx::data::load_dataset(e.dataset, dir), e.dataset, e.out);
  std::printf("wrote %lld images to %s (train/<class>/*.png, val/<class>/*.png)\n", static_cast<long long>(n),
              e.out.c_str());
  return 0;
}

int run_sweep(const std::string& name, TrainConfig c, const std::string& recipe_out) {
  if (c.out == recipe_out) c.out = "runs/sweep-" + name;
  mx::analysis::sweep_runs(name);  // reject an unknown name before anything runs
  mx::train::validate(c);
  mx::app::Progress progress(stderr, stdout);
  std::printf("%s", mx::analysis::run_sweep(name, c, progress_callbacks(progress, c.epochs)).c_str());
  std::printf("wrote %s/results.md and results.csv\n", c.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mx::use_short_openmp_spin(argv);
  CLI::App app{"mixup: a framework-free engine for the mixup training methods (Liang et al., IEEE Access 2018)"};
  app.require_subcommand(1);
  app.footer("Run `mixup <command> --help` for the flags of a command and their defaults.");
  std::string recipe_name = find_recipe(argc, argv);
  TrainConfig config;
  try {
    config = mx::train::recipe(recipe_name);
  } catch (const mx::Error& e) {
    return fail(e.what());
  }
  CLI::App* train = app.add_subcommand("train", "Train a network with a mixing method; writes config.json, "
                                                "metrics.csv, metrics.png, checkpoint.safetensors, best.safetensors, summary.json");
  add_train_flags(*train, config);
  train->footer("Defaults shown are those of --recipe " + recipe_name + ".");
  TrainConfig sweep_config = config;
  std::string sweep_name;
  CLI::App* sweep = app.add_subcommand("sweep", "Run one of the paper's experiment grids (table1: ERM, mixup-C/H/HV/HC; "
                                                "fig1a-d: decoupled lambda ranges) and write results.md and results.csv");
  sweep->add_option("--sweep", sweep_name, join_names(mx::analysis::sweep_names()))->required();
  add_train_flags(*sweep, sweep_config);
  sweep->footer("Each run trains with the flags above, its mixing set by the sweep (--alpha still applies); runs "
                "go to OUT/<run>, and a finished run (with summary.json) is not trained again. Defaults shown are "
                "those of --recipe " + recipe_name + "; --out defaults to runs/sweep-<name>.");
  mx::viz::PreviewConfig preview_config;
  CLI::App* preview = app.add_subcommand("preview", "Write a PNG grid of one training batch after mixing, each "
                                                    "tile labelled with its mode, labels and label weights");
  add_preview_flags(*preview, preview_config);
  mx::analysis::MixTestConfig mixtest_config;
  CLI::App* mixtest = app.add_subcommand("mixtest", "Mixed-pair test (Fig. 2): accuracies and loss of a trained "
                                                    "network on lambda x1 + (1-lambda) x2 for lambda from 0 to 1; "
                                                    "writes a CSV and a PNG");
  add_mixtest_flags(*mixtest, mixtest_config);
  mx::analysis::LandscapeConfig landscape_config;
  CLI::App* landscape = app.add_subcommand("landscape", "Loss surface around a trained network (Algorithm 1, "
                                                        "Fig. 3): a grid of loss(W + alpha d1 + beta d2); writes a "
                                                        "CSV, a PNG heat map and a JSON summary; resumes from its CSV");
  add_landscape_flags(*landscape, landscape_config);
  ExportConfig export_config;
  CLI::App* exporter = app.add_subcommand("export", "Write a dataset as an image folder for --dataset folder: "
                                                    "OUT/train/<class>/<index>.png and OUT/val/<class>/<index>.png");
  exporter->add_option("--dataset", export_config.dataset, join_names(mx::data::dataset_names()))->capture_default_str();
  exporter->add_option("--data-dir", export_config.data_dir, "Dataset folder (default: the dataset's, as for train)");
  exporter->add_option("--out", export_config.out, "Folder to create (must not exist)")->required();
  mx::gan::CycleGanConfig gan_config = mx::gan::default_cyclegan_config();
  CLI::App* cyclegan = app.add_subcommand("cyclegan", "Train CycleGAN (--mode plain) or MixCycleGAN (--mode mix: "
                                                      "stitched generator inputs, mixup-C discriminators; paper V-B) "
                                                      "on unaligned or aligned image folders");
  add_cyclegan_flags(*cyclegan, gan_config);
  mx::gan::CycleGanTestConfig gan_test_config;
  CLI::App* cyclegan_test = app.add_subcommand("cyclegan-test", "Translate the test images of both domains with a "
                                                                "trained cyclegan run; writes the images, a grid and "
                                                                "the cycle L1");
  add_cyclegan_test_flags(*cyclegan_test, gan_test_config);
  mx::app::ZooConfig models_config, init_config;
  CLI::App* models = app.add_subcommand("models", "List the models with their parameters and multiply-adds per "
                                                  "image at their natural input size; or check a checkpoint loads");
  add_models_flags(*models, models_config);
  CLI::App* init = app.add_subcommand("init", "Write freshly initialised weights of a model as a checkpoint "
                                              "(safetensors with PyTorch names, as train writes)");
  add_init_flags(*init, init_config);
  mx::analysis::TranslationScoreConfig translation_score_config;
  CLI::App* translation_score = mx::app::add_translation_score_command(app, translation_score_config);
  require_finite_numbers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return fail(e.what());
  }
  if (*train || *sweep || *cyclegan || *landscape) mx::interrupt::install();
  try {
    if (*train) return run_train(config);
    if (*mixtest) return run_mixtest(mixtest_config);
    if (*landscape) return run_landscape(landscape_config);
    if (*sweep) return run_sweep(sweep_name, sweep_config, config.out);
    if (*exporter) return run_export(export_config);
    if (*cyclegan) return mx::app::run_cyclegan(gan_config);
    if (*cyclegan_test) return mx::app::run_cyclegan_test(gan_test_config);
    if (*preview) std::printf("%s\n", mx::viz::write_preview(preview_config).c_str());
    if (*models && !models_config.check.empty()) std::printf("%s\n", mx::app::check_checkpoint(models_config).c_str());
    else if (*models) mx::app::print_models_table(models_config, stdout);
    if (*init) std::printf("%s\n", mx::app::write_init(init_config).c_str());
    if (*translation_score) return mx::app::run_translation_score(translation_score_config);
  } catch (const mx::interrupt::Stopped& e) {
    if (*train) return stopped(e, command_with(argc, argv, "--resume", config.out + "/checkpoint.safetensors"));
    if (*cyclegan) return stopped(e, command_with(argc, argv, "--resume", gan_config.out));
    return stopped(e, command_with(argc, argv, "", ""));  // sweep and landscape go on from what they wrote
  } catch (const mx::Error& e) {
    return fail(e.what());
  }
  return 0;
}
