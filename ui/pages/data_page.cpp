#include "pages/data_page.h"

#include "data/data_form.h"
#include "data/dataset_job.h"
#include "data/thumbnail_model.h"
#include "getting_started.h"
#include "pages/page_intro.h"
#include "pages/tab_order.h"
#include "settings.h"

#include "t2i/log.h"
#include "t2i/model.h"

#include <algorithm>
#include <climits>

#include <QButtonGroup>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace t2i::ui {
namespace {

constexpr int kMaxSkippedListed = 200;
constexpr int kReportMinimumHeight = 120;
constexpr int kSettingsMinimumWidth = 380;  ///< room for the paths beside their Browse buttons
constexpr int kDefaultImageSize = 64;
/// Quiet time after the last change of the dataset choice before caches built earlier are shown
/// again: typing "4000" into a spin box passes through 4, 40 and 400.
constexpr int kReloadDelayMs = 400;

QString count(std::size_t n) { return QLocale().toString(static_cast<qulonglong>(n)); }

QTreeWidgetItem* addRow(QTreeWidgetItem* parent, const QString& name, const QString& value, const QString& tip = {}) {
  auto* item = new QTreeWidgetItem(parent, {name, value});
  item->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
  if (!tip.isEmpty()) {
    item->setToolTip(0, tip);
    item->setToolTip(1, tip);
  }
  return item;
}

/// A path field with its Browse button.
QHBoxLayout* fieldWithButton(QLineEdit* field, QPushButton* browse) {
  auto* row = new QHBoxLayout;
  row->addWidget(field, 1);
  row->addWidget(browse);
  return row;
}

} // namespace

DataPage::DataPage(QWidget* parent)
    : JobPage(parent), demo_(new QRadioButton(tr("Built-in demo dataset"), this)),
      coco_(new QRadioButton(tr("COCO captions file and images folder"), this)), demoImages_(new QSpinBox(this)),
      annotations_(new QLineEdit(this)), images_(new QLineEdit(this)),
      browseAnnotations_(new QPushButton(tr("Browse…"), this)), browseImages_(new QPushButton(tr("Browse…"), this)),
      maxImages_(new QSpinBox(this)), preset_(new QComboBox(this)), inspect_(new QPushButton(tr("&Inspect"), this)),
      build_(new QPushButton(tr("&Build caches"), this)), cancel_(new QPushButton(tr("Cancel"), this)),
      progress_(new QProgressBar(this)), status_(new QLabel(this)), reportView_(new QTreeWidget(this)),
      grid_(new QListView(this)), gridNote_(new QLabel(this)), thumbnails_(new ThumbnailModel(this)),
      job_(new DatasetJob(this)), reload_(new QTimer(this)) {
  nameWidgets();
  reload_->setSingleShot(true);
  reload_->setInterval(kReloadDelayMs);
  auto* splitter = new QSplitter(this);
  splitter->addWidget(createSettingsColumn());
  splitter->addWidget(createThumbnails());
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new PageIntro(tr("Data"),
                                  tr("Choose the images and captions to train on. The paper uses 20,000 COCO images "
                                     "split by image 75/15/10 and resized to 64×64; the demo dataset trains in "
                                     "minutes on a laptop."),
                                  this));
  if (settings::lastRun.value().isEmpty()) {
    auto* hint = new QLabel(firstRunHint(), this);
    hint->setObjectName(QStringLiteral("firstRunHint"));
    hint->setWordWrap(true);
    layout->addWidget(hint);
  }
  layout->addWidget(splitter, 1);

  setTabChain({demo_, demoImages_, coco_, annotations_, browseAnnotations_, images_, browseImages_, maxImages_,
               preset_, inspect_, build_, cancel_, reportView_, grid_});
  restoreSettings();
  connectControls();
  connectJob();
  gridNote_->setText(tr("Build the caches to browse the usable images with their captions."));
  updateEnabled();
  reload_->start();
}

