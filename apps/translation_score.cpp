// The `translation-score` subcommand: flags, then the scores as lines on stdout and optionally JSON.
#include "apps/translation_score.h"

#include <cstdio>

namespace mx::app {

CLI::App* add_translation_score_command(CLI::App& app, analysis::TranslationScoreConfig& c) {
  CLI::App* cmd = app.add_subcommand(
      "translation-score",
      "Score translated images with a trained classifier: the share assigned to the target class, a "
      "classifier-based FID (penultimate features; not the Inception FID) against real images, and the "
      "diversity (mean pairwise L1) of the translations");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--classifier", c.classifier, "Run directory (best.safetensors) or checkpoint of the classifier")
      ->required();
  cmd->add_option("--fake", c.fake, "Folder of translated images (.png/.jpg directly in it)")->required();
  cmd->add_option("--real", c.real, "Folder of real images of the target domain")->required();
  cmd->add_option("--target-class", c.target_class, "The class the translations should be (e.g. 9: ankle boot)")
      ->required();
  cmd->add_option("--crop", c.crop, "Centre crop side (default: the classifier's input size, e.g. 28 of 32)");
  cmd->add_option("--pairs", c.pairs, "Diversity: all pairs when at most this many, else this many random pairs")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed of the random pairs")->capture_default_str();
  cmd->add_option("--data-dir", c.data_dir, "The classifier's data set folder (default: the data set's)");
  cmd->add_option("--device", c.device, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "Images per forward pass")->capture_default_str();
  cmd->add_option("--threads", c.threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--out", c.out, "JSON file to write the scores to (atomically)");
  return cmd;
}

int run_translation_score(const analysis::TranslationScoreConfig& c) {
  analysis::ProgressCallbacks cb;
  cb.notice = [](const std::string& s) { std::printf("%s\n", s.c_str()); };  // stderr holds only errors
  const analysis::TranslationScores s = analysis::translation_scores(c, cb);
  std::fputs(analysis::scores_report(s).c_str(), stdout);
  if (!c.out.empty()) std::printf("wrote %s\n", c.out.c_str());
  return 0;
}

}  // namespace mx::app
