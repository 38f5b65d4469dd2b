// The Data page's dataset choice as plain values, and what it means for training: the DataSpec
// (with the core's cache folder) and the one-line description the Train page shows. No widgets,
// so tests read them directly.
#pragma once

#include "t2i/train.h"

#include <QString>

namespace t2i::ui {

struct DataForm {
  bool demo = true;          ///< the built-in demo dataset (else a captions file and images folder)
  int demoImages = 4000;
  QString annotations;
  QString imagesFolder;
  int maxImages = 20000;     ///< N, for a captions file
};

/// The demo dataset, or both a captions file and an images folder.
bool isComplete(const DataForm& form);

/// The dataset as training reads it, for images of `imageSize` pixels, cached under `cacheRoot`
/// where `t2i data prepare --cache-root` puts the same dataset (no cache folder while a captions
/// file or images folder is missing).
train::DataSpec dataSpec(const DataForm& form, int imageSize, const QString& cacheRoot);

/// One line naming the dataset, e.g. "Built-in demo dataset, 4,000 scenes".
QString describe(const DataForm& form);

/// The caption-file formats the core reads (data::caption_formats), one per line, for tooltips.
QString captionFormatsText();

/// A file-dialog filter for those formats: "Captions (*.json *.csv …);;All files (*)".
QString captionFileFilter();

} // namespace t2i::ui
