// `mixup translation-score`: the flags of the command and its run (analysis/translation_score.h).
#pragma once
#include <CLI/CLI.hpp>

#include "analysis/translation_score.h"

namespace mx::app {

// Adds the subcommand with its flags bound to `c`; returns it.
CLI::App* add_translation_score_command(CLI::App& app, analysis::TranslationScoreConfig& c);

// Computes the scores, prints one line per figure on stdout and, with --out, writes the JSON file.
int run_translation_score(const analysis::TranslationScoreConfig& c);

}  // namespace mx::app
