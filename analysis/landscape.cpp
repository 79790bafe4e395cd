// Loss landscapes: directions by Algorithm 1 (weighted noise), random weights or filter-normalized
// noise; the grid evaluated point by point into a resumable CSV; the heat map or slice plotted.
#include "analysis/landscape.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/files.h"
#include "engine/interrupt.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/threads.h"
#include "viz/plot.h"

namespace mx::analysis {

using train::EvalResult;
using train::evaluate;
namespace plot = viz::plot;

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
constexpr uint64_t kNoiseStream = 31, kSampleStream = 32, kBnStream = 33;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The first `count` images of a seeded permutation of `d` (all of them, shuffled, when count >= size).
data::Dataset seeded_subset(const data::Dataset& d, int64_t count, uint64_t seed, uint64_t stream) {
  random::Rng rng = random::make_rng({seed, stream});
  std::vector<int64_t> order = random::permutation(rng, d.size());
  order.resize(static_cast<size_t>(std::min(count, d.size())));
  return data::subset(d, order);
}

// What the noise multiplies: 1 (random-weights, filter-normalized) or W (weighted-noise) on every
// element the directions may move, 0 elsewhere (alignment gaps; with --perturb weights, 1-D tensors).
Tensor noise_scale(const ParameterStore& store, const Tensor& w0, const LandscapeConfig& c, Device dev) {
  std::vector<float> scale(static_cast<size_t>(store.size()), 0.f);
  for (size_t k = 0; k < store.named().size(); ++k) {
    const Tensor& p = store.named()[k].second;
    if (c.perturb == "weights" && p.dim() < 2) continue;
    std::fill_n(scale.begin() + store.offsets()[k], p.numel(), 1.f);
  }
  if (c.method == "weighted-noise") {
    const std::vector<float> w = w0.to_vector<float>();
    for (size_t k = 0; k < scale.size(); ++k) scale[k] *= w[k];
  }
  return Tensor::from_vector(scale, {store.size()}, dev);
}

bool needs_search(const std::string& method) { return method != "filter-normalized"; }

}  // namespace

uint64_t noise_key(uint64_t seed, int i, int call) {
  return random::derive_key({seed, kNoiseStream, static_cast<uint64_t>(i), static_cast<uint64_t>(call)});
}

std::vector<double> grid_axis(int n, double range) {
  std::vector<double> v;
  for (int k = 0; k < n; ++k) v.push_back(range * (2.0 * k - (n - 1)) / (n - 1));
  return v;
}

void validate(const LandscapeConfig& c) {
  check_checkpoint_exists(c.source.checkpoint);
  check_one_of("--method", c.method, {"weighted-noise", "random-weights", "filter-normalized"}, "method");
  check_one_of("--perturb", c.perturb, {"all", "weights"}, "parameter set");
  check_one_of("--bn", c.bn, {"keep", "reestimate"}, "batch-norm mode");
  MX_CHECK(c.grid >= 2, "--grid: must be >= 2, got ", c.grid);
  MX_CHECK(c.range > 0 && std::isfinite(c.range), "--range: must be > 0, got ", c.range);
  MX_CHECK(c.target_loss > 0 && std::isfinite(c.target_loss), "--target-loss: must be > 0, got ", c.target_loss);
  MX_CHECK(c.variance > 0 && std::isfinite(c.variance), "--variance: must be > 0, got ", c.variance);
  MX_CHECK(std::isfinite(c.mean), "--mean: must be finite, got ", c.mean);
  MX_CHECK(c.mom > 0 && c.mom < 1, "--mom: must be in (0, 1), got ", c.mom);
  MX_CHECK(c.max_search >= 1, "--max-search: must be >= 1, got ", c.max_search);
  MX_CHECK(c.bn_batches >= 1, "--bn-batches: must be >= 1, got ", c.bn_batches);
  MX_CHECK(c.samples >= 1, "--samples: must be >= 1, got ", c.samples);
  MX_CHECK(c.batch_size >= 1, "--batch-size: must be >= 1, got ", c.batch_size);
  MX_CHECK(c.vmax >= 0, "--vmax: must be >= 0, got ", c.vmax);
  MX_CHECK(c.threads >= 0, "--threads: must be >= 0, got ", c.threads);
}

