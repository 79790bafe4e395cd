// The CycleGAN / MixCycleGAN trainer (gan/cyclegan.h): one step, one epoch, checkpoints and resume.
#include "gan/cyclegan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "engine/checkpoint.h"
#include "engine/device_select.h"
#include "engine/files.h"
#include "engine/interrupt.h"
#include "engine/ops.h"
#include "engine/threads.h"
#include "gan/grid.h"
#include "kernels/step_guard.h"
#include "models/cyclegan_nets.h"
#include "train/run_dir.h"

namespace mx::gan {

namespace {

constexpr uint64_t kStepStream = 11;  // stitching draws and pool choices; the loader keys its own streams
constexpr double kReportSeconds = 2;
const char* const kNetNames[] = {"G_A", "G_B", "D_A", "D_B"};

// train::last_good_checkpoint for a state saved in DIR after `epochs` complete epochs and `step` steps of the next.
std::string last_good(const std::string& dir, int epochs, int64_t step) {
  return train::last_good_checkpoint(dir + "/latest.state.safetensors", step > 0 ? epochs + 1 : epochs, step);
}

// The entries of a state file under `prefix` (tensors and metadata), the prefix taken off, as a file of their own.
checkpoint::File part_of(const checkpoint::File& state, const std::string& prefix) {
  checkpoint::File f;
  for (const auto& [name, t] : state.tensors)
    if (name.rfind(prefix, 0) == 0) f.tensors.emplace_back(name.substr(prefix.size()), t);
  for (const auto& [k, v] : state.meta)
    if (k.rfind(prefix, 0) == 0) f.meta[k.substr(prefix.size())] = v;
  return f;
}

// Two networks under one module, so that one ParameterStore and one Adam serve both (the reference
// optimizes G_A with G_B and D_A with D_B).
class Pair : public nn::Module {
 public:
  Pair(const char* a, std::shared_ptr<nn::Module> first, const char* b, std::shared_ptr<nn::Module> second) {
    register_module(a, std::move(first));
    register_module(b, std::move(second));
  }
  Tensor forward(const Tensor&) override { MX_FAIL("a network pair has no forward pass of its own"); }
};

// The reference's set_requires_grad(netD, False) during the generator step: no gradient for them then.
void set_trainable(ParameterStore& store, bool on) {
  for (const auto& named : store.named()) {
    Tensor t = named.second;
    t.set_requires_grad(on);
  }
}

template <typename Clock>
double seconds_since(typename Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

const CycleGanConfig& validated(const CycleGanConfig& c) {
  validate(c);
  return c;
}

std::string meta_value(const checkpoint::Metadata& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? "?" : it->second;
}

}  // namespace

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names{"G", "D_A", "D_B", "G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B"};
  return names;
}

CycleGanNets make_cyclegan_nets(const CycleGanConfig& c, int channels) {
  const int blocks = c.g_blocks > 0 ? c.g_blocks : models::default_generator_blocks(c.crop_size);
  auto generator = [&](uint64_t k) {
    return models::resnet_generator({channels, channels, c.ngf, blocks, random::derive_key({c.seed, k})});
  };
  auto discriminator = [&](uint64_t k) {
    return models::patch_discriminator({channels, c.ndf, c.d_layers, random::derive_key({c.seed, k})});
  };
  return {generator(1), generator(2), discriminator(3), discriminator(4)};
}

std::string net_path(const std::string& dir, const std::string& name) {
  return dir + "/latest_net_" + name + ".safetensors";
}

CycleGan::CycleGan(const CycleGanConfig& config, GanCallbacks cb)
    : c_(validated(config)), cb_(std::move(cb)), pool_a_(c_.pool_size), pool_b_(c_.pool_size) {
  std::string notice;
  dev_ = select_device(c_.device, notice);
  if (!notice.empty() && cb_.notice) cb_.notice(notice);
  set_num_threads(c_.threads);
  data_opt_.layout = c_.layout;
  data_opt_.direction = c_.direction;
  data_opt_.load_size = c_.load_size;
  data_opt_.crop_size = c_.crop_size;
  data_opt_.flip = c_.flip;
  data_opt_.partners = c_.mode == "mix";
  data_opt_.workers = c_.workers;
  data_opt_.warn = cb_.notice;
  train_folder_ = data::scan_translation_folder(c_.data_dir, "train", data_opt_);
  if (c_.max_images > 0) {
    for (auto* files : {&train_folder_.a, &train_folder_.b})
      if (static_cast<int64_t>(files->size()) > c_.max_images) files->resize(static_cast<size_t>(c_.max_images));
  }
  if (cb_.notice) cb_.notice(train_folder_.summary());
  loader_ = std::make_unique<data::TranslationLoader>(train_folder_, data_opt_, true, c_.batch_size, c_.seed);
  nets_ = make_cyclegan_nets(c_, train_folder_.channels);
  generators_ = std::make_shared<Pair>("G_A", nets_.g_a, "G_B", nets_.g_b);
  discriminators_ = std::make_shared<Pair>("D_A", nets_.d_a, "D_B", nets_.d_b);
  g_store_ = std::make_unique<ParameterStore>(*generators_, dev_);
  d_store_ = std::make_unique<ParameterStore>(*discriminators_, dev_);
  const optim::AdamOptions adam{c_.beta1, c_.beta2, 1e-8f, 0.f};
  g_opt_ = std::make_unique<optim::Adam>(*g_store_, adam);
  d_opt_ = std::make_unique<optim::Adam>(*d_store_, adam);
  schedule_ = {c_.lr, c_.epochs, c_.epochs_decay};
  files::ensure_writable_dir(c_.out, "--out");
  if (!c_.resume.empty()) resume();
  files::write_atomic(c_.out + "/config.json", to_json(c_).dump(2) + "\n");
}

CycleGan::~CycleGan() = default;

// A domain's batch on the device; in mix mode stitched with its partners (eq. 3).
Tensor CycleGan::input(const Tensor& images, const Tensor& partners, const StitchDraw& d) const {
  const Tensor x = images.to(dev_);
  return d.mode == mixup::Mode::N ? x : stitch(x, partners.to(dev_), d);
}

Tensor CycleGan::target(int64_t n, float value) const { return Tensor::full({n}, value, dev_); }

// LSGAN: mean (D(x) - t)^2; bce: binary cross-entropy of the logits against t.
Tensor CycleGan::gan_loss(const Tensor& logits, const Tensor& t) const {
  return c_.gan_loss == "lsgan" ? ops::mse_to_target(logits, t) : ops::bce_with_logits_to_target(logits, t);
}

// A discriminator's loss on the step's images. fake: its generator's output (detached), source: that
// generator's input, real: a real image of the discriminator's own domain.
//   plain:            0.5 * (L(D(real), 1) + L(D(pool(fake)), 0))          (the reference's backward_D_basic)
//   mix, --d-mix paper:     L(D(lam * source + (1 - lam) * fake), lam)      (eq. 3 read literally)
//   mix, --d-mix real-fake: L(D(lam * real + (1 - lam) * pool(fake)), lam)  (the mixup paper's GAN form)
Tensor CycleGan::discriminator_loss(nn::Module& d, const Tensor& source, const Tensor& fake, const Tensor& real,
                                    ImagePool& pool, double lam) {
  const int64_t n = fake.size(0);
  if (c_.mode == "plain") {
    const Tensor on_real = gan_loss(d(real), target(n, 1.f));
    const Tensor on_fake = gan_loss(d(pool.query(fake, rng_)), target(n, 0.f));
    return ops::scale(ops::add(on_real, on_fake), 0.5f);
  }
  const Tensor w = target(n, static_cast<float>(lam));
  const Tensor mixed = c_.d_mix == "paper" ? ops::blend(source, fake, w) : ops::blend(real, pool.query(fake, rng_), w);
  return gan_loss(d(mixed), w);
}

void CycleGan::record(int column, const Tensor& loss) {
  losses_.slice(step_, step_ + 1).view({kLossColumns}).slice(column, column + 1).copy_from(loss);
}

// The data path of one step. Everything stays on the device; nothing is read back here.
void CycleGan::step(const data::TranslationBatch& batch) {
  nn::Module &g_a = *nets_.g_a, &g_b = *nets_.g_b, &d_a = *nets_.d_a, &d_b = *nets_.d_b;
  const bool mix = c_.mode == "mix";
  // The step's own stream, so that a run resumed in the middle of an epoch draws what the uninterrupted one did.
  rng_ = random::make_rng({c_.seed, kStepStream, static_cast<uint64_t>(epoch_ + 1), static_cast<uint64_t>(step_)});
  const StitchDraw da = mix ? draw_stitch(c_.clean_share, c_.alpha, rng_) : StitchDraw{};
  const StitchDraw db = mix ? draw_stitch(c_.clean_share, c_.alpha, rng_) : StitchDraw{};
  const Tensor real_a = input(batch.a, batch.a_partner, da), real_b = input(batch.b, batch.b_partner, db);
  const int64_t n = real_a.size(0);

  // Generators: translations and reconstructions.
  const Tensor fake_b = g_a(real_a), rec_a = g_b(fake_b);
  const Tensor fake_a = g_b(real_b), rec_b = g_a(fake_a);

  // Generator step with the discriminators frozen: adversarial, cycle and identity losses (the same in mix mode).
  set_trainable(*d_store_, false);
  g_store_->zero_grad();
  const Tensor adv_a = gan_loss(d_a(fake_b), target(n, 1.f)), adv_b = gan_loss(d_b(fake_a), target(n, 1.f));
  const Tensor cycle_a = ops::scale(ops::l1_loss(rec_a, real_a), c_.lambda_cycle);
  const Tensor cycle_b = ops::scale(ops::l1_loss(rec_b, real_b), c_.lambda_cycle);
  Tensor loss_g = ops::add(ops::add(adv_a, adv_b), ops::add(cycle_a, cycle_b));
  Tensor idt_a = Tensor::zeros({1}, DType::F32, dev_), idt_b = Tensor::zeros({1}, DType::F32, dev_);
  if (c_.lambda_identity > 0) {
    const float w = c_.lambda_cycle * c_.lambda_identity;
    idt_a = ops::scale(ops::l1_loss(g_a(real_b), real_b), w);
    idt_b = ops::scale(ops::l1_loss(g_b(real_a), real_a), w);
    loss_g = ops::add(loss_g, ops::add(idt_a, idt_b));
  }
  loss_g.backward();
  g_opt_->step(lr_);
  set_trainable(*d_store_, true);

  // Discriminator step on detached fakes: D_A judges domain B, D_B domain A.
  d_store_->zero_grad();
  const Tensor loss_d_a = discriminator_loss(d_a, real_a, fake_b.detach(), real_b, pool_b_, da.lam);
  const Tensor loss_d_b = discriminator_loss(d_b, real_b, fake_a.detach(), real_a, pool_a_, db.lam);
  loss_d_a.backward();
  loss_d_b.backward();
  d_opt_->step(lr_);

  const Tensor* row[kLossColumns] = {&loss_g, &loss_d_a, &loss_d_b, &adv_a, &adv_b, &cycle_a, &cycle_b, &idt_a, &idt_b};
  for (int k = 0; k < kLossColumns; ++k) record(k, *row[k]);
  images_ += static_cast<double>(n);
  ++step_;
}

GanEpoch CycleGan::epoch() {
  const int epoch = epoch_ + 1;
  lr_ = schedule_.at(epoch_);
  const int64_t steps = loader_->batches_per_epoch();
  loader_->start_epoch(epoch, resume_at_.step);
  losses_ = Tensor::zeros({std::max<int64_t>(steps, 1), kLossColumns}, DType::F32, dev_);
  if (resume_at_.step > 0) losses_.slice(0, resume_at_.step).copy_from(resume_at_.losses.to(dev_));
  step_ = resume_at_.step;
  images_ = resume_at_.images;
  last_report_ = Clock::now();
  epoch_start_ = last_report_ - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(resume_at_.seconds));
  resume_at_ = {};
  data::TranslationBatch batch;
  while (loader_->next(batch)) {
    step(batch);
    if (cb_.after_step) cb_.after_step(epoch, step_, *g_store_, *d_store_);
    report(false);
    if (step_ < steps) handle_requests(false);  // after the last step, the epoch's end saves
  }
  const std::vector<float> sums = report(true);
  GanEpoch e;
  e.epoch = epoch;
  e.lr = lr_;
  for (int64_t s = 0; s < step_; ++s)
    for (int k = 0; k < kLossColumns; ++k) e.loss[k] += sums[static_cast<size_t>(s * kLossColumns + k)];
  for (double& v : e.loss) v /= static_cast<double>(std::max<int64_t>(step_, 1));
  e.seconds = seconds_since<Clock>(epoch_start_);
  e.images_per_s = images_ / std::max(e.seconds, 1e-9);
  train_seconds_ += e.seconds;
  epoch_ = epoch;
  rows_.push_back(e);
  step_ = 0;  // the epoch is complete: its checkpoint is a resume point at its end
  write_grid(epoch);
  write_metrics();
  save();
  if (cb_.epoch) cb_.epoch(e);
  handle_requests(true);
  return e;
}