void DataPage::nameWidgets() {
  demo_->setObjectName(QStringLiteral("dataDemo"));
  coco_->setObjectName(QStringLiteral("dataCoco"));
  demoImages_->setObjectName(QStringLiteral("demoImages"));
  annotations_->setObjectName(QStringLiteral("annotations"));
  images_->setObjectName(QStringLiteral("imagesFolder"));
  maxImages_->setObjectName(QStringLiteral("maxImages"));
  preset_->setObjectName(QStringLiteral("dataPreset"));
  inspect_->setObjectName(QStringLiteral("inspect"));
  build_->setObjectName(QStringLiteral("buildCaches"));
  cancel_->setObjectName(QStringLiteral("cancelData"));
  progress_->setObjectName(QStringLiteral("dataProgress"));
  status_->setObjectName(QStringLiteral("dataStatus"));
  reportView_->setObjectName(QStringLiteral("datasetReport"));
  grid_->setObjectName(QStringLiteral("thumbnails"));
}

QWidget* DataPage::createSourceGroup() {
  auto* sourceGroup = new QButtonGroup(this);
  sourceGroup->addButton(demo_);
  sourceGroup->addButton(coco_);
  demo_->setToolTip(tr("Procedurally drawn scenes of one or two coloured shapes, each with several captions "
                       "(\"a small red circle above a blue square\"). Generated in seconds; the quickest way to "
                       "see a model learn."));
  coco_->setToolTip(tr("The official COCO captions JSON (2014 or 2017), or a captions file of your own, "
                       "with the folder its file names are relative to."));
  demoImages_->setRange(16, 100000);
  demoImages_->setSingleStep(500);
  demoImages_->setValue(4000);
  demoImages_->setToolTip(tr("How many demo scenes to draw."));
  annotations_->setPlaceholderText(tr("captions_train2014.json"));
  annotations_->setToolTip(tr("The captions file, by its extension:\n%1").arg(captionFormatsText()));
  images_->setPlaceholderText(tr("train2014/"));
  images_->setToolTip(tr("The folder the captions file's image file names are relative to."));
  browseAnnotations_->setAccessibleName(tr("Browse for the captions file"));
  browseImages_->setAccessibleName(tr("Browse for the images folder"));
  maxImages_->setRange(10, 10'000'000);
  maxImages_->setSingleStep(1000);
  maxImages_->setToolTip(tr("N: images chosen (with a fixed seed) before the split by image into 75% training, "
                            "15% validation and 10% test. The paper uses 20,000 COCO images (§6)."));
  preset_->setToolTip(tr("The preset the caches are built for: it fixes the image size (64×64 for the paper's "
                         "presets, 32×32 for demo) and the text length."));

  auto* source = new QGroupBox(tr("Dataset"), this);
  auto* fields = new QFormLayout(source);
  fields->addRow(demo_);
  fields->addRow(tr("Demo scenes:"), demoImages_);
  fields->addRow(coco_);
  fields->addRow(tr("Captions file:"), fieldWithButton(annotations_, browseAnnotations_));
  fields->addRow(tr("Images folder:"), fieldWithButton(images_, browseImages_));
  fields->addRow(tr("Images to use (N):"), maxImages_);
  fields->addRow(tr("Prepare for preset:"), preset_);
  return source;
}

QLayout* DataPage::createActions() {
  inspect_->setToolTip(tr("Read the captions file and decode every captioned image once to see what is usable "
                          "(nothing is written)."));
  build_->setToolTip(tr("Decode, resize and centre-crop the chosen images into a memory-mapped cache, split them "
                        "by image and, with a T5 encoder, encode every caption once. Training reads only these."));
  cancel_->setToolTip(tr("Stop after the current batch; building again resumes where it stopped."));
  progress_->setTextVisible(true);
  progress_->setRange(0, 1);
  progress_->setValue(0);
  status_->setWordWrap(true);
  status_->setTextFormat(Qt::PlainText);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(inspect_);
  buttons->addWidget(build_);
  buttons->addWidget(cancel_);
  buttons->addStretch(1);
  return buttons;
}

