// The mixed-pair test: the pairs' images arranged so that each loader batch is [x1 block; x2 block],
// each lambda mixed by one ops::mix_batch call, the logits scored on the host against both labels.
#include "analysis/mixtest.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/files.h"
#include "engine/ops.h"
#include "engine/threads.h"
#include "kernels/batch_scores.h"
#include "mixup/mixer.h"
#include "viz/plot.h"

namespace mx::analysis {

using mixup::Box;
using mixup::Mode;
namespace plot = viz::plot;
using train::EvalResult;

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kPairStream = 21;  // the permutation that picks each x2

Mode parse_mode(const std::string& mix) {
  check_one_of("--mix", mix, {"c", "h", "v", "r"}, "test mixing mode");
  return mix == "c" ? Mode::C : mix == "h" ? Mode::H : mix == "v" ? Mode::V : Mode::R;
}

double step_lam(int k, int steps) { return static_cast<double>(k) / (steps - 1); }

// A box of area share 1 - lam (to rounding) with the image's aspect ratio, centred.
Box centred_box(double lam, int64_t h, int64_t w) {
  const double side = std::sqrt(std::max(0.0, 1 - lam));
  const auto bh = static_cast<int32_t>(std::lround(side * static_cast<double>(h)));
  const auto bw = static_cast<int32_t>(std::lround(side * static_cast<double>(w)));
  const auto top = static_cast<int32_t>((h - bh) / 2), left = static_cast<int32_t>((w - bw) / 2);
  return Box{top, top + bh, left, left + bw};
}

// The pairs' images in loader-batch order: for each block of `batch` pairs, their x1 then their x2.
data::Dataset pair_blocks(const data::Dataset& images, const Pairs& p, int64_t batch) {
  const auto n = static_cast<int64_t>(p.first.size());
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(2 * n));
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(n, start + batch);
    order.insert(order.end(), p.first.begin() + start, p.first.begin() + end);
    order.insert(order.end(), p.second.begin() + start, p.second.begin() + end);
  }
  return data::subset(images, order);
}

struct RowSums {
  double acc_x1 = 0, acc_x2 = 0, x1x2 = 0, x2x1 = 0, loss = 0, loss_max = 0;
};

// Adds the scores of one batch: logits [m, K] of the mixed pairs with labels y1, y2 and y1's weight w.
void score(const Tensor& logits, const std::vector<int32_t>& y1, const std::vector<int32_t>& y2, double w,
           RowSums& s) {
  const std::vector<float> v = logits.to_vector<float>();
  const int64_t k = logits.size(1);
  for (size_t i = 0; i < y1.size(); ++i) {
    const float* row = v.data() + static_cast<int64_t>(i) * k;
    int32_t t1, t2;
    kernels::top2_of_row(row, k, t1, t2);
    const double peak = row[t1];
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(row[j] - peak);
    const double lse = peak + std::log(sum);
    const double loss = w * (lse - row[y1[i]]) + (1 - w) * (lse - row[y2[i]]);
    s.loss += loss;
    s.loss_max = std::max(s.loss_max, loss);
    s.acc_x1 += t1 == y1[i];
    s.acc_x2 += t1 == y2[i];
    s.x1x2 += t1 == y1[i] && t2 == y2[i];
    s.x2x1 += t1 == y2[i] && t2 == y1[i];
  }
}

plot::LineChart fig2_chart(const std::vector<MixTestRow>& rows, const std::string& title) {
  plot::LineChart chart;
  chart.title = title;
  chart.x_label = "lambda (weight of x1)";
  chart.y_label = "accuracy (%)";
  chart.y2_label = "mixed cross-entropy";
  chart.y_lo = 0, chart.y_hi = 100;
  std::vector<double> lam, a1, a2, t12, t21, mean, max;
  for (const MixTestRow& r : rows) {
    lam.push_back(r.lam);
    a1.push_back(100 * r.acc_x1), a2.push_back(100 * r.acc_x2);
    t12.push_back(100 * r.top2_x1x2), t21.push_back(100 * r.top2_x2x1);
    mean.push_back(r.loss_mean), max.push_back(r.loss_max);
  }
  chart.series = {{"acc x1", lam, a1, {31, 119, 180}, 0, false},
                  {"acc x2", lam, a2, {255, 127, 14}, 0, false},
                  {"test-x1x2", lam, t12, {214, 39, 40}, 7, false},
                  {"test-x2x1", lam, t21, {44, 160, 44}, 7, false},
                  {"loss (mean)", lam, mean, {0, 0, 0}, 0, true},
                  {"loss (max)", lam, max, {140, 140, 140}, 4, true}};
  return chart;
}

}  // namespace

void validate(const MixTestConfig& c) {
  check_checkpoint_exists(c.source.checkpoint);
  parse_mode(c.mix);
  MX_CHECK(c.steps >= 2, "--steps: must be >= 2, got ", c.steps);
  MX_CHECK(c.limit >= 0, "--limit: must be >= 0, got ", c.limit);
  MX_CHECK(c.batch_size > 0, "--batch-size: must be > 0, got ", c.batch_size);
  MX_CHECK(c.threads >= 0, "--threads: must be >= 0, got ", c.threads);
}

Pairs test_pairs(const data::Dataset& test, uint64_t seed, bool distinct, int64_t limit) {
  random::Rng rng = random::make_rng({seed, kPairStream});
  const std::vector<int64_t> perm = random::permutation(rng, test.size());
  const int32_t* y = test.labels.data<int32_t>();
  Pairs p;
  for (int64_t i = 0; i < test.size() && (limit <= 0 || static_cast<int64_t>(p.first.size()) < limit); ++i) {
    const int64_t j = perm[static_cast<size_t>(i)];
    if (distinct && y[i] == y[j]) continue;
    p.first.push_back(i);
    p.second.push_back(j);
  }
  MX_CHECK(!p.first.empty(), "--distinct-classes: the test set has no pair of different classes");
  return p;
}

