// The Generate page's "Training neighbours" tab: the selected image beside its K nearest training
// images (captions and similarity or distance under each), which measure was used, and whether the
// nearest is closer than the run's memorisation threshold. Searching is a button, not automatic:
// the first search of a dataset builds its index (with progress and Cancel).
#pragma once

#include "sampling/neighbour_search.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QToolButton;

namespace t2i::ui {

class LabelledImageGrid;

class NeighbourPanel : public QWidget {
  Q_OBJECT
public:
  static constexpr int kDefaultCount = 5;

  explicit NeighbourPanel(QWidget* parent = nullptr);

  /// The image to search for and the checkpoint that made it; a change clears the last result.
  void setQuery(const QString& checkpoint, const QImage& image);
  /// No search is possible, and why (a cascade's image, nothing generated yet).
  void setUnavailable(const QString& reason);
  /// The prepared training data to search instead of the checkpoint's own; empty = its own.
  void setDataFolder(const QString& folder);
  QString dataFolder() const { return dataFolder_; }

  /// Starts a search with the controls' settings; false with the reason in statusText().
  bool find();
  void cancel() { search_->cancel(); }
  bool isSearching() const { return search_->isRunning(); }

  QString statusText() const;
  QString verdictText() const;
  LabelledImageGrid* grid() const { return grid_; }
  QSpinBox* countBox() const { return count_; }
  QComboBox* measureBox() const { return measure_; }
  NeighbourSearch* search() const { return search_; }

Q_SIGNALS:
  /// A search ended: `ok` when its neighbours are shown.
  void searched(bool ok);

private:
  QWidget* createControls();
  void chooseDataFolder();
  void showResult(const NeighbourResult& result);
  void setBusy(bool busy);
  void setStatus(const QString& text, bool error = false);
  void showDataFolder();

  NeighbourSearch* search_;
  QString checkpoint_;
  QImage image_;
  QString dataFolder_;
  bool ok_ = false;

  QSpinBox* count_;
  QComboBox* measure_;
  QPushButton* find_;
  QPushButton* cancel_;
  QToolButton* chooseData_;
  QLabel* dataLabel_;
  QProgressBar* progress_;
  QLabel* status_;
  LabelledImageGrid* grid_;
  QLabel* verdict_;
};

} // namespace t2i::ui