LossSurface::LossSurface(nn::Module& net, ParameterStore& store, Device dev, const data::Dataset& samples,
                         const data::Dataset& bn_data, const data::Normalization& norm, const LandscapeConfig& c)
    : net_(net),
      store_(store),
      dev_(dev),
      c_(c),
      w0_(store.params().clone()),
      scale_(noise_scale(store, w0_, c, dev)) {
  for (Tensor& d : d_) d = Tensor::zeros({store.size()}, DType::F32, dev);
  for (const auto& [name, b] : net.named_buffers()) buffers_.emplace_back(b, b.clone());
  samples_ = std::make_unique<data::Loader>(samples, norm, data::LoaderOptions{c.batch_size, false, false, false, 0, 0, {}});
  if (c.bn == "reestimate")
    bn_ = std::make_unique<data::Loader>(bn_data, norm, data::LoaderOptions{c.batch_size, false, false, false, 0, 0, {}});
}

LossSurface::~LossSurface() { restore(); }

void LossSurface::restore() {
  store_.params().copy_from(w0_);
  for (auto& [live, saved] : buffers_) live.copy_from(saved);
}

// Running statistics from scratch: batch k enters the running average with momentum 1 / (k + 1), so
// after the last batch they are the plain mean of the batch statistics.
void LossSurface::reestimate_batch_norm() {
  std::vector<std::pair<nn::BatchNorm2d*, float>> bns;
  nn::for_each_batch_norm(net_, [&](nn::BatchNorm2d& bn) { bns.emplace_back(&bn, bn.momentum); });
  NoGradGuard no_grad;
  net_.train();
  bn_->start_epoch(0);
  data::Batch b;
  for (int k = 0; bn_->next(b); ++k) {
    for (auto& [bn, momentum] : bns) bn->momentum = 1.f / static_cast<float>(k + 1);
    net_(b.images.to(dev_));
  }
  for (auto& [bn, momentum] : bns) bn->momentum = momentum;
  net_.eval();
}

EvalResult LossSurface::loss_at(double alpha, double beta) {
  Tensor& w = store_.params();
  ops::perturb_apply(w, w0_, d_[0], d_[1], static_cast<float>(alpha), static_cast<float>(beta));
  if (bn_) reestimate_batch_norm();
  return evaluate(net_, *samples_, dev_);
}

// Each filter of d (a slice along dim 0 of a tensor of two or more dimensions) rescaled to the norm of
// the same filter of W; a perturbed 1-D tensor takes d = W.
void LossSurface::filter_normalize(Tensor& d) const {
  std::vector<float> dv = d.to_vector<float>(), w = w0_.to_vector<float>(), moved = scale_.to_vector<float>();
  for (size_t k = 0; k < store_.named().size(); ++k) {
    const Tensor& p = store_.named()[k].second;
    const auto off = static_cast<size_t>(store_.offsets()[k]);
    if (moved[off] == 0.f) continue;  // left out by --perturb weights
    const int64_t rows = p.dim() >= 2 ? p.size(0) : 1, per = p.numel() / rows;
    for (int64_t r = 0; r < rows; ++r) {
      float* dr = dv.data() + off + static_cast<size_t>(r * per);
      const float* wr = w.data() + off + static_cast<size_t>(r * per);
      if (p.dim() < 2) {
        std::copy(wr, wr + per, dr);
        continue;
      }
      double dn = 0, wn = 0;
      for (int64_t j = 0; j < per; ++j) dn += double{dr[j]} * dr[j], wn += double{wr[j]} * wr[j];
      const double f = std::sqrt(wn) / (std::sqrt(dn) + 1e-10);
      for (int64_t j = 0; j < per; ++j) dr[j] = static_cast<float>(dr[j] * f);
    }
  }
  d.copy_from(Tensor::from_vector(dv, d.shape()));
}

