// The status bar's permanent fields: compute device, CPU threads and memory in use, refreshed
// on a timer so the user sees memory grow while a job runs.
#pragma once

#include <QWidget>

class QLabel;
class QTimer;

namespace t2i::ui {

class StatusPanel : public QWidget {
  Q_OBJECT
public:
  explicit StatusPanel(QWidget* parent = nullptr);

  QString deviceText() const;
  QString threadsText() const;
  QString memoryText() const;

public Q_SLOTS:
  void refresh();

private:
  QLabel* device_;
  QLabel* threads_;
  QLabel* memory_;
  QTimer* timer_;
};

} // namespace t2i::ui
