// Chooses a checkpoint to sample from: the training runs' checkpoints (newest first), the demo
// model and files the user browsed to, in a combo box with a "…" button.
#pragma once

#include <QWidget>

class QComboBox;
class QToolButton;

namespace t2i::ui {

class CheckpointPicker : public QWidget {
  Q_OBJECT
public:
  explicit CheckpointPicker(QWidget* parent = nullptr);

  QString path() const;
  /// Selects `path`, adding it to the list when it is not there yet.
  void setPath(const QString& path);
  /// Re-reads the runs folder, keeping the selection.
  void refresh();

Q_SIGNALS:
  void pathChanged(const QString& path);

private:
  void browse();
  int addEntry(const QString& path, const QString& label);

  QComboBox* combo_;
  QToolButton* browse_;
};

} // namespace t2i::ui