void DataPage::setUpReportView() {
  reportView_->setColumnCount(2);
  reportView_->setHeaderLabels({tr("Dataset report"), tr("Value")});
  reportView_->setRootIsDecorated(true);
  reportView_->setUniformRowHeights(true);
  // A skipped file's name is at the end of its path: cut the folder, not the name.
  reportView_->setTextElideMode(Qt::ElideMiddle);
  reportView_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  reportView_->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
  reportView_->header()->setStretchLastSection(false);
  reportView_->setAccessibleName(tr("Dataset report"));
  reportView_->setMinimumHeight(kReportMinimumHeight);
}

QWidget* DataPage::createSettingsColumn() {
  setUpReportView();
  auto* left = new QWidget(this);
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(createSourceGroup());
  leftLayout->addLayout(createActions());
  leftLayout->addWidget(progress_);
  leftLayout->addWidget(status_);
  leftLayout->addWidget(reportView_, 1);
  // On a short screen the column scrolls instead of squeezing the report.
  auto* scroll = new QScrollArea(this);
  scroll->setObjectName(QStringLiteral("dataSettings"));
  scroll->setWidget(left);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  left->setMinimumWidth(kSettingsMinimumWidth);
  scroll->setMinimumWidth(kSettingsMinimumWidth + scroll->verticalScrollBar()->sizeHint().width());
  return scroll;
}

QWidget* DataPage::createThumbnails() {
  grid_->setModel(thumbnails_);
  grid_->setViewMode(QListView::IconMode);
  grid_->setResizeMode(QListView::Adjust);
  grid_->setMovement(QListView::Static);
  grid_->setUniformItemSizes(true);  // so the view asks only visible rows for their thumbnails
  grid_->setIconSize(QSize(ThumbnailModel::kThumbnailSide, ThumbnailModel::kThumbnailSide));
  grid_->setGridSize(QSize(ThumbnailModel::kThumbnailSide + 48, ThumbnailModel::kThumbnailSide + 44));
  grid_->setWordWrap(true);
  grid_->setTextElideMode(Qt::ElideRight);
  grid_->setSpacing(4);
  grid_->setAccessibleName(tr("Dataset images"));
  gridNote_->setObjectName(QStringLiteral("thumbnailNote"));
  gridNote_->setWordWrap(true);

  auto* right = new QWidget(this);
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  rightLayout->addWidget(gridNote_);
  rightLayout->addWidget(grid_, 1);
  return right;
}

void DataPage::restoreSettings() {
  const QSignalBlocker blockDemo(demo_), blockCoco(coco_);
  (settings::dataDemo.value() ? demo_ : coco_)->setChecked(true);
  annotations_->setText(settings::dataAnnotations.value());
  images_->setText(settings::dataImages.value());
  maxImages_->setValue(settings::dataMaxImages.value());
  for (const std::string& name : model::list_presets()) preset_->addItem(QString::fromStdString(name));
  const int saved = preset_->findText(settings::preset.value());
  preset_->setCurrentIndex(saved >= 0 ? saved : preset_->findText(QStringLiteral("demo")));
}

void DataPage::connectControls() {
  connect(browseAnnotations_, &QPushButton::clicked, this, &DataPage::browseAnnotations);
  connect(browseImages_, &QPushButton::clicked, this, &DataPage::browseImages);
  connect(inspect_, &QPushButton::clicked, this, &DataPage::inspect);
  connect(build_, &QPushButton::clicked, this, &DataPage::buildCaches);
  connect(cancel_, &QPushButton::clicked, this, &DataPage::cancel);
  connect(demo_, &QRadioButton::toggled, this, &DataPage::sourceChanged);
  connect(annotations_, &QLineEdit::editingFinished, this, &DataPage::sourceChanged);
  connect(images_, &QLineEdit::editingFinished, this, &DataPage::sourceChanged);
  // Inspect and Build follow what is typed, not only a field losing focus.
  connect(annotations_, &QLineEdit::textChanged, this, &DataPage::updateEnabled);
  connect(images_, &QLineEdit::textChanged, this, &DataPage::updateEnabled);
  connect(demoImages_, &QSpinBox::valueChanged, this, &DataPage::sourceChanged);
  connect(maxImages_, &QSpinBox::valueChanged, this, &DataPage::sourceChanged);
  connect(preset_, &QComboBox::currentTextChanged, this, [this](const QString& name) {
    Q_EMIT presetNameChanged(name);
    sourceChanged();
  });
  connect(reload_, &QTimer::timeout, this, &DataPage::showBuiltCaches);
}