// After a step: a SIGINT or SIGTERM, or the --save-minutes clock, saves the latest_* files in the
// middle of the epoch (at an epoch's end they have just been written); a signal then ends the run.
void CycleGan::handle_requests(bool epoch_end) {
  const int signal = interrupt::requested();
  const bool save_due = c_.save_minutes > 0 && seconds_since<Clock>(last_save_) >= 60 * c_.save_minutes;
  if (!epoch_end && (signal || save_due)) {
    checked_losses();  // nothing non-finite is saved over the last good state
    save();
    if (cb_.notice) cb_.notice("saved " + c_.out + " at epoch " + std::to_string(epoch_ + 1) + " step " + std::to_string(step_));
  }
  if (!signal) return;
  throw interrupt::Stopped(signal, "stopped at " + interrupt::place(epoch_, step_, epoch_end) + "; saved " + c_.out +
                                       "/latest.state.safetensors");
}

// The loss rows of the epoch so far, read back, after a check that they and the weights of the four
// networks are finite (the weights on their device, by the step guard's kernel: a record of three
// floats comes back per store). A non-finite value ends the run with a one-line error naming the first
// step whose losses are not finite, before anything is saved over the last good state.
std::vector<float> CycleGan::checked_losses() {
  const std::vector<float> v = losses_.slice(0, step_).to(Device::CPU).to_vector<float>();
  const std::string where = "epoch " + std::to_string(epoch_ + 1);
  const std::string hint = "; " + last_good_ + "; try a lower --lr";
  for (int64_t s = 0; s < step_; ++s) {
    const float* row = v.data() + s * kLossColumns;
    MX_CHECK(std::all_of(row, row + kLossColumns, [](float x) { return std::isfinite(x); }), where, " step ", s + 1,
             ": the losses are not finite (G ", detail::shown(row[kLossG]), ", D_A ", detail::shown(row[kLossD_A]),
             ", D_B ", detail::shown(row[kLossD_B]), ")", hint);
  }
  const Tensor none = Tensor::zeros({1}, DType::F32, dev_);
  for (ParameterStore* store : {g_store_.get(), d_store_.get()}) {
    Tensor record = Tensor::zeros({kernels::kGuardColumns}, DType::F32, dev_);
    ops::step_guard(record, store->params(), none, false);
    const std::vector<float> r = record.to_vector<float>();
    MX_CHECK(r[kernels::kGuardColumns - 1] == 0.f, where, " after step ", step_, ": the ",
             store == g_store_.get() ? "generator" : "discriminator", " weights are not finite (norm ",
             detail::shown(r[0]), ")", hint);
  }
  return v;
}

