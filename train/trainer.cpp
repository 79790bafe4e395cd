// The Trainer: one training step, one epoch, the test pass, resume and the run directory's contents.
#include "train/trainer.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sstream>

#include "datasets/folder_loader.h"
#include "engine/device_select.h"
#include "engine/dist/replicas.h"
#include "engine/interrupt.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/threads.h"
#include "models/models.h"
#include "train/data_parallel.h"
#include "train/init_weights.h"
#include "train/sizes.h"

namespace mx::train {

namespace {

constexpr uint64_t kMixStream = 3;  // the loader uses streams 1 and 2 of the seed
constexpr int64_t kReportSteps = 50;
constexpr double kReportSeconds = 2;
// Several ranks agree on a stop or a save every this many steps (a host all-reduce, which on a GPU
// waits for the step), one rank alone after every step.
constexpr int64_t kAgreeSteps = 10;
constexpr int kScoreFields = 5;  // ScoreTotals as saved at a mid-epoch resume point

template <typename Clock>
double seconds_since(typename Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

const TrainConfig& validated(const TrainConfig& c) {
  validate(c);
  return c;
}

std::string meta_value(const checkpoint::Metadata& m, const char* key) {
  const auto it = m.find(key);
  return it == m.end() ? "?" : it->second;
}

// A double as text that reads back to the same bits.
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double field(const ScoreTotals& t, int i) {
  const double fields[kScoreFields] = {t.loss_sum, t.weighted, t.x1x2, t.x2x1, t.seen};
  return fields[i];
}

// Every rank's running scores, rank by rank, as space-separated exact numbers (a collective).
std::string gathered_scores(const ScoreTotals& mine, dist::Communicator& comm) {
  std::vector<double> all(static_cast<size_t>(comm.world_size() * kScoreFields), 0.0);
  for (int i = 0; i < kScoreFields; ++i) all[static_cast<size_t>(comm.rank() * kScoreFields + i)] = field(mine, i);
  comm.all_reduce_host(all.data(), static_cast<int64_t>(all.size()), dist::Reduce::Sum);  // adds zeros: exact
  std::string text;
  for (double v : all) text += (text.empty() ? "" : " ") + exact(v);
  return text;
}

// This rank's scores from gathered_scores' text; throws naming `path` when it does not fit.
ScoreTotals scores_of_rank(const std::string& text, int rank, int world, const std::string& path) {
  std::istringstream in(text);
  std::vector<double> all;
  for (double v; in >> v;) all.push_back(v);
  MX_CHECK(in.eof() && all.size() == static_cast<size_t>(world * kScoreFields), "--resume ", path,
           ": the running scores do not hold ", world, " ranks");
  const double* r = all.data() + rank * kScoreFields;
  return {r[0], r[1], r[2], r[3], r[4]};
}

// Whether the training images stay on `dev` as uint8 and each batch is built there (--data-on-device):
// on the CPU only when asked (they are already there: nothing is copied), on a GPU when they and a
// training step of `batch` (its lower bound, train/sizes.h) take at most half of its free memory; else
// auto says why in `why_not` and on is an error.
bool keep_data_on_device(const std::string& choice, Device dev, const data::Dataset& train, int64_t batch,
                         std::string& why_not) {
  if (choice == "off" || dev == Device::CPU) return choice == "on";
  const auto bytes = static_cast<double>(train.images.numel());
  const double step = step_bytes(batch, train.channels(), train.height());
  const auto free = static_cast<double>(memory_capacity(dev));
  if (bytes + step <= free / 2) return true;
  why_not = "the training images take " + bytes_text(bytes) + "; with a training step (at least " + bytes_text(step) +
            ") that is more than half of the " + bytes_text(free) + " free on the GPU";
  MX_CHECK(choice == "auto", "--data-on-device on: ", why_not, "; use off");
  why_not = "training batches come from the loader thread: " + why_not;
  return false;
}

}  // namespace

Trainer::Trainer(const TrainConfig& config, TrainCallbacks cb, dist::Communicator* comm)
    : c_(validated(config)),
      cb_(std::move(cb)),
      comm_(comm ? *comm : single_),
      mixer_(c_.mixing),
      no_mixing_(mixup::MixerOptions{}),
      run_dir_(comm_.rank() == 0 ? std::make_unique<RunDir>(c_.out, !c_.resume.empty()) : nullptr) {
  check_same_settings(to_json(c_), comm_);
  std::string device_line;
  dev_ = select_device(c_.device, device_line);
  if (!device_line.empty()) notice(device_line);
  set_num_threads(c_.threads);
  load_data();
  build_model();
  if (comm_.world_size() > 1) notice(layout_notice(comm_, c_.batch_size, schedule_.base_lr, c_.lr_scale));
  if (!c_.resume.empty()) resume();
  if (!run_dir_) return;
  run_dir_->keep_metrics_up_to(epoch_);
  run_dir_->write_config(to_json(c_));
}

void Trainer::notice(const std::string& line) const {
  if (comm_.rank() == 0 && cb_.notice) cb_.notice(line);
}

int Trainer::threads() const { return num_threads(); }

void Trainer::load_data() {
  const std::string dir = c_.data_dir.empty() ? data::default_data_dir(c_.dataset) : c_.data_dir;
  MX_CHECK(c_.augment != "rrc" || c_.dataset == "folder",
           "--augment rrc: needs --dataset folder (use flip-translate or none for ", c_.dataset, ")");
  MX_CHECK(c_.augment != "rrc" || c_.data_on_device != "on",
           "--data-on-device on: --augment rrc streams the images from disk; use auto or off");
  if (c_.dataset == "folder") return load_folder(dir);
  const data::Split split = data::load_dataset(c_.dataset, dir);
  check_step_fits(c_.batch_size, split.train.channels(), split.train.height(), dev_, false);
  use_in_memory(split);
}

// An image folder: scanned, then decoded into memory (flip-translate, none) or streamed (rrc).
void Trainer::load_folder(const std::string& dir) {
  const data::FolderOptions opt{c_.image_size, c_.workers, c_.strict_images, cb_.notice};
  data::ImageFolder folder = data::scan_image_folder(dir, opt);
  folder.train = data::spaced_subset(folder.train, c_.train_limit);
  folder.val = data::spaced_subset(folder.val, c_.test_limit);
  notice(folder.summary());
  check_step_fits(c_.batch_size, folder.channels, folder.image_size, dev_, true);
  if (c_.augment != "rrc") {
    check_decoded_fits(folder.train.size() + folder.val.size(), folder.channels, folder.image_size, dir);
    return use_in_memory(data::load_image_folder(folder, opt));
  }
  constexpr int64_t kNormSample = 2000;
  const data::FolderSplit sample = data::spaced_subset(folder.train, kNormSample);
  norm_ = c_.norm == "imagenet" ? data::imagenet_normalization(folder.channels)
                                : data::compute_normalization(data::load_folder_split(folder, sample, opt));
  auto streamed = [&](const data::FolderSplit& split, bool train) {
    const data::Shard shard{comm_.rank(), comm_.world_size(), !train};
    const data::FolderLoaderOptions lo{c_.batch_size, train, c_.workers, c_.strict_images, c_.seed, cb_.notice, shard};
    return std::make_unique<data::FolderLoader>(folder, split, norm_, lo);
  };
  train_loader_ = streamed(folder.train, true);
  test_loader_ = streamed(folder.val, false);
  shape_ = {folder.channels, folder.image_size, static_cast<int>(folder.classes.size())};
}

void Trainer::use_in_memory(const data::Split& split) {
  const data::Dataset train = data::head(split.train, c_.train_limit), test = data::head(split.test, c_.test_limit);
  norm_ = c_.norm == "imagenet" ? data::imagenet_normalization(train.channels()) : data::compute_normalization(train);
  const bool augment = c_.augment == "flip-translate";
  const int rank = comm_.rank(), world = comm_.world_size();
  std::string why_not;
  const bool on_device = keep_data_on_device(c_.data_on_device, dev_, train, c_.batch_size, why_not);
  if (!why_not.empty()) notice(why_not);
  const data::LoaderOptions opt{c_.batch_size, true,  false, augment && c_.flip, augment ? c_.translate : 0,
                                c_.seed,       {rank, world, false}, on_device};
  train_loader_ = std::make_unique<data::Loader>(train, norm_, opt);
  if (on_device) {
    const int64_t entries = train.channels() * 256;
    stored_ = {train.images.to(dev_), Tensor::from_vector(data::normalization_table(norm_, train.channels()),
                                                          {entries}, dev_)};
    notice(std::string("training images kept on ") + device_name(dev_) + " as uint8 (" +
           bytes_text(static_cast<double>(train.images.numel())) + "); each batch is built there by one kernel");
  }
  const data::LoaderOptions eval{c_.batch_size, false, false, false, 0, c_.seed, {rank, world, true}};
  test_loader_ = std::make_unique<data::Loader>(test, norm_, eval);
  shape_ = {train.channels(), train.height(), train.num_classes};
}

void Trainer::build_model() {
  models::ModelSpec spec{shape_.channels, shape_.image_size, shape_.classes, c_.seed};
  spec.zero_init_residual = c_.zero_init_residual;
  spec.memory_efficient = c_.memory_efficient;
  model_ = models::make_model(c_.model, spec);
  if (!c_.init.empty()) {
    MX_CHECK(c_.resume.empty(), "--init and --resume: give one (a resumed run has its own weights)");
    const std::string notice = load_initial_weights(c_.init, *model_);
    this->notice(notice.empty() ? "initial weights from " + c_.init : notice);
  }
  store_ = std::make_unique<ParameterStore>(*model_, dev_);
  dist::broadcast_parameters(*store_, comm_);  // every rank starts from rank 0's weights
  dist::broadcast_buffers(*store_, comm_);
  grad_sync_ = std::make_unique<dist::GradSync>(*store_, comm_);
  if (c_.sync_bn) nn::use_sync_batch_norm(*model_, &comm_);
  opt_ = std::make_unique<optim::Sgd>(*store_, optim::SgdOptions{c_.momentum, c_.wd, c_.nesterov});
  const float lr = c_.lr_scale == "linear" ? c_.lr * static_cast<float>(comm_.world_size()) : c_.lr;
  schedule_ = {lr, lr_milestone_epochs(c_.lr_milestones, c_.epochs), 0.1f, c_.warmup_epochs};
  scores_ = std::make_unique<RunningScores>(train_loader_->batches_per_epoch(), dev_);
  const GuardOptions guard{c_.skip_nonfinite, c_.stop_on_nonfinite, comm_.world_size() == 1};
  guard_ = std::make_unique<StepGuard>(train_loader_->batches_per_epoch(), dev_, guard);
}

void Trainer::resume() {
  const checkpoint::Metadata m = load_checkpoint(c_.resume, *model_, *opt_);
  const std::string& path = c_.resume;
  MX_CHECK(meta_value(m, "model") == c_.model, "--resume ", path, ": written for model '", meta_value(m, "model"),
           "', this run uses '", c_.model, "'");
  MX_CHECK(meta_value(m, "seed") == std::to_string(c_.seed), "--resume ", path, ": written by a run with --seed ",
           meta_value(m, "seed"), ", this run has --seed ", c_.seed,
           " (the seed fixes the order, augmentation and mixing of every epoch)");
  try {
    epoch_ = std::stoi(m.at("epoch"));
    best_acc_ = std::stod(m.at("best_acc"));
    best_epoch_ = std::stoi(m.at("best_epoch"));
  } catch (const std::exception&) {
    MX_FAIL("--resume ", state_path(path), ": metadata lacks epoch/best_acc/best_epoch");
  }
  MX_CHECK(epoch_ <= c_.epochs, "--resume ", path, ": checkpoint is at epoch ", epoch_, ", beyond --epochs ", c_.epochs);
  if (m.count("step")) return resume_mid_epoch(m);
  notice("resumed from " + path + " at epoch " + std::to_string(epoch_));
  last_good_ = last_good_checkpoint(path, epoch_, 0);
}

// A resume point in the middle of epoch epoch_ + 1: the same ranks go on from its step.
void Trainer::resume_mid_epoch(const checkpoint::Metadata& m) {
  const std::string& path = c_.resume;
  const int ranks = std::atoi(meta_value(m, "ranks").c_str());
  MX_CHECK(ranks == comm_.world_size(), "--resume ", path, ": saved in the middle of an epoch by ", ranks,
           " ranks; resume it with as many (this job has ", comm_.world_size(), ")");
  resume_at_.step = std::atoll(meta_value(m, "step").c_str());
  MX_CHECK(resume_at_.step > 0 && resume_at_.step < train_loader_->batches_per_epoch(), "--resume ", path, ": step ",
           meta_value(m, "step"), " is not inside an epoch of ", train_loader_->batches_per_epoch(),
           " steps (were --batch-size or --train-limit changed?)");
  resume_at_.scores = scores_of_rank(meta_value(m, "scores"), comm_.rank(), ranks, path);
  resume_at_.seconds = std::atof(meta_value(m, "epoch_seconds").c_str());
  notice("resumed from " + path + " at epoch " + std::to_string(epoch_ + 1) + " step " +
         std::to_string(resume_at_.step));
  last_good_ = last_good_checkpoint(path, epoch_ + 1, resume_at_.step);
}

// The data path of one step. Everything stays on the model's device; nothing is read back here.
void Trainer::step(const data::Batch& batch) {
  random::Rng rng = mixing_rng();
  const mixup::MixedBatch mb =                                                   // mix
      batch.images.defined() ? mix_->mix(batch.images.to(dev_), batch.labels, rng)
                             : mix_->mix_stored(stored_.images, stored_.table, batch.augment, batch.labels, rng);
  store_->zero_grad();
  guard_->keep_buffers(store_->buffers());  // where a flagged step is skipped, its running statistics are too
  const Tensor logits = (*model_)(mb.images);                                    // forward
  const Tensor loss = ops::mixed_cross_entropy(logits, mb.ya, mb.yb, mb.lam);    // loss
  grad_sync_->backward(loss);  // backward, the gradients averaged over the ranks as their buckets complete
  if (cb_.after_backward) cb_.after_backward(epoch_ + 1, step_ + 1, *store_, *opt_);
  const Tensor skip = guard_->check(store_->grads(), loss, step_);  // set when the norm or loss is not finite
  guard_->restore_buffers(store_->buffers(), skip);
  const auto steps = static_cast<double>(train_loader_->batches_per_epoch());
  lr_ = schedule_.at(epoch_ + static_cast<double>(step_) / steps);
  opt_->step_unless(lr_, skip);                                                  // update
  scores_->add(loss, logits, mb.ya, mb.yb, mb.lam);                              // metrics
  ++step_;
}

// The mixing draws of the coming step: a stream of its own, keyed by seed, epoch, step and (past rank
// 0) rank, so that a run resumed in the middle of an epoch draws what the uninterrupted one did.
random::Rng Trainer::mixing_rng() const {
  const auto e = static_cast<uint64_t>(epoch_ + 1), s = static_cast<uint64_t>(step_);
  const auto rank = static_cast<uint64_t>(comm_.rank());
  return rank == 0 ? random::make_rng({c_.seed, kMixStream, e, s}) : random::make_rng({c_.seed, kMixStream, e, s, rank});
}

// The next epoch from its first step, or, after a resume in the middle of it, from the saved place.
void Trainer::start_epoch() {
  const int epoch = epoch_ + 1;
  mix_ = c_.mix_off_epoch > 0 && epoch >= c_.mix_off_epoch ? &no_mixing_ : &mixer_;
  train_loader_->start_epoch(epoch, resume_at_.step);
  scores_->reset();
  guard_->start_epoch();
  if (resume_at_.step > 0) scores_->restore(resume_at_.scores, resume_at_.step);
  step_ = last_report_step_ = resume_at_.step;
  last_report_ = Clock::now();
  epoch_start_ = last_report_ - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(resume_at_.seconds));
  resume_at_ = {};
}

EpochInfo Trainer::epoch() {
  start_epoch();
  data::Batch b;
  const int64_t steps = train_loader_->batches_per_epoch();
  while (train_loader_->next(b)) {
    const auto step_start = Clock::now();
    step(b);
    step_seconds_ += seconds_since<Clock>(step_start);
    report_progress(false);
    if (step_ < steps) handle_requests(false);  // after the last step, the epoch's end saves
  }
  report_progress(true);
  const ScoreTotals t = summed_over_ranks(read_scores(), comm_);
  const double train_s = seconds_since<Clock>(epoch_start_);
  const EvalResult ev = evaluate();
  ++epoch_;
  const EpochInfo e{epoch_,  t.loss_sum / t.seen, t.weighted / t.seen, t.x1x2 / t.seen, t.x2x1 / t.seen,
                    ev.loss, ev.acc,              lr_,                 t.seen / train_s, seconds_since<Clock>(epoch_start_)};
  images_ += t.seen;
  train_seconds_ += train_s;
  const bool best = ev.acc > best_acc_;
  if (best) best_acc_ = ev.acc, best_epoch_ = epoch_;
  if (run_dir_) run_dir_->add_metrics(e, c_.model + " on " + c_.dataset + ", mix " + c_.mixing.mix);
  save_checkpoints(best);
  if (cb_.epoch) cb_.epoch(e);
  handle_requests(true);
  return e;
}

// What the ranks ask for after a step (or at an epoch's end), the same on every rank.
Trainer::Requests Trainer::agreed_requests(bool epoch_end) {
  const bool save_due = !epoch_end && comm_.rank() == 0 && c_.save_minutes > 0 &&
                        seconds_since<Clock>(last_save_) >= 60 * c_.save_minutes;
  const int signal = interrupt::requested();
  if (comm_.world_size() == 1) return {signal, save_due};
  if (!epoch_end && step_ % kAgreeSteps != 0) return {};
  double votes[3] = {signal == SIGINT ? 1.0 : 0.0, signal == SIGTERM ? 1.0 : 0.0, save_due ? 1.0 : 0.0};
  comm_.all_reduce_host(votes, 3, dist::Reduce::Sum);
  const int agreed = votes[1] > 0 ? SIGTERM : votes[0] > 0 ? SIGINT : 0;
  if (agreed) interrupt::request(agreed);  // every rank ends with the same status
  return {agreed, votes[2] > 0};
}

// A stop signal or the --save-minutes clock: a resume point in the middle of the epoch (at an epoch's
// end its checkpoint has just been written), then, on a signal, the end of the run.
void Trainer::handle_requests(bool epoch_end) {
  const Requests r = agreed_requests(epoch_end);
  if (!epoch_end && (r.save || r.signal)) save_resume_point();
  if (!r.signal) return;
  throw interrupt::Stopped(r.signal, "stopped at " + interrupt::place(epoch_, step_, epoch_end) + "; saved " + c_.out +
                                         "/checkpoint.safetensors");
}

// checkpoint.safetensors in the middle of an epoch: the weights, the optimizer, the place in the
// epoch and every rank's running scores (rank 0 writes them all).
void Trainer::save_resume_point() {
  const std::string scores = gathered_scores(read_scores(), comm_);
  if (run_dir_) {
    checkpoint::Metadata state = state_meta();
    state["step"] = std::to_string(step_);
    state["ranks"] = std::to_string(comm_.world_size());
    state["scores"] = scores;
    state["epoch_seconds"] = exact(seconds_since<Clock>(epoch_start_));
    run_dir_->save_checkpoint("checkpoint", *model_, *opt_, checkpoint_meta(), state);
    notice("saved " + c_.out + "/checkpoint.safetensors at epoch " + std::to_string(epoch_ + 1) + " step " +
           std::to_string(step_));
  }
  last_save_ = Clock::now();
  last_good_ = last_good_checkpoint(c_.out + "/checkpoint.safetensors", epoch_ + 1, step_);
}

// Every rank evaluates rank 0's model (its batch-norm statistics are broadcast first) on its shard.
EvalResult Trainer::evaluate() {
  dist::broadcast_buffers(*store_, comm_);
  return eval_result(summed_over_ranks(evaluate_totals(*model_, *test_loader_, dev_), comm_));
}

// Reads the metrics back (which checks the steps were finite) at most every kReportSteps steps or
// kReportSeconds seconds, and at the end of the epoch.
void Trainer::report_progress(bool force) {
  const auto now = Clock::now();
  if (!force && step_ - last_report_step_ < kReportSteps &&
      std::chrono::duration<double>(now - last_report_).count() < kReportSeconds)
    return;
  last_report_ = now;
  last_report_step_ = step_;
  const ScoreTotals& t = read_scores();
  if (!cb_.step || step_ == 0) return;
  const int64_t steps = train_loader_->batches_per_epoch();
  const double elapsed = seconds_since<Clock>(epoch_start_);
  const double left = static_cast<double>(steps - step_) + static_cast<double>(c_.epochs - epoch_ - 1) * steps;
  const double seen = t.seen * comm_.world_size();  // every rank's batches are of one size
  cb_.step({epoch_ + 1, c_.epochs, step_, steps, t.loss_sum / t.seen, seen / std::max(elapsed, 1e-9),
            left * elapsed / static_cast<double>(step_)});
}

// A step the guard flagged is left out of the metrics and of the BatchNorm batch counts, with a notice, or
// stops the run (train/step_guard.h).
// Every read of the metrics goes through here, so no checkpoint is written after a step that stops it.
const ScoreTotals& Trainer::read_scores() {
  for (const FlaggedStep& f : guard_->read(where(), last_good_)) {
    scores_->leave_out(f.step);
    nn::uncount_batch(*model_);
    notice(guard_->notice(f, where()));
  }
  return scores_->read(where());
}

checkpoint::Metadata Trainer::checkpoint_meta() const {
  checkpoint::Metadata meta{{"format", "mixup-engine"}, {"model", c_.model}, {"dataset", c_.dataset},
                            {"epoch", std::to_string(epoch_)}, {"image_size", std::to_string(shape_.image_size)}};
  data::put_normalization(meta, norm_);
  return meta;
}

// The training state of a checkpoint at the current place: the checkpoint's metadata, the seed and the
// best epoch so far.
checkpoint::Metadata Trainer::state_meta() const {
  checkpoint::Metadata state = checkpoint_meta();
  state["seed"] = std::to_string(c_.seed);
  state["best_acc"] = exact(best_acc_);
  state["best_epoch"] = std::to_string(best_epoch_);
  return state;
}

void Trainer::save_checkpoints(bool best) {
  last_save_ = Clock::now();
  last_good_ = last_good_checkpoint(c_.out + "/checkpoint.safetensors", epoch_, 0);
  if (!run_dir_) return;
  const checkpoint::Metadata meta = checkpoint_meta();
  const checkpoint::Metadata state = state_meta();
  run_dir_->save_checkpoint("checkpoint", *model_, *opt_, meta, state);
  if (best) run_dir_->save_checkpoint("best", *model_, *opt_, meta, state);
  if (c_.save_every > 0 && epoch_ % c_.save_every == 0)
    run_dir_->save_checkpoint("epoch-" + std::to_string(epoch_), *model_, *opt_, meta, state);
}

std::string Trainer::where() const { return "epoch " + std::to_string(epoch_ + 1); }

TrainSummary Trainer::run() {
  const auto start = Clock::now();
  EpochInfo last;
  try {
    while (epoch_ < c_.epochs) last = epoch();
  } catch (const OutOfMemory& e) {
    MX_FAIL(where(), ": ", e.what(), " at --batch-size ", c_.batch_size, "; reduce --batch-size");
  }
  const TrainSummary s{last.test_acc, best_acc_, best_epoch_, seconds_since<Clock>(start),
                       train_seconds_ > 0 ? images_ / train_seconds_ : 0, device_name(dev_)};
  if (!run_dir_) return s;
  run_dir_->write_summary({{"final_test_acc", s.final_test_acc}, {"best_test_acc", s.best_test_acc},
                          {"best_epoch", s.best_epoch},         {"epochs", c_.epochs},
                          {"seconds", s.seconds},               {"train_images_per_s", s.images_per_s},
                          {"device", s.device},                 {"threads", num_threads()},
                          {"gomp_spincount", openmp_spin_count()},
                          {"final_test_loss", last.test_loss},  {"final_train_loss", last.train_loss},
                          {"final_train_acc", last.train_acc},  {"final_train_x1x2", last.train_x1x2},
                          {"final_train_x2x1", last.train_x2x1}, {"train_seconds", train_seconds_},
                          {"step_seconds", step_seconds_}, {"ranks", comm_.world_size()},
                          {"sync_bn", c_.sync_bn}, {"data_on_device", stored_.images.defined()}});
  return s;
}

}  // namespace mx::train