void DataPage::connectJob() {
  connect(job_, &DatasetJob::progress, this, &DataPage::showProgress);
  connect(job_, &DatasetJob::status, status_, &QLabel::setText);
  connect(job_, &DatasetJob::inspected, this, &DataPage::showInspection);
  connect(job_, &DatasetJob::prepared, this, &DataPage::showPrepared);
  connect(job_, &DatasetJob::failed, this, [this](const QString& message) {
    status_->setText(tr("Failed: %1").arg(message));
  });
  connect(job_, &DatasetJob::finished, this, &DataPage::jobEnded);
}

void DataPage::showPrepared(const train::PreparedData& prepared) {
  showReport(prepared.report);
  thumbnails_->setItems(prepared.items);
  gridNote_->setText(tr("%1 usable images of the prepared subset, cached in %2. Hover an image for all its "
                        "captions.")
                         .arg(count(prepared.items.size()), QDir::toNativeSeparators(QString::fromStdString(prepared.cache_dir))));
  if (prepared.cancelled) return;
  // The job's last status named its last phase ("Writing the built-in demo dataset"); say what is ready.
  status_->setText(tr("Ready: %1 images (train %2, val %3, test %4).%5")
                       .arg(count(prepared.items.size()), count(prepared.report.split_train),
                            count(prepared.report.split_val), count(prepared.report.split_test),
                            prepared.text_cache.empty() ? QString() : tr(" T5 embeddings cached.")));
  Q_EMIT cachesReady();
}

bool DataPage::isDemo() const { return demo_->isChecked(); }

QString DataPage::presetName() const { return preset_->currentText(); }

void DataPage::setPresetName(const QString& name) {
  if (name == presetName()) return;
  const int index = preset_->findText(name);
  if (index >= 0) preset_->setCurrentIndex(index);
}

int DataPage::presetImageSize() const {
  try {
    return model::find_preset(presetName().toStdString()).unet.image_size;
  } catch (const std::exception&) {
    return kDefaultImageSize;
  }
}

DataForm DataPage::form() const {
  DataForm form;
  form.demo = isDemo();
  form.demoImages = demoImages_->value();
  form.annotations = annotations_->text();
  form.imagesFolder = images_->text();
  form.maxImages = maxImages_->value();
  return form;
}

train::DataSpec DataPage::dataSpec(int imageSize) const {
  const train::DataSpec spec = t2i::ui::dataSpec(form(), imageSize, settings::cacheRoot());
  if (!spec.cache_dir.empty()) train::adopt_cache_of_version_010(settings::cacheRoot().toStdString(), spec, imageSize);
  return spec;
}

QString DataPage::datasetDescription() const { return describe(form()); }

train::TrainOptions DataPage::prepareOptions() const {
  train::TrainOptions options;
  options.preset = presetName().toStdString();
  options.data = dataSpec(presetImageSize());
  options.t5_dir = settings::t5Folder.value().toStdString();
  options.device = settings::device.value().toStdString();
  return options;
}

bool DataPage::hasRunningJob() const { return job_->isRunning(); }

QString DataPage::runningJobDescription() const { return tr("Preparing the dataset"); }

void DataPage::stopJobs() { cancel(); }

void DataPage::inspect() {
  if (isDemo()) {
    // The demo dataset is drawn by preparing it; its report comes with the caches.
    buildCaches();
    return;
  }
  data::SplitOptions split;
  split.max_images = static_cast<std::size_t>(maxImages_->value());
  if (job_->inspect({annotations_->text().toStdString(), images_->text().toStdString()}, split)) {
    status_->setText(tr("Inspecting %1…").arg(annotations_->text()));
    updateEnabled();
  }
}

void DataPage::buildCaches() {
  saveSettings();
  // The build shows the caches it built: a reopen still pending from the last change of source
  // would only open them again afterwards, and hold the job slot a next build needs.
  reload_->stop();
  if (job_->prepare(prepareOptions())) {
    status_->setText(tr("Preparing %1 for the %2 preset…").arg(datasetDescription(), presetName()));
    updateEnabled();
  }
}