// Progress at most every kReportSeconds (and, forced, at the epoch's end), with the check of
// checked_losses; returns the loss rows it read, or none when it was not yet time.
std::vector<float> CycleGan::report(bool force) {
  if (!force && seconds_since<Clock>(last_report_) < kReportSeconds) return {};
  last_report_ = Clock::now();
  const std::vector<float> v = checked_losses();
  if (!cb_.step) return v;
  GanStepInfo info;
  info.epoch = epoch_ + 1;
  info.epochs = total_epochs();
  info.step = step_;
  info.steps = loader_->batches_per_epoch();
  if (step_ > 0) {
    for (int64_t s = 0; s < step_; ++s) {
      info.loss_g += v[static_cast<size_t>(s * kLossColumns + kLossG)];
      info.loss_d += v[static_cast<size_t>(s * kLossColumns + kLossD_A)] + v[static_cast<size_t>(s * kLossColumns + kLossD_B)];
    }
    info.loss_g /= static_cast<double>(step_);
    info.loss_d /= static_cast<double>(step_);
  }
  const double elapsed = seconds_since<Clock>(epoch_start_);
  info.images_per_s = images_ / std::max(elapsed, 1e-9);
  const double per_step = step_ > 0 ? elapsed / static_cast<double>(step_) : 0;
  info.eta_s = per_step * static_cast<double>((total_epochs() - epoch_) * info.steps - step_);
  cb_.step(info);
  return v;
}

