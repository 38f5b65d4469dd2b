// Guidance anatomy of a generation: per denoising step, what the conditional and unconditional
// halves predicted, their difference Δ = ε(z, c) − ε(z, ∅), and what guidance made of them.
// Recorded by Generator::generate on request (Probes). Plain C++ only.
#pragma once

#include "t2i/image.h"

#include <memory>
#include <string>
#include <vector>

namespace t2i::sample {

/// One step's numbers for one image.
struct GuidanceStep {
  int step = 0;          ///< 1-based
  double t = 0;          ///< diffusion time in [0, 1]
  double delta_rms = 0;  ///< ‖Δ‖ as a root mean square over the image's values, in units of ε
  double cosine = 0;     ///< cos(ε(z, c), ε(z, ∅))
  double clipped = 0;    ///< share of the guided x̂₀'s values at the thresholding's bound
};

/// One step's pictures for one image: x̂₀ under c, under ∅ and guided (thresholded as the sampler
/// does), and Δ in grey (mid-grey 0; white and black ±delta_scale).
struct GuidanceRow {
  Image conditional, unconditional, guided, delta;
};

class GuidanceAnatomy {
public:
  GuidanceAnatomy();
  ~GuidanceAnatomy();
  GuidanceAnatomy(const GuidanceAnatomy&);
  GuidanceAnatomy& operator=(const GuidanceAnatomy&);

  bool empty() const;
  int images() const;
  int steps() const;
  double guidance() const;  ///< w
  std::vector<GuidanceStep> series(int image) const;
  GuidanceRow row(int image, int step) const;
  /// The largest |Δ| of the image over every step: the grey scale of GuidanceRow::delta.
  float delta_scale(int image) const;

  struct Data;
  explicit GuidanceAnatomy(std::shared_ptr<const Data> data);

private:
  std::shared_ptr<const Data> data_;
};

/// Writes every image's series as JSON (a versioned document: guidance, then per image its prompt
/// and per step t, ‖Δ‖, cos(ε_c, ε_u) and the clipped share), atomically. Throws naming the file.
void write_guidance_anatomy(const std::string& path, const GuidanceAnatomy& anatomy, const std::vector<std::string>& prompts);

} // namespace t2i::sample