void LossSurface::set_direction(int i, double variance, uint64_t key) {
  Tensor& d = d_[i];
  const bool filter = c_.method == "filter-normalized";
  const float mean = filter ? 0.f : static_cast<float>(c_.mean);
  const float std = filter ? 1.f : static_cast<float>(std::sqrt(variance));
  ops::noise_direction(d, scale_, mean, std, key);
  if (filter) filter_normalize(d);
}

SearchResult LossSurface::search(int i, double& variance) {
  SearchResult r;
  int calls = 0;
  // GetLoss of Algorithm 1: V <- (1 + mom) V, a fresh T_i, loss(W + d_i).
  auto get_loss = [&](double mom) {
    variance *= 1 + mom;
    r.noise_key = noise_key(c_.seed, i, calls++);
    set_direction(i, variance, r.noise_key);
    return i == 0 ? loss_at(1, 0).loss : loss_at(0, 1).loss;
  };
  double loss = get_loss(0);
  const bool below = loss < c_.target_loss;
  r.previous_loss = loss;
  while ((below ? loss < c_.target_loss : loss > c_.target_loss) && r.steps < c_.max_search) {
    r.previous_loss = loss;
    loss = get_loss(below ? c_.mom : -c_.mom);
    ++r.steps;
  }
  r.loss = loss;
  r.variance = variance;
  r.crossed = below ? loss >= c_.target_loss : loss <= c_.target_loss;
  return r;
}

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// The settings a grid depends on, keyed by flag, so a resumed run can say which one differs.
Json settings_of(const LandscapeConfig& c, const TrainedModel& t) {
  return {{"--checkpoint", c.source.checkpoint}, {"--model", t.model}, {"--dataset", t.dataset},
          {"--method", c.method},     {"--target-loss", c.target_loss}, {"--mean", c.mean},
          {"--variance", c.variance}, {"--mom", c.mom},         {"--max-search", c.max_search},
          {"--grid", c.grid},         {"--range", c.range},     {"--slice", c.slice},
          {"--perturb", c.perturb},   {"--bn", c.bn},           {"--bn-batches", c.bn_batches},
          {"--samples", c.samples},   {"--seed", c.seed}};
}

// A direction in the summary: its Philox key, and for a searched one what the search found.
Json to_json(const SearchResult& r, bool searched) {
  if (!searched) return {{"noise_key", r.noise_key}};
  return {{"variance", r.variance}, {"noise_key", r.noise_key}, {"steps", r.steps},
          {"loss", r.loss},         {"previous_loss", r.previous_loss}, {"crossed", r.crossed}};
}

SearchResult search_from_json(const Json& j) {
  SearchResult r;
  r.noise_key = j.at("noise_key").get<uint64_t>();
  r.variance = j.value("variance", 0.0);
  r.steps = j.value("steps", 0);
  r.loss = j.value("loss", 0.0);
  r.previous_loss = j.value("previous_loss", 0.0);
  r.crossed = j.value("crossed", false);
  return r;
}

// The sidecar of an earlier run with the same settings, or null; fails naming the first differing flag.
Json earlier_run(const std::string& json_path, const Json& settings) {
  if (!files::exists(json_path)) return nullptr;
  Json j;
  try {
    j = Json::parse(files::read_all(json_path));
    const Json& old = j.at("settings");
    for (const auto& [flag, value] : settings.items())
      MX_CHECK(old.contains(flag) && old.at(flag) == value, "--out: ", json_path, " was written with ", flag, " ",
               old.contains(flag) ? old.at(flag).dump() : "(unset)", ", this run has ", value.dump(),
               "; choose another --out or delete the earlier files");
    j.at("directions");
    j.at("test_acc");
  } catch (const Json::exception& e) {
    MX_FAIL("--out: ", json_path, " is not a landscape summary (", e.what(), "); delete it or choose another --out");
  }
  return j;
}

