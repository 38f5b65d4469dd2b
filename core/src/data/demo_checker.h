// The demo dataset's checker: does an image show what its caption says? It finds each palette
// colour's largest blob by hue, measures its shape (fill of its extent), size and position, and
// compares them with the parsed caption, attribute by attribute. The project's quick measure of
// text–image alignment for models trained on the demo dataset (t2i/data.h: check_demo_image).
#pragma once

#include "t2i/data.h"

#include <torch/torch.h>

#include <string>

namespace t2i::data::demo {

/// Checks an image tensor: [3, H, W] float in [−1, 1] (a model's output) or [H, W, 3] uint8.
DemoCheck check_image(const torch::Tensor& image, const std::string& caption);

} // namespace t2i::data::demo
