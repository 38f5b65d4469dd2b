// The dataset report (t2i/data.h's DatasetReport): what the caption files list, which images
// are usable and why the others are not, caption statistics and split sizes.
#pragma once

#include "data/caption_files.h"
#include "data/image_cache.h"
#include "data/split_manifest.h"

#include "t2i/data.h"

#include <cstddef>
#include <vector>

namespace t2i::data {

/// The decode outcome of one captioned image.
struct ImageOutcome {
  std::size_t source = 0;  ///< index into the caption sets
  std::size_t image = 0;   ///< index into that set's images
  SlotStatus status = SlotStatus::Pending;
};

/// Builds the report from the caption sets and the outcomes of the images that were checked.
/// Images without captions are counted as skipped ("no caption") whether checked or not; caption
/// statistics cover the usable images.
DatasetReport build_report(const std::vector<CaptionSet>& sets, const std::vector<ImageOutcome>& checked,
                           const SplitOptions& split, const SplitSizes& sizes, const TokenCounter& count_tokens,
                           const std::string& token_unit);

/// Every captioned image of the sets, in set and file order.
std::vector<ImageOutcome> captioned_images(const std::vector<CaptionSet>& sets);

/// Loads every source's caption file.
std::vector<CaptionSet> load_sources(const std::vector<Source>& sources);

} // namespace t2i::data
