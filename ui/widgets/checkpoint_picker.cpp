#include "checkpoint_picker.h"

#include "sampling/checkpoints.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QToolButton>

namespace t2i::ui {

CheckpointPicker::CheckpointPicker(QWidget* parent)
    : QWidget(parent), combo_(new QComboBox(this)), browse_(new QToolButton(this)) {
  combo_->setObjectName(QStringLiteral("checkpointCombo"));
  combo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  combo_->setMinimumContentsLength(16);
  combo_->setPlaceholderText(tr("no checkpoint: train one or browse"));
  browse_->setText(tr("…"));
  browse_->setToolTip(tr("Choose a checkpoint file (.safetensors)"));
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(combo_, 1);
  layout->addWidget(browse_);
  connect(browse_, &QToolButton::clicked, this, &CheckpointPicker::browse);
  connect(combo_, &QComboBox::currentIndexChanged, this, [this] {
    combo_->setToolTip(path());
    Q_EMIT pathChanged(path());
  });
  refresh();
}

QString CheckpointPicker::path() const { return combo_->currentData().toString(); }

int CheckpointPicker::addEntry(const QString& path, const QString& label) {
  const int existing = combo_->findData(path);
  if (existing >= 0) return existing;
  combo_->addItem(label, path);
  combo_->setItemData(combo_->count() - 1, path, Qt::ToolTipRole);
  return combo_->count() - 1;
}

void CheckpointPicker::setPath(const QString& path) {
  if (path.isEmpty()) return;
  const QString absolute = QFileInfo(path).absoluteFilePath();
  combo_->setCurrentIndex(addEntry(absolute, checkpointLabel(absolute)));
}

void CheckpointPicker::refresh() {
  const QString selected = path();
  {
    const QSignalBlocker blocker(combo_);
    for (const CheckpointEntry& entry : runCheckpoints()) addEntry(entry.path, entry.label);
    const QString demo = demoCheckpointPath();
    if (!demo.isEmpty()) addEntry(demo, checkpointLabel(demo));
    const int keep = combo_->findData(selected);
    combo_->setCurrentIndex(keep >= 0 ? keep : combo_->findData(defaultCheckpoint()));
  }
  combo_->setToolTip(path());
  if (path() != selected) Q_EMIT pathChanged(path());
}

void CheckpointPicker::browse() {
  const QString start = path().isEmpty() ? QString() : QFileInfo(path()).absolutePath();
  const QString chosen =
      QFileDialog::getOpenFileName(this, tr("Open checkpoint"), start, tr("Checkpoints (*.safetensors);;All files (*)"));
  if (!chosen.isEmpty()) setPath(chosen);
}

} // namespace t2i::ui