void CycleGan::write_grid(int epoch) {
  char name[32];
  std::snprintf(name, sizeof name, "epoch_%03d.png", epoch);
  files::ensure_writable_dir(c_.out + "/samples", "--out");
  write_training_grid(c_.out + "/samples/" + name, nets_, dev_, train_folder_, data_opt_, c_);
}

void CycleGan::write_metrics() {
  std::ostringstream csv;
  csv << "epoch,lr";
  for (const std::string& n : loss_names()) csv << "," << n;
  csv << ",seconds,images_per_s\n";
  for (const GanEpoch& e : rows_) {
    csv << e.epoch << "," << e.lr;
    for (double v : e.loss) csv << "," << v;
    csv << "," << e.seconds << "," << e.images_per_s << "\n";
  }
  files::write_atomic(c_.out + "/metrics.csv", csv.str());
}

// The state file first, complete on its own (the four networks as "net.<name>.*", both optimizers, the
// pools and, in the middle of an epoch, its place and loss rows), then each network's own file. A
// process killed at any moment of a save leaves a state file that resumes: the previous one or the new.
void CycleGan::save() {
  const checkpoint::Metadata meta{{"epoch", std::to_string(epoch_)}, {"seed", std::to_string(c_.seed)},
                                  {"mode", c_.mode}, {"format", "mixup cyclegan 1"}};
  const std::shared_ptr<nn::Module> nets[] = {nets_.g_a, nets_.g_b, nets_.d_a, nets_.d_b};
  checkpoint::Metadata gm, dm;
  nn::NamedTensors state;
  for (int k = 0; k < 4; ++k)
    for (auto& [name, t] : nets[k]->state_dict()) state.emplace_back(std::string("net.") + kNetNames[k] + "." + name, t);
  for (auto& [name, t] : g_opt_->state(gm)) state.emplace_back("G." + name, t);
  for (auto& [name, t] : d_opt_->state(dm)) state.emplace_back("D." + name, t);
  if (pool_a_.size() > 0) state.emplace_back("pool_A", pool_a_.contents());
  if (pool_b_.size() > 0) state.emplace_back("pool_B", pool_b_.contents());
  checkpoint::Metadata all = meta;
  for (auto& [k, v] : gm) all["G." + k] = v;
  for (auto& [k, v] : dm) all["D." + k] = v;
  if (step_ > 0) {
    state.emplace_back("epoch_losses", losses_.slice(0, step_));
    all["step"] = std::to_string(step_);
    all["epoch_seconds"] = std::to_string(seconds_since<Clock>(epoch_start_));
    all["epoch_images"] = std::to_string(images_);
  }
  checkpoint::save(c_.out + "/latest.state.safetensors", state, all);
  for (int k = 0; k < 4; ++k) checkpoint::save(net_path(c_.out, kNetNames[k]), nets[k]->state_dict(), meta);
  last_save_ = Clock::now();
  last_good_ = last_good(c_.out, epoch_, step_);
}

