// The experiment grids of Table 1 and Fig. 1, and their summary tables.
#include "analysis/sweep.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/files.h"

namespace mx::analysis {

using mixup::MixerOptions;
using train::TrainConfig;

namespace fs = std::filesystem;

namespace {

MixerOptions mixing(const std::string& mix, const std::string& lam_x = "", const std::string& lam_l = "same") {
  MixerOptions m;
  m.mix = mix;
  m.lam_x = lam_x;
  m.lam_l = lam_l;
  return m;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string uniform(double lo, double hi) { return "uniform:" + fmt(lo) + ":" + fmt(hi); }

// Fig. 1 (a)-(c): symmetric ranges around 0.5, from [0.5, 0.5] to [0, 1].
std::vector<std::pair<double, double>> symmetric_ranges() {
  std::vector<std::pair<double, double>> r;
  for (int k = 0; k <= 5; ++k) r.emplace_back(0.5 - 0.1 * k, 0.5 + 0.1 * k);
  return r;
}

std::string range_name(const char* var, double lo, double hi) {
  return std::string(var) + "~U[" + fmt(lo) + "," + fmt(hi) + "]";
}

}  // namespace

std::vector<std::string> sweep_names() { return {"table1", "fig1a", "fig1b", "fig1c", "fig1d"}; }

std::vector<SweepRun> sweep_runs(const std::string& name) {
  std::vector<SweepRun> runs;
  if (name == "table1") {
    runs = {{"ERM", mixing("none")}, {"mixup-C", mixing("c")}, {"mixup-H", mixing("h")},
            {"mixup-HV", mixing("hv")}, {"mixup-HC", mixing("hc")}};
  } else if (name == "fig1a") {  // lambda_x = 0.5, lambda_l ~ U(range)
    for (auto [lo, hi] : symmetric_ranges())
      runs.push_back({"lx=0.5 " + range_name("ll", lo, hi), mixing("c", "const:0.5", uniform(lo, hi))});
  } else if (name == "fig1b") {  // lambda_l = 0.5, lambda_x ~ U(range)
    for (auto [lo, hi] : symmetric_ranges())
      runs.push_back({"ll=0.5 " + range_name("lx", lo, hi), mixing("c", uniform(lo, hi), "const:0.5")});
  } else if (name == "fig1c") {  // lambda_x = lambda_l ~ U(range)
    for (auto [lo, hi] : symmetric_ranges())
      runs.push_back({"lx=ll" + range_name("", lo, hi), mixing("c", uniform(lo, hi))});
  } else if (name == "fig1d") {  // lambda_x and lambda_l drawn apart from asymmetric ranges above 0.5
    for (int k = 1; k <= 5; ++k) {
      const double hi = 0.5 + 0.1 * k;
      runs.push_back({"lx!=ll" + range_name("", 0.5, hi), mixing("c", uniform(0.5, hi), uniform(0.5, hi))});
    }
  } else {
    MX_FAIL("--sweep: unknown sweep '", name, "' (known: table1, fig1a, fig1b, fig1c, fig1d)");
  }
  return runs;
}

std::string run_sweep(const std::string& name, const train::TrainConfig& base, const train::TrainCallbacks& cb) {
  const std::vector<SweepRun> runs = sweep_runs(name);
  files::ensure_writable_dir(base.out, "--out");
  std::string csv = "run,mix,lam_x,lam_l,final_test_error,best_test_error,train_acc,train_x1x2,train_x2x1,seconds\n";
  std::string md = "| run | --mix | --lam-x | --lam-l | test error (final) | test error (best) |\n|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const SweepRun& r = runs[i];
    TrainConfig c = base;
    c.mixing = r.mixing;
    c.mixing.alpha = base.mixing.alpha;
    std::string folder = r.name;
    for (char& ch : folder)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-') ch = '_';
    c.out = (fs::path(base.out) / folder).string();
    const std::string summary_path = (fs::path(c.out) / "summary.json").string();
    if (cb.notice) cb.notice("sweep " + name + " [" + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + "] " + r.name);
    const std::string checkpoint = (fs::path(c.out) / "checkpoint.safetensors").string();
    if (files::exists(checkpoint)) c.resume = checkpoint;  // a run that was stopped goes on
    if (!files::exists(summary_path)) train::Trainer(c, cb).run();
    const nlohmann::json s = nlohmann::json::parse(files::read_all(summary_path));
    const double final_err = 100 * (1 - s.at("final_test_acc").get<double>());
    const double best_err = 100 * (1 - s.at("best_test_acc").get<double>());
    const std::string lx = c.mixing.lam_x.empty() ? "beta:" + fmt(c.mixing.alpha) : c.mixing.lam_x;
    char row[512];
    std::snprintf(row, sizeof row, "\"%s\",%s,%s,%s,%.2f,%.2f,%.4f,%.4f,%.4f,%.1f\n", r.name.c_str(), c.mixing.mix.c_str(),
                  lx.c_str(), c.mixing.lam_l.c_str(), final_err, best_err, s.value("final_train_acc", 0.0),
                  s.value("final_train_x1x2", 0.0), s.value("final_train_x2x1", 0.0), s.at("seconds").get<double>());
    csv += row;
    std::snprintf(row, sizeof row, "| %s | %s | %s | %s | %.2f %% | %.2f %% |\n", r.name.c_str(), c.mixing.mix.c_str(),
                  lx.c_str(), c.mixing.lam_l.c_str(), final_err, best_err);
    md += row;
  }
  md += "\n" + std::to_string(base.epochs) + " epochs of " + base.model + " on " + base.dataset + " (recipe " +
        base.recipe + ", seed " + std::to_string(base.seed) + ").\n";
  files::write_atomic((fs::path(base.out) / "results.csv").string(), csv);
  files::write_atomic((fs::path(base.out) / "results.md").string(), md);
  return md;
}

}  // namespace mx::analysis
