// Files of a run directory: the metrics table and its figure, checkpoints, configuration, summary.
#include "train/run_dir.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/files.h"
#include "engine/interrupt.h"
#include "viz/plot.h"

namespace mx::train {

namespace fs = std::filesystem;

namespace {

const std::string kModelPrefix = "model.";  // the weights and buffers inside a state file

const char* kMetricsHeader =
    "epoch,train_loss,train_acc,train_x1x2,train_x2x1,test_loss,test_acc,lr,images_per_s,seconds\n";

std::string csv_row(const EpochInfo& e) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.1f,%.2f\n", e.epoch, e.train_loss,
                e.train_acc, e.train_x1x2, e.train_x2x1, e.test_loss, e.test_acc, e.lr, e.images_per_s, e.seconds);
  return buf;
}

EpochInfo parse_row(const std::string& line, const std::string& path) {
  EpochInfo e;
  const int got = std::sscanf(line.c_str(), "%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &e.epoch, &e.train_loss,
                              &e.train_acc, &e.train_x1x2, &e.train_x2x1, &e.test_loss, &e.test_acc, &e.lr,
                              &e.images_per_s, &e.seconds);
  MX_CHECK(got == 10, path, ": a row is not 10 numbers: '", line, "'");
  return e;
}

// Loss (right axis) and accuracy (left axis, %) of the training and test sets against epochs.
viz::plot::LineChart curves(const std::vector<EpochInfo>& rows, const std::string& title) {
  viz::plot::LineChart chart;
  chart.title = title;
  chart.x_label = "epoch";
  chart.y_label = "accuracy (%)";
  chart.y2_label = "loss";
  std::vector<double> epoch, train_acc, test_acc, train_loss, test_loss;
  for (const EpochInfo& e : rows) {
    epoch.push_back(e.epoch);
    train_acc.push_back(100 * e.train_acc), test_acc.push_back(100 * e.test_acc);
    train_loss.push_back(e.train_loss), test_loss.push_back(e.test_loss);
  }
  chart.series = {{"train accuracy", epoch, train_acc, {31, 119, 180}, 7, false},
                  {"test accuracy", epoch, test_acc, {31, 119, 180}, 0, false},
                  {"train loss", epoch, train_loss, {214, 39, 40}, 7, true},
                  {"test loss", epoch, test_loss, {214, 39, 40}, 0, true}};
  return chart;
}

}  // namespace

RunDir::RunDir(const std::string& dir, bool resuming) : dir_(dir) {
  files::ensure_writable_dir(dir, "--out");
  lock_ = std::make_unique<files::ProcessLock>(path(".lock"), "--out " + dir + ": another mixup train is writing there");
  files::remove_temporaries(dir);  // no other process writes here: this one holds the lock
  const std::string earlier = path("checkpoint.safetensors");
  MX_CHECK(resuming || !files::exists(earlier), "--out ", dir, ": holds an earlier run (", earlier,
           "); continue it with --resume ", earlier, ", or choose another --out");
}

std::string RunDir::path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

void RunDir::write_config(const nlohmann::json& config) { files::write_atomic(path("config.json"), config.dump(2) + "\n"); }

void RunDir::keep_metrics_up_to(int epoch) {
  rows_.clear();
  const std::string csv = path("metrics.csv");
  if (epoch == 0 || !files::exists(csv)) return;
  std::istringstream in(files::read_all(csv));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty() && std::stoi(line) <= epoch) rows_.push_back(parse_row(line, csv));
}

void RunDir::add_metrics(const EpochInfo& e, const std::string& title) {
  rows_.push_back(e);
  std::string csv = kMetricsHeader;
  for (const EpochInfo& r : rows_) csv += csv_row(r);
  files::write_atomic(path("metrics.csv"), csv);
  viz::plot::draw_line_chart(curves(rows_, title)).save_png(path("metrics.png"));
}

void RunDir::save_checkpoint(const std::string& name, nn::Module& model, optim::Optimizer& opt,
                             const checkpoint::Metadata& meta, const checkpoint::Metadata& state_meta) {
  const std::string file = path(name + ".safetensors");
  const nn::NamedTensors weights = model.state_dict();
  checkpoint::Metadata smeta = state_meta;
  nn::NamedTensors state = opt.state(smeta);
  for (const auto& [n, t] : weights) state.emplace_back(kModelPrefix + n, t);
  checkpoint::save(state_path(file), state, smeta);  // first: the resume point, complete on its own
  checkpoint::save(file, weights, meta);
}

void RunDir::write_summary(const nlohmann::json& summary) {
  files::write_atomic(path("summary.json"), summary.dump(2) + "\n");
}

std::string last_good_checkpoint(const std::string& path, int epoch, int64_t step) {
  const std::string place = step > 0 ? interrupt::place(epoch - 1, step, false) : interrupt::place(epoch, 0, true);
  return "the last good checkpoint is " + path + " (" + place + ")";
}

std::string state_path(const std::string& checkpoint) {
  const fs::path p(checkpoint);
  return (p.parent_path() / (p.stem().string() + ".state.safetensors")).string();
}

checkpoint::Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& opt) {
  const std::string sp = state_path(path);
  MX_CHECK(files::exists(sp), "--resume ", path, ": no training state beside it (", sp, " is missing)");
  checkpoint::File s = checkpoint::load(sp);
  checkpoint::File weights;
  nn::NamedTensors rest;
  for (auto& entry : s.tensors) {
    if (entry.first.rfind(kModelPrefix, 0) == 0) weights.tensors.emplace_back(entry.first.substr(kModelPrefix.size()), entry.second);
    else rest.push_back(std::move(entry));
  }
  s.tensors = std::move(rest);
  const bool older = weights.tensors.empty();  // an older version kept the weights in the checkpoint alone
  if (older) weights = checkpoint::load(path);
  checkpoint::load_into(older ? path : sp, weights, model.state_dict());
  opt.load_state(s, "--resume " + sp);
  return s.meta;
}

}  // namespace mx::train