void CycleGan::resume() {
  const std::string& dir = c_.resume;
  const std::string state_file = dir + "/latest.state.safetensors";
  MX_CHECK(files::exists(state_file), "--resume ", dir, ": no latest.state.safetensors there");
  const checkpoint::File state = checkpoint::load(state_file);
  const std::string epoch = meta_value(state.meta, "epoch");
  MX_CHECK(meta_value(state.meta, "seed") == std::to_string(c_.seed) && meta_value(state.meta, "mode") == c_.mode,
           "--resume ", state_file, ": written by a run with --seed ", meta_value(state.meta, "seed"), " and --mode ",
           meta_value(state.meta, "mode"), ", this run has --seed ", c_.seed, " and --mode ", c_.mode);
  load_networks(state, state_file);
  g_opt_->load_state(part_of(state, "G."), state_file);
  d_opt_->load_state(part_of(state, "D."), state_file);
  for (const auto& [name, t] : state.tensors) {
    if (name == "pool_A") pool_a_.restore(t, dev_);
    if (name == "pool_B") pool_b_.restore(t, dev_);
  }
  try {
    epoch_ = std::stoi(epoch);
  } catch (const std::exception&) {
    MX_FAIL("--resume ", state_file, ": metadata lacks the epoch");
  }
  MX_CHECK(epoch_ <= total_epochs(), "--resume ", dir, ": at epoch ", epoch_, ", beyond --epochs + --epochs-decay ",
           total_epochs());
  // Keep the metrics rows up to the resumed epoch.
  const std::string csv_path = dir + "/metrics.csv";
  if (files::exists(csv_path)) {
    std::istringstream in(files::read_all(csv_path));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string cell;
      GanEpoch e;
      std::vector<double> v;
      try {
        while (std::getline(fields, cell, ',')) v.push_back(std::stod(cell));
      } catch (const std::exception&) {
        continue;  // a damaged row is dropped; the epoch's checkpoint is what counts
      }
      if (v.size() != 2 + kLossColumns + 2 || static_cast<int>(v[0]) > epoch_) continue;
      e.epoch = static_cast<int>(v[0]);
      e.lr = v[1];
      for (int k = 0; k < kLossColumns; ++k) e.loss[k] = v[2 + k];
      e.seconds = v[2 + kLossColumns];
      e.images_per_s = v[3 + kLossColumns];
      rows_.push_back(e);
    }
  }
  if (state.meta.count("step")) return resume_mid_epoch(state, state_file);
  last_good_ = last_good(dir, epoch_, 0);
  if (cb_.notice) cb_.notice("resumed from " + dir + " at epoch " + std::to_string(epoch_));
}

