#include "widgets/neighbour_panel.h"

#include "settings.h"
#include "widgets/labelled_image_grid.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace t2i::ui {
namespace {
constexpr int kMaxCount = 16;
constexpr int kMinimumGridHeight = 64;
} // namespace

NeighbourPanel::NeighbourPanel(QWidget* parent) : QWidget(parent), search_(new NeighbourSearch(this)) {
  grid_ = new LabelledImageGrid(this);
  grid_->setObjectName(QStringLiteral("neighbourGrid"));
  verdict_ = new QLabel(this);
  verdict_->setObjectName(QStringLiteral("neighbourVerdict"));
  verdict_->setWordWrap(true);

  // The grid takes the height the tab has, whatever it is, and scales its images to it: asking for
  // its full size would take the live views' height on a 720-pixel screen.
  grid_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
  grid_->setMinimumHeight(kMinimumGridHeight);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(createControls());
  layout->addWidget(grid_, 1);
  layout->addWidget(verdict_);

  connect(search_, &NeighbourSearch::status, this, [this](const QString& text) { setStatus(text); });
  connect(search_, &NeighbourSearch::progress, this, [this](const ProgressFrame& frame) {
    progress_->setRange(0, static_cast<int>(std::max<std::int64_t>(frame.total, 0)));
    progress_->setValue(static_cast<int>(frame.done));
    progress_->setFormat(frame.phase + QStringLiteral(": %v of %m"));
  });
  connect(search_, &NeighbourSearch::found, this, &NeighbourPanel::showResult);
  connect(search_, &NeighbourSearch::failed, this, [this](const QString& message) {
    setStatus(tr("Cannot find the nearest training images: %1").arg(message), true);
  });
  connect(search_, &NeighbourSearch::finished, this, [this](bool cancelled) {
    setBusy(false);
    if (cancelled) setStatus(tr("Cancelled; the index built so far is kept, and the next search goes on from it."));
    Q_EMIT searched(ok_ && !cancelled);
  });
  setUnavailable(tr("Generate an image, then find the training images nearest to it."));
}

QWidget* NeighbourPanel::createControls() {
  auto* controls = new QWidget(this);
  count_ = new QSpinBox(controls);
  count_->setObjectName(QStringLiteral("neighbourCount"));
  count_->setRange(1, kMaxCount);
  count_->setValue(kDefaultCount);
  count_->setPrefix(tr("K = "));
  count_->setToolTip(tr("How many of the nearest training images to show"));
  measure_ = new QComboBox(controls);
  measure_->setObjectName(QStringLiteral("neighbourMeasure"));
  measure_->addItem(tr("Pixels (ℓ2)"), false);
  measure_->addItem(tr("Inception (cosine)"), true);
  measure_->setToolTip(tr("Pixels need nothing and index a dataset in seconds; Inception features compare what the "
                          "images show (Somepalli et al. 2023) and need the FID Inception weights (Train page)"));
  find_ = new QPushButton(tr("Find nearest"), controls);
  find_->setToolTip(tr("Find the training images nearest to the selected result (the first search of a dataset "
                       "indexes it)"));
  find_->setObjectName(QStringLiteral("findNeighbours"));
  connect(find_, &QPushButton::clicked, this, [this] { find(); });
  cancel_ = new QPushButton(tr("Cancel"), controls);
  cancel_->setObjectName(QStringLiteral("cancelNeighbours"));
  connect(cancel_, &QPushButton::clicked, this, &NeighbourPanel::cancel);
  chooseData_ = new QToolButton(controls);
  chooseData_->setText(tr("Training data…"));
  chooseData_->setToolTip(tr("Search another prepared dataset than the one the checkpoint was trained on"));
  connect(chooseData_, &QToolButton::clicked, this, &NeighbourPanel::chooseDataFolder);
  dataLabel_ = new QLabel(controls);
  dataLabel_->setObjectName(QStringLiteral("neighbourData"));
  progress_ = new QProgressBar(controls);
  progress_->setObjectName(QStringLiteral("neighbourProgress"));
  status_ = new QLabel(controls);
  status_->setObjectName(QStringLiteral("neighbourStatus"));
  status_->setWordWrap(true);

  auto* row = new QHBoxLayout;
  row->addWidget(count_);
  row->addWidget(measure_);
  row->addWidget(find_);
  row->addWidget(cancel_);
  row->addWidget(chooseData_);
  row->addWidget(dataLabel_, 1);
  auto* layout = new QVBoxLayout(controls);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(row);
  layout->addWidget(progress_);
  layout->addWidget(status_);
  setBusy(false);
  showDataFolder();
  return controls;
}