std::string row_key(double alpha, double beta) { return fmt("%.6f", alpha) + "," + fmt("%.6f", beta); }

// Rows of an earlier CSV by their "alpha,beta" text.
std::map<std::string, LandscapeRow> earlier_rows(const std::string& csv_path) {
  std::map<std::string, LandscapeRow> rows;
  if (!files::exists(csv_path)) return rows;
  std::istringstream in(files::read_all(csv_path));
  std::string line;
  std::getline(in, line);
  for (int n = 2; std::getline(in, line); ++n) {
    LandscapeRow r;
    char tail = 0;
    MX_CHECK(std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf%c", &r.alpha, &r.beta, &r.loss, &r.acc, &tail) == 4,
             "--out: ", csv_path, " line ", n, " is not alpha,beta,loss,accuracy; delete it to start afresh");
    rows[line.substr(0, line.find(',', line.find(',') + 1))] = r;
  }
  return rows;
}

// The rows known so far, in grid order.
std::string landscape_csv(const std::vector<LandscapeRow>& rows, const std::vector<bool>& have) {
  std::string csv = "alpha,beta,loss,accuracy\n";
  for (size_t k = 0; k < rows.size(); ++k)
    if (have[k])
      csv += row_key(rows[k].alpha, rows[k].beta) + "," + fmt("%.6f", rows[k].loss) + "," + fmt("%.6f", rows[k].acc) + "\n";
  return csv;
}

std::string title_of(const LandscapeConfig& c, const TrainedModel& t, double test_acc) {
  return c.method + ", L = " + fmt("%g", c.target_loss) + ": " + c.source.checkpoint + "\n" + t.model + " on " +
         t.dataset + ", test acc " + fmt("%.2f", 100 * test_acc) + "%";
}

std::string note_of(const LandscapeConfig& c, const LandscapeSummary& s, int64_t samples) {
  return fmt("%.1f", 100.0 * static_cast<double>(s.below) / static_cast<double>(s.rows.size())) + "% of the " +
         (c.slice ? "curve below L (dotted)" : "grid below L (red)") + "; " + std::to_string(samples) +
         " test images, --bn " + c.bn + ", --perturb " + c.perturb + ", --seed " + std::to_string(c.seed);
}

void write_heat_map(const LandscapeConfig& c, const LandscapeSummary& s, const std::string& title,
                    const std::string& note) {
  plot::HeatMap m;
  m.title = title;
  m.note = note;
  m.x_label = "alpha (d1)";
  m.y_label = "beta (d2)";
  m.value_label = "loss";
  m.nx = m.ny = c.grid;
  m.x_lo = m.y_lo = -c.range;
  m.x_hi = m.y_hi = c.range;
  m.values.resize(s.rows.size());
  double lo = INFINITY, hi = -INFINITY;
  for (const LandscapeRow& r : s.rows) {
    lo = std::min(lo, r.loss), hi = std::max(hi, r.loss);
  }
  // rows are alpha-major (alpha = x along i, beta = y along j); the map wants values[j * nx + i].
  for (int i = 0; i < c.grid; ++i)
    for (int j = 0; j < c.grid; ++j)
      m.values[static_cast<size_t>(j) * c.grid + i] = s.rows[static_cast<size_t>(i) * c.grid + j].loss;
  m.v_lo = lo;
  m.v_hi = c.vmax > 0 ? c.vmax : std::min(hi, 3 * c.target_loss);
  if (!(m.v_hi > m.v_lo)) m.v_hi = m.v_lo + 1;
  for (double level : plot::nice_ticks(m.v_lo, m.v_hi, 10))
    if (level > m.v_lo && level < m.v_hi) m.levels.push_back(level);
  m.highlight = c.target_loss;
  m.has_highlight = true;
  plot::draw_heat_map(m).save_png(s.png);
}

