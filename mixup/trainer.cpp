// The training loop behind `mixup train`, its output directory and resume.
#include "mixup/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/datasets.h"
#include "datasets/loader.h"
#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/device_select.h"
#include "engine/files.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "engine/threads.h"
#include "mixup/evaluation.h"
#include "mixup/mixer.h"
#include "models/models.h"

namespace mx::mixup {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kMixStream = 3;  // the loader uses streams 1 and 2 of the seed

nlohmann::json to_json(const TrainConfig& c) {
  return {{"recipe", c.recipe},       {"dataset", c.dataset},     {"data_dir", c.data_dir},
          {"model", c.model},         {"mix", c.mixing.mix},      {"alpha", c.mixing.alpha},
          {"lam_x", c.mixing.lam_x},  {"lam_l", c.mixing.lam_l},  {"lam_label", c.mixing.lam_label},
          {"mix_per", c.mixing.per},  {"mix_off_epoch", c.mix_off_epoch},
          {"epochs", c.epochs},       {"batch_size", c.batch_size}, {"lr", c.lr},
          {"momentum", c.momentum},   {"wd", c.wd},               {"nesterov", c.nesterov},
          {"warmup_epochs", c.warmup_epochs}, {"flip", c.flip},   {"translate", c.translate},
          {"seed", c.seed},           {"threads", c.threads},     {"device", c.device},
          {"out", c.out},             {"resume", c.resume},       {"save_every", c.save_every},
          {"train_limit", c.train_limit}, {"test_limit", c.test_limit}};
}

void validate(const TrainConfig& c) {
  check_known("--model", c.model, models::model_names(), "model");
  check_known("--dataset", c.dataset, data::dataset_names(), "dataset");
  check_known("--device", c.device, {"auto", "cpu", "cuda"}, "device");
  MX_CHECK(c.epochs > 0, "--epochs: must be > 0, got ", c.epochs);
  MX_CHECK(c.batch_size > 0, "--batch-size: must be > 0, got ", c.batch_size);
  MX_CHECK(c.lr > 0, "--lr: must be > 0, got ", c.lr);
  MX_CHECK(c.momentum >= 0 && c.momentum < 1, "--momentum: must be in [0, 1), got ", c.momentum);
  MX_CHECK(c.wd >= 0, "--wd: must be >= 0, got ", c.wd);
  MX_CHECK(c.warmup_epochs >= 0, "--warmup: must be >= 0, got ", c.warmup_epochs);
  MX_CHECK(c.translate >= 0, "--translate: must be >= 0, got ", c.translate);
  MX_CHECK(c.threads >= 0, "--threads: must be >= 0, got ", c.threads);
  MX_CHECK(c.save_every >= 0, "--save-every: must be >= 0, got ", c.save_every);
  MX_CHECK(!c.out.empty(), "--out: an output directory is required");
  MX_CHECK(c.mix_off_epoch >= 0, "--mix-off-epoch: must be >= 0, got ", c.mix_off_epoch);
  Mixer check_mix(c.mixing);
}

namespace {

// Batch sums of the training metrics: top-1 accuracy credited lam to y_a and 1 - lam to y_b, and the
// two top-2 metrics of Fig. 1.
struct MixMetrics {
  double weighted = 0, x1x2 = 0, x2x1 = 0;
};
MixMetrics mix_metrics(const Tensor& logits, const MixedBatch& b) {
  std::vector<std::pair<int32_t, int32_t>> top = top2_rows(logits);
  std::vector<int32_t> ya = b.ya.to_vector<int32_t>(), yb = b.yb.to_vector<int32_t>();
  std::vector<float> lam = b.lam.to_vector<float>();
  MixMetrics m;
  for (size_t i = 0; i < top.size(); ++i) {
    const auto [t1, t2] = top[i];
    m.weighted += lam[i] * (t1 == ya[i]) + (1 - lam[i]) * (t1 == yb[i]);
    m.x1x2 += t1 == ya[i] && t2 == yb[i];
    m.x2x1 += t1 == yb[i] && t2 == ya[i];
  }
  return m;
}

// The training state beside a model checkpoint: momentum buffer, epoch and best accuracy.
std::string state_path(const std::string& ckpt) {
  fs::path p(ckpt);
  return (p.parent_path() / (p.stem().string() + ".state.safetensors")).string();
}

struct RunState {
  int epoch = 0;  // epochs completed
  double best_acc = -1;
  int best_epoch = 0;
};

void save_checkpoint(const std::string& path, nn::Module& model, optim::Sgd& opt, const TrainConfig& c,
                     const data::Normalization& norm, const RunState& st) {
  checkpoint::Metadata meta{{"format", "mixup-engine"}, {"model", c.model}, {"dataset", c.dataset},
                            {"epoch", std::to_string(st.epoch)}};
  put_normalization(meta, norm);
  checkpoint::save(path, model.state_dict(), meta);
  checkpoint::Metadata smeta = meta;
  smeta["steps"] = std::to_string(opt.steps());
  smeta["seed"] = std::to_string(c.seed);
  smeta["best_acc"] = std::to_string(st.best_acc);
  smeta["best_epoch"] = std::to_string(st.best_epoch);
  checkpoint::save(state_path(path), {{"momentum", opt.momentum_buffer()}}, smeta);
}

RunState resume_from(const std::string& path, nn::Module& model, optim::Sgd& opt, const TrainConfig& c) {
  checkpoint::File f = checkpoint::load(path);
  checkpoint::load_into(path, f, model.state_dict());
  const std::string sp = state_path(path);
  MX_CHECK(files::exists(sp), "--resume ", path, ": no training state beside it (", sp, " is missing)");
  checkpoint::File s = checkpoint::load(sp);
  MX_CHECK(s.tensors.size() == 1 && s.tensors[0].first == "momentum" &&
               s.tensors[0].second.numel() == opt.momentum_buffer().numel(),
           "--resume ", sp, ": momentum buffer does not match the model");
  MX_CHECK(s.meta.count("model") && s.meta.at("model") == c.model, "--resume ", path, ": written for model '",
           s.meta.count("model") ? s.meta.at("model") : "?", "', this run uses '", c.model, "'");
  MX_CHECK(s.meta.count("seed") && s.meta.at("seed") == std::to_string(c.seed), "--resume ", path,
           ": written by a run with --seed ", s.meta.count("seed") ? s.meta.at("seed") : "?", ", this run has --seed ",
           c.seed, " (the seed fixes the order, augmentation and mixing of every epoch)");
  opt.momentum_buffer().copy_from(s.tensors[0].second);
  RunState st;
  try {
    st.epoch = std::stoi(s.meta.at("epoch"));
    opt.set_steps(std::stoll(s.meta.at("steps")));
    st.best_acc = std::stod(s.meta.at("best_acc"));
    st.best_epoch = std::stoi(s.meta.at("best_epoch"));
  } catch (const std::exception&) {
    MX_FAIL("--resume ", sp, ": metadata lacks epoch/steps/best_acc/best_epoch");
  }
  MX_CHECK(st.epoch <= c.epochs, "--resume ", path, ": checkpoint is at epoch ", st.epoch, ", beyond --epochs ",
           c.epochs);
  return st;
}

const char* kMetricsHeader =
    "epoch,train_loss,train_acc,train_x1x2,train_x2x1,test_loss,test_acc,lr,images_per_s,seconds\n";

// Rows of an earlier metrics.csv up to `epoch`, so a resumed run continues the same file.
std::string metrics_up_to(const std::string& path, int epoch) {
  std::string out = kMetricsHeader;
  if (epoch == 0 || !files::exists(path)) return out;
  std::istringstream in(files::read_all(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line))
    if (!line.empty() && std::stoi(line) <= epoch) out += line + "\n";
  return out;
}

std::string metrics_row(const EpochInfo& e) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.1f,%.2f\n", e.epoch, e.train_loss,
                e.train_acc, e.train_x1x2, e.train_x2x1, e.test_loss, e.test_acc, e.lr, e.images_per_s, e.seconds);
  return buf;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TrainSummary train(const TrainConfig& c, const TrainCallbacks& cb) {
  auto notice = [&](const std::string& s) { if (cb.notice) cb.notice(s); };
  validate(c);
  files::ensure_writable_dir(c.out, "--out");
  std::string dev_notice;
  const Device dev = select_device(c.device, dev_notice);
  if (!dev_notice.empty()) notice(dev_notice);
  set_num_threads(c.threads);

  const std::string dir = c.data_dir.empty() ? data::default_data_dir(c.dataset) : c.data_dir;
  data::Split split = data::load_dataset(c.dataset, dir);
  data::Dataset train_set = data::head(split.train, c.train_limit), test_set = data::head(split.test, c.test_limit);
  const data::Normalization norm = data::compute_normalization(train_set);
  data::Loader train_loader(train_set, norm, {c.batch_size, true, false, c.flip, c.translate, c.seed});
  data::Loader test_loader(test_set, norm, {c.batch_size, false, false, false, 0, c.seed});

  std::shared_ptr<nn::Module> model = build_model(c.model, train_set, c.seed);
  ParameterStore store(*model, dev);
  optim::Sgd opt(store, {c.lr, c.momentum, c.wd, c.nesterov});
  optim::LrSchedule sched = optim::LrSchedule::paper(c.lr, c.epochs);
  sched.warmup_epochs = c.warmup_epochs;
  const Mixer mixer(c.mixing);
  const Mixer no_mixing(MixerOptions{});

  RunState st;
  if (!c.resume.empty()) {
    st = resume_from(c.resume, *model, opt, c);
    notice("resumed from " + c.resume + " at epoch " + std::to_string(st.epoch));
  }
  const std::string metrics_path = (fs::path(c.out) / "metrics.csv").string();
  std::string metrics = metrics_up_to(metrics_path, st.epoch);
  files::write_atomic((fs::path(c.out) / "config.json").string(), to_json(c).dump(2) + "\n");

  const int64_t steps = train_loader.batches_per_epoch();
  const auto run_start = Clock::now();
  double total_images = 0, train_seconds = 0;
  EpochInfo last;
  for (int epoch = st.epoch + 1; epoch <= c.epochs; ++epoch) {
    const auto t0 = Clock::now();
    random::Rng rng = random::make_rng({c.seed, kMixStream, static_cast<uint64_t>(epoch)});
    train_loader.start_epoch(epoch);
    data::Batch b;
    const Mixer& mix = c.mix_off_epoch > 0 && epoch >= c.mix_off_epoch ? no_mixing : mixer;
    double loss_sum = 0, seen = 0;
    MixMetrics sums;
    float lr = 0;
    for (int64_t step = 1; train_loader.next(b); ++step) {
      // Labels and weights are built on the host (the metrics read them there) and copied once.
      MixedBatch mb = mix.mix(b.images.to(dev), b.labels, rng);
      store.zero_grad();
      Tensor logits = (*model)(mb.images);
      Tensor loss = ops::mixed_cross_entropy(logits, mb.ya.to(dev), mb.yb.to(dev), mb.lam.to(dev));
      loss.backward();
      lr = sched.at(epoch - 1 + static_cast<double>(step - 1) / static_cast<double>(steps));
      opt.step(lr);
      const auto bs = static_cast<double>(b.labels.numel());
      const double l = loss.item<float>();
      MX_CHECK(std::isfinite(l), "training diverged: loss is ", l, " at epoch ", epoch, " step ", step,
               " (try a lower --lr)");
      loss_sum += l * bs;
      const MixMetrics m = mix_metrics(logits, mb);
      sums.weighted += m.weighted, sums.x1x2 += m.x1x2, sums.x2x1 += m.x2x1;
      seen += bs;
      if (cb.step) {
        const double el = seconds_since(t0), ips = seen / std::max(el, 1e-9);
        const double left = static_cast<double>(steps - step) + static_cast<double>(c.epochs - epoch) * steps;
        cb.step({epoch, c.epochs, step, steps, loss_sum / seen, ips, left * el / static_cast<double>(step)});
      }
    }
    const double train_s = seconds_since(t0);
    EvalResult ev = evaluate(*model, test_loader, dev);
    last = {epoch,  loss_sum / seen, sums.weighted / seen, sums.x1x2 / seen, sums.x2x1 / seen,
            ev.loss, ev.acc,         lr,                   seen / train_s,    seconds_since(t0)};
    total_images += seen;
    train_seconds += train_s;
    st.epoch = epoch;
    const bool best = ev.acc > st.best_acc;
    if (best) {
      st.best_acc = ev.acc;
      st.best_epoch = epoch;
    }
    metrics += metrics_row(last);
    files::write_atomic(metrics_path, metrics);
    save_checkpoint((fs::path(c.out) / "checkpoint.safetensors").string(), *model, opt, c, norm, st);
    if (best) save_checkpoint((fs::path(c.out) / "best.safetensors").string(), *model, opt, c, norm, st);
    if (c.save_every > 0 && epoch % c.save_every == 0)
      save_checkpoint((fs::path(c.out) / ("epoch-" + std::to_string(epoch) + ".safetensors")).string(), *model,
                      opt, c, norm, st);
    if (cb.epoch) cb.epoch(last);
  }

  TrainSummary sum{last.test_acc, st.best_acc, st.best_epoch, seconds_since(run_start),
                   train_seconds > 0 ? total_images / train_seconds : 0, device_name(dev)};
  nlohmann::json js = {{"final_test_acc", sum.final_test_acc}, {"best_test_acc", sum.best_test_acc},
                       {"best_epoch", sum.best_epoch},         {"epochs", c.epochs},
                       {"seconds", sum.seconds},               {"train_images_per_s", sum.images_per_s},
                       {"device", sum.device},                 {"threads", num_threads()},
                       {"final_test_loss", last.test_loss},    {"final_train_loss", last.train_loss},
                       {"final_train_acc", last.train_acc},    {"final_train_x1x2", last.train_x1x2},
                       {"final_train_x2x1", last.train_x2x1}};
  files::write_atomic((fs::path(c.out) / "summary.json").string(), js.dump(2) + "\n");
  return sum;
}

}  // namespace mx::mixup