// The four networks from the state file ("net.<name>.*"), or, from a state file of an older version,
// from their own files, which must then be of the state's epoch.
void CycleGan::load_networks(const checkpoint::File& state, const std::string& state_file) {
  const std::shared_ptr<nn::Module> nets[] = {nets_.g_a, nets_.g_b, nets_.d_a, nets_.d_b};
  const std::string epoch = meta_value(state.meta, "epoch");
  for (int k = 0; k < 4; ++k) {
    const checkpoint::File inside = part_of(state, std::string("net.") + kNetNames[k] + ".");
    if (!inside.tensors.empty()) {
      checkpoint::load_into(state_file, inside, nets[k]->state_dict());
      continue;
    }
    const std::string path = net_path(c_.resume, kNetNames[k]);
    const checkpoint::File f = checkpoint::load(path);
    MX_CHECK(meta_value(f.meta, "epoch") == epoch, "--resume ", path, ": holds epoch ", meta_value(f.meta, "epoch"),
             " but ", state_file, " epoch ", epoch, " (an interrupted save); resume from a complete one");
    checkpoint::load_into(path, f, nets[k]->state_dict());
  }
}

// A state saved in the middle of epoch epoch_ + 1: its step and the loss rows of the steps before.
void CycleGan::resume_mid_epoch(const checkpoint::File& state, const std::string& state_file) {
  resume_at_.step = std::atoll(meta_value(state.meta, "step").c_str());
  MX_CHECK(resume_at_.step > 0 && resume_at_.step < loader_->batches_per_epoch(), "--resume ", state_file, ": step ",
           meta_value(state.meta, "step"), " is not inside an epoch of ", loader_->batches_per_epoch(),
           " steps (were --batch-size or --max-images changed?)");
  for (const auto& [name, t] : state.tensors)
    if (name == "epoch_losses") resume_at_.losses = t;
  MX_CHECK(resume_at_.losses.defined() && resume_at_.losses.size(0) == resume_at_.step, "--resume ", state_file,
           ": lacks the loss rows of its epoch's first ", resume_at_.step, " steps");
  resume_at_.seconds = std::atof(meta_value(state.meta, "epoch_seconds").c_str());
  resume_at_.images = std::atof(meta_value(state.meta, "epoch_images").c_str());
  last_good_ = last_good(c_.resume, epoch_, resume_at_.step);
  if (cb_.notice)
    cb_.notice("resumed from " + c_.resume + " at epoch " + std::to_string(epoch_ + 1) + " step " +
               std::to_string(resume_at_.step));
}

void CycleGan::run() {
  while (epoch_ < total_epochs()) epoch();
  nlohmann::json s;
  s["epochs"] = epoch_;
  s["mode"] = c_.mode;
  s["device"] = device_name(dev_);
  s["seconds"] = train_seconds_;
  if (!rows_.empty()) {
    for (int k = 0; k < kLossColumns; ++k) s["final_" + loss_names()[static_cast<size_t>(k)]] = rows_.back().loss[k];
    s["images_per_s"] = rows_.back().images_per_s;
  }
  files::write_atomic(c_.out + "/summary.json", s.dump(2) + "\n");
}

}  // namespace mx::gan