void write_slice(const LandscapeConfig& c, const LandscapeSummary& s, const std::string& title,
                 const std::string& note) {
  plot::LineChart chart;
  chart.title = title + " (slice beta = 0)\n" + note;
  chart.x_label = "alpha (d1)";
  chart.y_label = "loss";
  chart.y2_label = "accuracy (%)";
  chart.y2_lo = 0, chart.y2_hi = 100;
  chart.y_marks = {c.target_loss};
  std::vector<double> a, loss, acc;
  for (const LandscapeRow& r : s.rows) a.push_back(r.alpha), loss.push_back(r.loss), acc.push_back(100 * r.acc);
  chart.x_lo = -c.range, chart.x_hi = c.range;
  chart.series = {{"loss", a, loss, {31, 119, 180}, 0, false}, {"accuracy", a, acc, {255, 127, 14}, 6, true}};
  plot::draw_line_chart(chart).save_png(s.png);
}

// Sets both directions (one for a slice): read back from an earlier run's summary, or searched or drawn
// now; `run` records each one as soon as it is known, in `json_path`.
std::vector<SearchResult> set_directions(LossSurface& surface, const LandscapeConfig& c, Json& run,
                                         const std::string& json_path, const ProgressCallbacks& cb) {
  std::vector<SearchResult> found;
  double variance = c.variance;  // carried from d1's search into d2's, as Algorithm 1 is written
  for (int i = 0; i < (c.slice ? 1 : 2); ++i) {
    SearchResult r;
    if (i < static_cast<int>(run["directions"].size())) {
      r = search_from_json(run["directions"][static_cast<size_t>(i)]);
      surface.set_direction(i, r.variance, r.noise_key);
      variance = r.variance;
    } else if (needs_search(c.method)) {
      const auto start = Clock::now();
      r = surface.search(i, variance);
      run["search_seconds"] = run.value("search_seconds", 0.0) + seconds_since(start);
      if (cb.notice)
        cb.notice("direction " + std::to_string(i + 1) + ": V = " + fmt("%.4g", r.variance) + " (std " +
                  fmt("%.4g", std::sqrt(r.variance)) + ") after " + std::to_string(r.steps) + " steps, loss " +
                  fmt("%.4f", r.previous_loss) + " -> " + fmt("%.4f", r.loss) +
                  (r.crossed ? "" : ", did not cross L within --max-search steps"));
      run["directions"].push_back(to_json(r, true));
    } else {
      r.noise_key = noise_key(c.seed, i, 0);
      surface.set_direction(i, 0, r.noise_key);
      run["directions"].push_back(to_json(r, false));
    }
    found.push_back(r);
    files::write_atomic(json_path, run.dump(2) + "\n");
  }
  return found;
}

// The grid, alpha-major: the rows of `earlier` kept, the others evaluated, the CSV rewritten after each.
// After a grid point, a SIGINT or SIGTERM ends the run: the CSV already holds every point so far, and
// the same command goes on from it.
void stop_if_requested(const LandscapeSummary& s, int64_t total) {
  const int sig = interrupt::requested();
  if (!sig) return;
  throw interrupt::Stopped(sig, "stopped after " + std::to_string(s.reused + s.computed) + " of " +
                                    std::to_string(total) + " grid points; " + s.csv + " holds them");
}