void DataPage::cancel() {
  if (!job_->isRunning()) return;
  job_->cancel();
  status_->setText(tr("Cancelling after the current batch…"));
  cancel_->setEnabled(false);
}

void DataPage::browseAnnotations() {
  const QString chosen = QFileDialog::getOpenFileName(this, tr("Captions file"), annotations_->text(),
                                                      captionFileFilter());
  if (chosen.isEmpty()) return;
  annotations_->setText(chosen);
  if (images_->text().isEmpty()) {
    // COCO keeps annotations/ beside the image folders; start the next dialog there.
    images_->setText(QFileInfo(chosen).absolutePath());
  }
  coco_->setChecked(true);
  sourceChanged();
}

void DataPage::browseImages() {
  const QString chosen = QFileDialog::getExistingDirectory(this, tr("Images folder"), images_->text());
  if (chosen.isEmpty()) return;
  images_->setText(chosen);
  coco_->setChecked(true);
  sourceChanged();
}

void DataPage::sourceChanged() {
  saveSettings();
  report_.reset();
  reportView_->clear();
  thumbnails_->clear();
  gridNote_->setText(tr("Build the caches to browse the usable images with their captions."));
  progress_->setRange(0, 1);
  progress_->setValue(0);
  status_->clear();
  updateEnabled();
  reload_->start();
  Q_EMIT datasetChanged();
}

void DataPage::showBuiltCaches() {
  if (job_->isRunning()) return;
  const train::TrainOptions options = prepareOptions();
  if (options.data.cache_dir.empty() || !train::caches_built(options.data.cache_dir)) return;
  // Reading a finished cache takes about a second and brings back its report and gallery.
  if (job_->prepare(options)) {
    status_->setText(tr("Opening the caches built earlier for %1…").arg(datasetDescription()));
    updateEnabled();
  }
}

void DataPage::showInspection(const data::DatasetReport& report) {
  showReport(report);
  const auto listed = static_cast<int>(std::min<std::size_t>(report.images_listed, INT_MAX));
  if (report.cancelled || listed >= maxImages_->value() || listed < maxImages_->minimum()) return;
  // N names the cache; more than the captions file lists would only name a cache after images
  // that do not exist.
  {
    const QSignalBlocker quiet(maxImages_);
    maxImages_->setValue(listed);
  }
  saveSettings();
  status_->setText(tr("Images to use (N) set to %1, the images the captions file lists.").arg(count(report.images_listed)));
  Q_EMIT datasetChanged();
}

void DataPage::saveSettings() const {
  settings::dataDemo.setValue(isDemo());
  settings::dataAnnotations.setValue(annotations_->text());
  settings::dataImages.setValue(images_->text());
  settings::dataMaxImages.setValue(maxImages_->value());
}

void DataPage::updateEnabled() {
  const bool running = job_->isRunning();
  const bool demo = isDemo();
  const bool complete = isComplete(form());
  for (QWidget* w : std::initializer_list<QWidget*>{demo_, coco_, preset_}) w->setEnabled(!running);
  demoImages_->setEnabled(!running && demo);
  for (QWidget* w : std::initializer_list<QWidget*>{annotations_, images_, browseAnnotations_, browseImages_, maxImages_})
    w->setEnabled(!running && !demo);
  inspect_->setEnabled(!running && !demo && complete);
  inspect_->setVisible(!demo);
  build_->setEnabled(!running && complete);
  cancel_->setEnabled(running);
}

void DataPage::showProgress(const ProgressFrame& frame) {
  if (frame.total > 0) {
    // QProgressBar counts in int; scale very large totals down.
    const double scale = frame.total > 1'000'000 ? 1'000'000.0 / static_cast<double>(frame.total) : 1.0;
    progress_->setRange(0, static_cast<int>(static_cast<double>(frame.total) * scale));
    progress_->setValue(static_cast<int>(static_cast<double>(frame.done) * scale));
    progress_->setFormat(tr("%1: %2 of %3").arg(frame.phase, count(static_cast<std::size_t>(frame.done)),
                                                count(static_cast<std::size_t>(frame.total))));
  } else {
    progress_->setRange(0, 0);  // busy indicator
    progress_->setFormat(frame.phase);
  }
}

