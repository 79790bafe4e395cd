// The presets behind --recipe.
#include "mixup/recipes.h"

namespace mx::mixup {

std::vector<std::string> recipe_names() { return {"quick", "paper"}; }

TrainConfig recipe(const std::string& name) {
  TrainConfig c;
  c.recipe = name;
  if (name == "quick") {
    c.model = "quicknet";
    c.mixing.mix = "none";
    c.epochs = 7;
    c.batch_size = 128;
    c.lr = 0.1f;
    c.flip = true;
    c.translate = 0;
    c.out = "runs/quick";
    return c;
  }
  if (name == "paper") {
    c.model = "preact-resnet18";
    c.mixing.mix = "c";
    c.mixing.alpha = 1.0;
    c.epochs = 200;
    c.batch_size = 128;
    c.lr = 0.1f;
    c.momentum = 0.9f;
    c.wd = 1e-4f;
    c.nesterov = true;
    c.flip = true;
    c.translate = 4;
    c.out = "runs/paper";
    return c;
  }
  MX_FAIL("--recipe: unknown recipe '", name, "' (known: quick, paper)");
}

}  // namespace mx::mixup
