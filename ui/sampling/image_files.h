// Saving and opening generated PNGs from the studio: file names proposed from the generation
// (prompt, seed, guidance), one remembered folder for images, and nearest-neighbour enlarged
// copies (×4, ×8) beside the PNG at the model's own 32 or 64 pixels.
#pragma once

#include <QImage>
#include <QString>

#include <cstdint>

class QWidget;

namespace t2i::ui {

/// "<first words of the prompt>_seed<seed>_cfg<w>.png": lowercase ASCII words joined by '-', at
/// most 40 characters of them ("image" when none is left).
QString proposedImageName(const QString& prompt, std::uint64_t seed, double guidance);

/// "grid_<first words of the prompt>_seeds<seeds>_cfg<scales>.png" for a comparison grid, the
/// seeds and scales as typed (e.g. "0, 1" and "5, 8" give "seeds0-1_cfg5-8").
QString proposedGridName(const QString& prompt, const QString& seeds, const QString& scales);

/// `image` enlarged `factor` times by repeating pixels, so a 32-pixel sample stays crisp.
QImage enlarged(const QImage& image, int factor);

/// Where to save, and how many times enlarged (1 = as generated).
struct SaveTarget {
  QString path;  ///< empty when the dialog was cancelled; always ends in ".png"
  int scale = 1;
};

/// The save dialog: starts in the folder images were last saved to or opened from, proposes
/// `name`, offers ×1, ×4 and ×8 as file types, and remembers the folder chosen.
SaveTarget askSavePng(QWidget* parent, const QString& title, const QString& name);

/// The open dialog, in the same remembered folder. Empty when cancelled.
QString askOpenPng(QWidget* parent, const QString& title);

} // namespace t2i::ui