void evaluate_grid(LossSurface& surface, const LandscapeConfig& c, const std::map<std::string, LandscapeRow>& earlier,
                   LandscapeSummary& s, const ProgressCallbacks& cb) {
  const std::vector<double> axis = grid_axis(c.grid, c.range);
  std::vector<bool> have;
  for (double alpha : axis)
    for (double beta : c.slice ? std::vector<double>{0.0} : axis) {
      auto it = earlier.find(row_key(alpha, beta));
      have.push_back(it != earlier.end());
      s.rows.push_back(have.back() ? it->second : LandscapeRow{alpha, beta, NAN, NAN});
      s.reused += have.back();
    }
  if (s.reused > 0 && cb.notice)
    cb.notice("resuming: " + std::to_string(s.reused) + " of " + std::to_string(s.rows.size()) +
              " grid points read back from " + s.csv);
  const auto total = static_cast<int64_t>(s.rows.size()), pending = total - s.reused;
  const auto start = Clock::now();
  for (size_t k = 0; k < s.rows.size(); ++k) {
    if (have[k]) continue;
    LandscapeRow& r = s.rows[k];
    const EvalResult e = surface.loss_at(r.alpha, r.beta);
    r.loss = e.loss, r.acc = e.acc;
    have[k] = true;
    ++s.computed;
    files::write_atomic(s.csv, landscape_csv(s.rows, have));
    if (cb.progress) cb.progress(s.reused + s.computed, total, eta_seconds(seconds_since(start), s.computed, pending));
    stop_if_requested(s, total);
  }
  s.seconds_per_point = s.computed > 0 ? seconds_since(start) / static_cast<double>(s.computed) : 0;
  for (const LandscapeRow& r : s.rows) s.below += r.loss < c.target_loss;
}

}  // namespace

LandscapeSummary run_landscape(const LandscapeConfig& c, const ProgressCallbacks& cb) {
  validate(c);
  set_num_threads(c.threads);
  TrainedModel t = load_trained(c.source);
  const std::string prefix =
      output_prefix(c.out, c.source.checkpoint, "landscape-" + c.method + (c.slice ? "-slice" : ""));
  if (!t.notice.empty() && cb.notice) cb.notice(t.notice);
  LandscapeSummary s;
  s.csv = prefix + ".csv", s.png = prefix + ".png", s.json = prefix + ".json";
  Json run = earlier_run(s.json, settings_of(c, t));
  const bool resuming = !run.is_null();
  if (!resuming) {
    data::Loader test(t.data.test, t.norm, {c.batch_size, false, false, false, 0, 0, {}});
    const EvalResult full = evaluate(*t.net, test, t.device);
    run = {{"settings", settings_of(c, t)}, {"test_loss", full.loss}, {"test_acc", full.acc}, {"directions", Json::array()}};
  }
  s.test_loss = run.at("test_loss").get<double>();
  s.test_acc = run.at("test_acc").get<double>();

  const data::Dataset samples = seeded_subset(t.data.test, c.samples, c.seed, kSampleStream);
  const data::Dataset bn_data =  // unused with --bn keep
      c.bn == "reestimate" ? seeded_subset(t.data.train, int64_t{c.bn_batches} * c.batch_size, c.seed, kBnStream) : samples;
  {
    LossSurface surface(*t.net, *t.store, t.device, samples, bn_data, t.norm, c);
    const std::vector<SearchResult> found = set_directions(surface, c, run, s.json, cb);
    if (needs_search(c.method)) s.search = found;
    evaluate_grid(surface, c, resuming ? earlier_rows(s.csv) : std::map<std::string, LandscapeRow>{}, s, cb);
  }  // the weights are back

  const std::string title = title_of(c, t, s.test_acc), note = note_of(c, s, samples.size());
  if (c.slice) write_slice(c, s, title, note);
  else write_heat_map(c, s, title, note);
  const auto total = static_cast<int64_t>(s.rows.size());
  run["points"] = total;
  run["below_target"] = s.below;
  run["share_below_target"] = static_cast<double>(s.below) / static_cast<double>(total);
  if (s.computed > 0) run["seconds_per_point"] = s.seconds_per_point, run["threads"] = num_threads();
  files::write_atomic(s.json, run.dump(2) + "\n");
  return s;
}

}  // namespace mx::analysis
