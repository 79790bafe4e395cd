// Sample grids in the layout of the paper's Fig. 5 (and of junyanz's visuals): per row one A image and one
// B image with their translations, reconstructions and identity mappings, columns real_A, fake_B, rec_A,
// idt_B, real_B, fake_A, rec_B, idt_A; rows labelled (stitching mode and lambda of the inputs).
#pragma once
#include <string>
#include <vector>

#include "datasets/translation_folder.h"
#include "gan/config.h"
#include "gan/cyclegan.h"

namespace mx::gan {

struct GridRow {
  std::string label;
  std::vector<Tensor> tiles;  // host [C, H, W] in [-1, 1], in grid_columns() order
};
const std::vector<std::string>& grid_columns();

// The eight images of one row from real_a and real_b ([1, C, H, W] on `dev`), without autograd.
GridRow translation_row(const CycleGanNets& nets, const Tensor& real_a, const Tensor& real_b, std::string label);

// The rows as a PNG (atomically), each tile enlarged to at least 64 pixels, with a title line.
void write_grid(const std::string& path, const std::vector<GridRow>& rows, const std::string& title);

// The grid of an epoch: the first config.grid_rows training images of each domain (test transform, so the
// same every epoch); in mix mode stitched at lambda 0.5 with the next ones, V and H on alternate rows.
void write_training_grid(const std::string& path, const CycleGanNets& nets, Device dev,
                         const data::TranslationFolder& folder, const data::TranslationOptions& opt,
                         const CycleGanConfig& config);

}  // namespace mx::gan
