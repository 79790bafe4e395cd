// `mixup cyclegan` and `mixup cyclegan-test` on the command line: progress display and result lines around
// gan::CycleGan (gan/cyclegan.h) and gan::run_cyclegan_test (gan/translate.h).
#pragma once
#include "gan/config.h"
#include "gan/translate.h"

namespace mx::app {

int run_cyclegan(const gan::CycleGanConfig& c);
int run_cyclegan_test(const gan::CycleGanTestConfig& c);

}  // namespace mx::app