PairMix pair_mix(Mode mode, double lam, int64_t h, int64_t w) {
  PairMix m;
  if (mode == Mode::C) {
    m.sample.op = kernels::kBlend;
    m.sample.lam = static_cast<float>(lam);
    m.share = lam;
    return m;
  }
  MX_CHECK(mode == Mode::H || mode == Mode::V || mode == Mode::R, "pair_mix: mode ", mode_letter(mode),
           " does not mix");
  const Box box = mode == Mode::R ? centred_box(lam, h, w) : seam_box(mode, lam, h, w);
  box.set_paste(m.sample);
  m.share = box.own_share(h, w);
  return m;
}

std::vector<MixTestRow> mixed_pair_test(nn::Module& model, Device dev, const data::Dataset& images,
                                        const data::Normalization& norm, const Pairs& pairs,
                                        const MixTestOptions& opt, const ProgressCallbacks& cb) {
  MX_CHECK(opt.steps >= 2 && opt.batch_size > 0, "mixed_pair_test: steps ", opt.steps, ", batch ", opt.batch_size);
  const auto n = static_cast<int64_t>(pairs.first.size());
  data::Loader loader(pair_blocks(images, pairs, opt.batch_size), norm, {2 * opt.batch_size, false, false, false, 0, 0, {}});
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::vector<RowSums> sums(static_cast<size_t>(opt.steps));
  std::vector<double> shares(static_cast<size_t>(opt.steps));
  const int64_t total = (n + opt.batch_size - 1) / opt.batch_size * opt.steps;
  int64_t done = 0;
  const auto start = Clock::now();
  loader.start_epoch(0);
  data::Batch b;
  while (loader.next(b)) {
    const int64_t m = b.labels.numel() / 2;
    const std::vector<int32_t> labels = b.labels.to_vector<int32_t>();
    const std::vector<int32_t> y1(labels.begin(), labels.begin() + m), y2(labels.begin() + m, labels.end());
    const Tensor x = b.images.to(dev);
    for (int k = 0; k < opt.steps; ++k) {
      const PairMix mix = pair_mix(opt.mode, step_lam(k, opt.steps), x.size(2), x.size(3));
      std::vector<kernels::MixSample> plan(static_cast<size_t>(2 * m));
      for (int64_t i = 0; i < 2 * m; ++i) plan[static_cast<size_t>(i)].partner = static_cast<int32_t>(i);
      for (int64_t i = 0; i < m; ++i) {
        plan[static_cast<size_t>(i)] = mix.sample;
        plan[static_cast<size_t>(i)].partner = static_cast<int32_t>(m + i);
      }
      const Tensor logits = model(ops::mix_batch(x, plan).slice(0, m));
      score(logits, y1, y2, mix.share, sums[static_cast<size_t>(k)]);
      shares[static_cast<size_t>(k)] = mix.share;
      ++done;
      if (cb.progress)
        cb.progress(done, total, eta_seconds(std::chrono::duration<double>(Clock::now() - start).count(), done, total));
    }
  }
  model.train(was_training);
  std::vector<MixTestRow> rows;
  const auto count = static_cast<double>(n);
  for (int k = 0; k < opt.steps; ++k) {
    const RowSums& s = sums[static_cast<size_t>(k)];
    rows.push_back({step_lam(k, opt.steps), shares[static_cast<size_t>(k)], s.acc_x1 / count, s.acc_x2 / count,
                    s.x1x2 / count, s.x2x1 / count, s.loss / count, s.loss_max});
  }
  return rows;
}

std::string mixtest_csv(const std::vector<MixTestRow>& rows) {
  std::string csv = "lam,share,acc_x1,acc_x2,top2_x1x2,top2_x2x1,loss_mean,loss_max\n";
  char line[256];
  for (const MixTestRow& r : rows) {
    std::snprintf(line, sizeof line, "%.4f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", r.lam, r.share, r.acc_x1, r.acc_x2,
                  r.top2_x1x2, r.top2_x2x1, r.loss_mean, r.loss_max);
    csv += line;
  }
  return csv;
}

MixTestSummary run_mixtest(const MixTestConfig& c, const ProgressCallbacks& cb) {
  validate(c);
  set_num_threads(c.threads);
  TrainedModel t = load_trained(c.source);
  const std::string prefix = output_prefix(c.out, c.source.checkpoint, "mixtest-" + c.mix);
  if (!t.notice.empty() && cb.notice) cb.notice(t.notice);
  const Pairs pairs = test_pairs(t.data.test, c.seed, c.distinct_classes, c.limit);
  MixTestSummary s;
  s.pairs = static_cast<int64_t>(pairs.first.size());
  s.rows = mixed_pair_test(*t.net, t.device, t.data.test, t.norm, pairs,
                           {parse_mode(c.mix), c.steps, c.batch_size}, cb);
  s.csv = prefix + ".csv";
  s.png = prefix + ".png";
  files::write_atomic(s.csv, mixtest_csv(s.rows));
  const std::string title = "Mixed-pair test (--mix " + c.mix + "): " + c.source.checkpoint + "\n" + t.model + " on " +
                            t.dataset + ", " + std::to_string(s.pairs) + (c.distinct_classes ? " distinct-class" : "") +
                            " test pairs";
  plot::draw_line_chart(fig2_chart(s.rows, title)).save_png(s.png);
  return s;
}

}  // namespace mx::analysis
