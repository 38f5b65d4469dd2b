// The probe gallery inside the trainer (t2i/probe_gallery.h): which probes a run samples and
// how, sampling them with the EMA weights at step 0 and every evaluation, and keeping probes/ in
// step with the checkpoints when a run resumes. Only the process that writes the run folder
// (rank 0 of a data-parallel run) makes one.
#pragma once

#include "t2i/job.h"
#include "t2i/probe_gallery.h"

#include "sample/text_to_image_model.h"
#include "train/run_folder.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace t2i::train {

/// Sampling steps of a run's previews and probe sheets (sample::sampling_steps_for caps them).
inline constexpr std::int64_t kPreviewSteps = 25;

/// The gallery a run of `preset` samples: `prompts` (the validation captions, then the user's)
/// × kProbeSeeds seeds × kProbeGuidance scales, with the default sampler and thresholding over
/// `sampling_steps`, keeping kProbeRecordedSteps of them spread evenly (the last included).
ProbeGallery plan_probe_gallery(std::vector<std::string> prompts, std::int64_t sampling_steps, int image_size);

class ProbeRecorder {
public:
  /// A fresh run (`resumed_step` unset) starts an empty gallery, dropping what a run that died
  /// before its first checkpoint left. A resumed run keeps its stored probes (the plan is fixed at
  /// a run's start, so every evaluation shows the same probes) and the evaluations up to its
  /// checkpoint's step; later ones were written after that checkpoint and are redone. A run
  /// trained without a gallery starts one at `plan`. `note` says when the stored probes differ
  /// from `plan`.
  ProbeRecorder(const RunFolder& folder, ProbeGallery plan, std::optional<std::int64_t> resumed_step, std::string& note);

  const ProbeGallery& gallery() const { return gallery_; }

  /// Samples every probe with `model`'s EMA weights and adds step `step`'s sheet. Returns false,
  /// writing nothing, when `cancel` stopped it. A super-resolution stage enlarges `low_res`
  /// [prompts, 3, s, s], one image per gallery prompt.
  bool record(sample::TextToImageModel& model, std::int64_t step, const job::CancelToken* cancel,
              const torch::Tensor& low_res = {});

  /// The last record()'s final image of every probe (x̂₀ at the last recorded step), in probe
  /// order; empty before the first.
  std::vector<Image> final_images() const;

private:
  void write_index() const;

  const RunFolder& folder_;
  ProbeGallery gallery_;
  Image sheet_;  ///< the last sheet recorded
};

} // namespace t2i::train
