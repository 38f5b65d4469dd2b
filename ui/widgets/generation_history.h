// The generations made since the studio started, newest first, as a strip of thumbnails with
// their settings in the tooltip; clicking one asks to bring it back (image and settings).
#pragma once

#include "sampling/generation_settings.h"

#include <QImage>
#include <QListWidget>
#include <QVector>

namespace t2i::ui {

class GenerationHistory : public QListWidget {
  Q_OBJECT
public:
  explicit GenerationHistory(QWidget* parent = nullptr);

  /// Adds a generation in front: its first image and the settings that made it.
  void add(const QImage& image, const GenerationSettings& settings);

  /// One line for the Log panel and the tooltip: prompt, seed, guidance, steps, sampler.
  static QString describe(const GenerationSettings& settings);

Q_SIGNALS:
  void restoreRequested(const QImage& image, const t2i::ui::GenerationSettings& settings);

private:
  struct Entry {
    QImage image;
    GenerationSettings settings;
  };
  QVector<Entry> entries_;  ///< in the order added; row r shows entries_[size − 1 − r]
};

} // namespace t2i::ui
