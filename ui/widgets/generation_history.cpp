#include "widgets/generation_history.h"

#include "sampling/image_files.h"

#include <QLocale>

namespace t2i::ui {
namespace {
constexpr int kThumbnail = 64;  ///< pixels: a 32-pixel sample ×2, a 64-pixel one as it is
} // namespace

GenerationHistory::GenerationHistory(QWidget* parent) : QListWidget(parent) {
  setViewMode(QListView::IconMode);
  setFlow(QListView::LeftToRight);
  setWrapping(false);
  setMovement(QListView::Static);
  setIconSize(QSize(kThumbnail, kThumbnail));
  setToolTip(tr("Every generation since the studio started; click one to bring back its image and settings"));
  connect(this, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
    const int index = static_cast<int>(entries_.size()) - 1 - row(item);
    if (index >= 0 && index < entries_.size()) Q_EMIT restoreRequested(entries_[index].image, entries_[index].settings);
  });
}

void GenerationHistory::add(const QImage& image, const GenerationSettings& settings) {
  entries_.push_back({image, settings});
  const int factor = image.isNull() ? 1 : std::max(1, kThumbnail / std::max(image.width(), image.height()));
  auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(enlarged(image, factor))), QString());
  item->setToolTip(describe(settings));
  insertItem(0, item);
}

QString GenerationHistory::describe(const GenerationSettings& s) {
  return tr("\"%1\" · seed %2 · guidance %3 · %4 steps · %5")
      .arg(s.prompt)
      .arg(s.seed)
      .arg(QLocale().toString(s.guidance, 'g', 4))
      .arg(s.steps)
      .arg(s.sampler);
}

} // namespace t2i::ui