void DataPage::jobEnded(bool cancelled) {
  progress_->setRange(0, 1);
  progress_->setValue(cancelled ? 0 : 1);
  progress_->setFormat(cancelled ? tr("Cancelled") : tr("Done"));
  if (cancelled) status_->setText(tr("Cancelled. Building again resumes where it stopped."));
  else if (status_->text().endsWith(QStringLiteral("…"))) status_->setText(tr("Done."));
  updateEnabled();
  Q_EMIT jobsIdle();
}

void DataPage::showReport(const data::DatasetReport& r) {
  report_ = r;
  reportView_->clear();
  auto* images = new QTreeWidgetItem(reportView_, {tr("Images")});
  addRow(images, tr("Listed in the captions file"), count(r.images_listed));
  addRow(images, tr("Checked (decoded once)"), count(r.images_checked),
         tr("Inspect checks every captioned image; building the caches checks the chosen subset of N."));
  addRow(images, tr("Found"), count(r.images_found));
  addRow(images, tr("Usable"), count(r.images_usable));

  auto* skipped = new QTreeWidgetItem(reportView_, {tr("Skipped"), count(r.skipped.total())});
  skipped->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
  addRow(skipped, tr("Missing or unreadable"), count(r.skipped.missing));
  addRow(skipped, tr("Empty (0 bytes)"), count(r.skipped.empty));
  addRow(skipped, tr("Not an image"), count(r.skipped.not_an_image));
  addRow(skipped, tr("Corrupt or truncated"), count(r.skipped.corrupt));
  addRow(skipped, tr("Without a caption"), count(r.skipped.no_caption));
  if (!r.skipped_files.empty()) {
    auto* files = addRow(skipped, tr("Files"), count(r.skipped_files.size()));
    int listed = 0;
    for (const data::SkippedImage& file : r.skipped_files) {
      if (++listed > kMaxSkippedListed) {
        addRow(files, tr("… and %1 more (see the log)").arg(count(r.skipped_files.size() - kMaxSkippedListed)), {});
        break;
      }
      const QString path = QString::fromStdString(file.file);
      addRow(files, path, QString::fromStdString(file.reason), path);
    }
  }

  auto* captions = new QTreeWidgetItem(reportView_, {tr("Captions")});
  addRow(captions, tr("Listed"), count(r.captions_listed));
  addRow(captions, tr("Of usable images"), count(r.captions_usable));
  addRow(captions, tr("Per image (min / mean / max)"),
         QStringLiteral("%1 / %2 / %3")
             .arg(count(r.captions_per_image_min), QLocale().toString(r.captions_per_image_mean, 'f', 2),
                  count(r.captions_per_image_max)));
  const QString unit = r.token_unit.empty() ? tr("tokens") : QString::fromStdString(r.token_unit);
  addRow(captions, tr("Length in %1 (min / median / max)").arg(unit),
         QStringLiteral("%1 / %2 / %3")
             .arg(r.caption_tokens_min)
             .arg(QLocale().toString(r.caption_tokens_median, 'g', 4))
             .arg(r.caption_tokens_max));

  auto* split = new QTreeWidgetItem(
      reportView_, {tr("Split by image (N = %1, seed %2)").arg(count(r.split.max_images)).arg(r.split.seed)});
  split->setToolTip(0, tr("No image's captions appear in two splits, so validation measures generalisation."));
  addRow(split, tr("Training (%1%)").arg(qRound(r.split.train * 100)), count(r.split_train));
  addRow(split, tr("Validation (%1%)").arg(qRound(r.split.val * 100)), count(r.split_val));
  addRow(split, tr("Test (%1%)").arg(qRound(r.split.test * 100)), count(r.split_test));

  reportView_->expandToDepth(0);
  if (r.cancelled) status_->setText(tr("Stopped early: the report covers only the images checked so far."));
}

} // namespace t2i::ui