void NeighbourPanel::setQuery(const QString& checkpoint, const QImage& image) {
  if (checkpoint == checkpoint_ && image == image_) return;
  checkpoint_ = checkpoint;
  image_ = image;
  ok_ = false;
  grid_->setLabels({}, {}, {});
  verdict_->clear();
  find_->setEnabled(!isSearching() && !image_.isNull() && !checkpoint_.isEmpty());
  setStatus(tr("Find the training images nearest to the selected image."));
}

void NeighbourPanel::setUnavailable(const QString& reason) {
  checkpoint_.clear();
  image_ = QImage();
  ok_ = false;
  grid_->setLabels({}, {}, {});
  verdict_->clear();
  find_->setEnabled(false);
  setStatus(reason);
}

void NeighbourPanel::setDataFolder(const QString& folder) {
  dataFolder_ = folder;
  showDataFolder();
}

bool NeighbourPanel::find() {
  if (isSearching()) return false;
  if (image_.isNull() || checkpoint_.isEmpty()) {
    setStatus(tr("Nothing to search for yet: generate an image first."), true);
    return false;
  }
  const bool inception = measure_->currentData().toBool();
  NeighbourQuery query;
  query.checkpoint = checkpoint_;
  query.dataFolder = dataFolder_;
  query.demoCacheRoot = settings::cacheRoot();
  query.inceptionWeights = inception ? settings::inceptionWeights.value() : QString();
  if (inception && query.inceptionWeights.isEmpty()) {
    setStatus(tr("No FID Inception weights are set: choose them on the Train page, or compare by pixels."), true);
    return false;
  }
  query.image = image_;
  query.k = count_->value();
  ok_ = false;
  if (!search_->find(query)) return false;
  setBusy(true);
  return true;
}

void NeighbourPanel::chooseDataFolder() {
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Prepared training data"),
                                                           dataFolder_.isEmpty() ? settings::cacheRoot() : dataFolder_);
  if (!folder.isEmpty()) setDataFolder(folder);
}

void NeighbourPanel::showResult(const NeighbourResult& result) {
  QStringList columns{tr("this image")};
  for (const NeighbourMatch& match : result.matches) columns << neighbourLabel(match);
  grid_->setLabels({}, columns, {QString()});
  grid_->setImage(0, 0, result.query);
  for (int i = 0; i < result.matches.size(); ++i) grid_->setImage(0, i + 1, result.matches.at(i).image);
  verdict_->setText(memorisationVerdict(result));
  verdict_->setStyleSheet(looksMemorised(result) ? QStringLiteral("color: #b00020;") : QString());
  ok_ = true;
  // The folder's last two names: a whole path does not wrap in the narrow column (it is the tooltip).
  const QFileInfo folder(result.dataFolder);
  setStatus(tr("Nearest training images by %1, in %2.")
                .arg(describeMeasure(result), folder.dir().dirName() + QLatin1Char('/') + folder.fileName()));
  status_->setToolTip(QDir::toNativeSeparators(result.dataFolder));
}

void NeighbourPanel::setBusy(bool busy) {
  find_->setEnabled(!busy && !image_.isNull() && !checkpoint_.isEmpty());
  cancel_->setEnabled(busy);
  chooseData_->setEnabled(!busy);
  progress_->setVisible(busy);
  if (busy) {
    progress_->setRange(0, 0);
    progress_->setFormat(QString());
  }
}

void NeighbourPanel::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
}

void NeighbourPanel::showDataFolder() {
  dataLabel_->setText(dataFolder_.isEmpty() ? tr("the checkpoint's data")
                                            : QFileInfo(dataFolder_).fileName());
  dataLabel_->setToolTip(dataFolder_.isEmpty() ? tr("The prepared data of the checkpoint's run (the built-in demo "
                                                    "dataset is written again when its run no longer holds it)")
                                               : QDir::toNativeSeparators(dataFolder_));
}

QString NeighbourPanel::statusText() const { return status_->text(); }

QString NeighbourPanel::verdictText() const { return verdict_->text(); }

} // namespace t2i::ui
