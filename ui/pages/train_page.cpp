#include "pages/train_page.h"

#include "jobs/job_runner.h"
#include "pages/data_page.h"
#include "pages/page_intro.h"
#include "pages/tab_order.h"
#include "plots/loss_by_noise_view.h"
#include "training/probe_gallery_view.h"
#include "plots/metric_plot.h"
#include "plots/training_curves.h"
#include "settings.h"
#include "training/preset_editor.h"
#include "training/train_form.h"
#include "training/training_session.h"
#include "widgets/enlarged_image.h"

#include "t2i/model.h"
#include "t2i/runtime.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QPlainTextEdit>
#include <QComboBox>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QScrollBar>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <memory>

namespace t2i::ui {
namespace {

/// The label of a form row whose field is a layout (field + Browse button): addRow gives such a
/// row no buddy, so its mnemonic would show as a literal '&'.
QLabel* buddyLabel(const QString& text, QWidget* buddy) {
  auto* label = new QLabel(text, buddy->parentWidget());
  label->setBuddy(buddy);
  return label;
}

constexpr int kEstimateDelayMilliseconds = 400;
constexpr int kPreviewSide = 256;
const QString kPresetFileName = QStringLiteral("preset.json");

QString gib(std::uint64_t bytes) {
  return QLocale().toString(static_cast<double>(bytes) / static_cast<double>(1ull << 30), 'f', 2);
}

QString duration(double seconds) {
  if (seconds < 0) return QStringLiteral("–");
  const auto s = static_cast<qint64>(seconds + 0.5);
  if (s < 60) return QObject::tr("%1 s").arg(s);
  if (s < 3600) return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
  return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString number(double value) { return QLocale().toString(value, 'g', 4); }

QString steps(std::int64_t n) { return QLocale().toString(static_cast<qlonglong>(n)); }

/// " · per process 6.1, 6.0" for a run of several processes (rank order): a slow or oversubscribed
/// one shows; nothing for one process.
QString perProcessText(const std::vector<double>& images_per_second) {
  if (images_per_second.empty()) return {};
  QStringList rates;
  for (const double rate : images_per_second) rates << QLocale().toString(rate, 'f', 1);
  return QCoreApplication::translate("t2i::ui::TrainPage", " · per process %1").arg(rates.join(QStringLiteral(", ")));
}

/// Enlarges small grids by a whole factor without smoothing (32×32 samples stay sharp) and
/// shrinks large ones smoothly, to fit a square of `side` pixels.
QPixmap fitPreview(const QImage& image, int side) {
  if (image.isNull()) return {};
  const int longest = std::max(image.width(), image.height());
  if (longest <= side) {
    const int factor = std::max(1, side / longest);
    return QPixmap::fromImage(image.scaled(image.size() * factor, Qt::KeepAspectRatio, Qt::FastTransformation));
  }
  return QPixmap::fromImage(image.scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation));
}

/// A path field with its Browse button.
QHBoxLayout* fieldWithButton(QLineEdit* field, QPushButton* browse) {
  auto* row = new QHBoxLayout;
  row->addWidget(field, 1);
  row->addWidget(browse);
  return row;
}

QHBoxLayout* buttonRow(std::initializer_list<QPushButton*> buttons) {
  auto* row = new QHBoxLayout;
  for (QPushButton* button : buttons) row->addWidget(button);
  return row;
}

QLabel* valueLabel(const char* name, QWidget* parent) {
  auto* label = new QLabel(parent);
  label->setObjectName(QString::fromLatin1(name));
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  label->setTextFormat(Qt::PlainText);
  return label;
}

/// Keeps room for `lines` lines of text even while the label is empty or shorter, so the run's
/// facts keep one height as they change and the charts below them do not jump.
void reserveLines(QLabel* label, int lines) {
  const QMargins margins = label->contentsMargins();
  label->setMinimumHeight(label->fontMetrics().lineSpacing() * lines + margins.top() + margins.bottom() + 2 * label->margin());
}

} // namespace

TrainPage::TrainPage(QWidget* parent)
    : JobPage(parent), session_(new TrainingSession(this)), estimator_(new JobRunner(this)),
      historyReader_(new JobRunner(this)), comparisonReader_(new JobRunner(this)), estimateDelay_(new QTimer(this)) {
  auto* splitter = new QSplitter(this);
  splitter->addWidget(createSettingsColumn());
  splitter->addWidget(createRunView());
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new PageIntro(tr("Train"),
                                  tr("Train with the P2-weighted loss and watch it learn: training loss, validation "
                                     "P2 loss and FID against the step, with a sample grid at every evaluation."),
                                  this));
  layout->addWidget(splitter, 1);

  // Shortcuts act while this page is shown (a hidden widget's shortcuts do not fire).
  auto* startKey = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this, this, &TrainPage::start);
  auto* startKeyPad = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Enter), this, this, &TrainPage::start);
  auto* stopKey = new QShortcut(QKeySequence(Qt::Key_Escape), this, this, &TrainPage::stop);
  auto* stopKeyDot = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period), this, this, &TrainPage::stop);
  for (QShortcut* key : {startKey, startKeyPad, stopKey, stopKeyDot}) key->setContext(Qt::WindowShortcut);

  estimateDelay_->setSingleShot(true);
  estimateDelay_->setInterval(kEstimateDelayMilliseconds);
  connect(estimateDelay_, &QTimer::timeout, this, &TrainPage::runEstimate);

  connect(session_, &TrainingSession::steps, this, &TrainPage::onSteps);
  connect(session_, &TrainingSession::evaluated, this, &TrainPage::onEval);
  connect(session_, &TrainingSession::previewed, this, &TrainPage::onPreview);
  connect(session_, &TrainingSession::checkpointSaved, this, &TrainPage::onCheckpoint);
  connect(session_, &TrainingSession::progress, this, &TrainPage::onProgress);
  connect(session_, &TrainingSession::status, statusLabel_, &QLabel::setText);
  connect(session_, &TrainingSession::ended, this, &TrainPage::onEnded);
  connect(session_, &TrainingSession::failed, this, &TrainPage::onFailed);

  // Saved choices, then the preset (which schedules the first estimate).
  {
    const QSignalBlocker block(preset_);
    for (const std::string& name : model::list_presets()) preset_->addItem(QString::fromStdString(name));
    const int saved = preset_->findText(settings::preset.value());
    const int fallback = preset_->findText(QStringLiteral("demo"));
    preset_->setCurrentIndex(saved >= 0 ? saved : std::max(fallback, 0));
  }
  if (preset_->count() == 0)
    statusLabel_->setText(tr("No presets found: install them or set T2I_PRESETS_DIR to a folder of preset files."));
  else
    loadPreset(preset_->currentText());
  updateFidHint();
  updateEnabled();
}

TrainPage::~TrainPage() = default;

QWidget* TrainPage::createSettingsColumn() {
  auto* column = new QWidget;
  auto* layout = new QVBoxLayout(column);
  layout->addWidget(createRunGroup(column));
  layout->addWidget(createModelGroup(column));
  layout->addWidget(createComputeGroup(column));
  layout->addStretch(1);
  restoreSettings();
  connectSettings();

  QList<QWidget*> chain{runsFolder_, browseRuns_, maxSteps_, keepProbes_, probePrompts_, start_, pause_, stop_, openRun_, continueRun_,
                        compareRun_, clearComparison_, preset_, revertPreset_};
  chain << editor_->editors();
  chain << QList<QWidget*>{device_, threads_, processes_, checkpointing_, learnedText_, t5Text_, t5Folder_, browseT5_,
                           inception_, browseInception_, selection_};
  setTabChain(chain);

  auto* scroll = new QScrollArea(this);
  scroll->setObjectName(QStringLiteral("trainSettings"));
  scroll->setWidget(column);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(column->sizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
  return scroll;
}

QWidget* TrainPage::createModelGroup(QWidget* column) {
  auto* model = new QGroupBox(tr("Model"), column);
  auto* modelLayout = new QVBoxLayout(model);
  preset_ = new QComboBox(model);
  preset_->setObjectName(QStringLiteral("presetCombo"));
  preset_->setAccessibleName(tr("Preset"));
  preset_->setToolTip(tr("small, base, large and full reproduce the paper's Table 1 (4.87 M to 58.78 M parameters "
                         "at 64×64); demo is a 32×32 model that learns the demo dataset in minutes on a CPU."));
  revertPreset_ = new QPushButton(tr("Reset"), model);
  revertPreset_->setObjectName(QStringLiteral("revertPreset"));
  revertPreset_->setToolTip(tr("Put back the preset's own values."));
  auto* presetRow = new QHBoxLayout;
  auto* presetLabel = new QLabel(tr("&Preset:"), model);
  presetLabel->setBuddy(preset_);
  presetRow->addWidget(presetLabel);
  presetRow->addWidget(preset_, 1);
  presetRow->addWidget(revertPreset_);
  editor_ = new PresetEditor(model);
  estimateLabel_ = new QLabel(model);
  estimateLabel_->setObjectName(QStringLiteral("resourceEstimate"));
  estimateLabel_->setWordWrap(true);
  estimateLabel_->setTextFormat(Qt::RichText);
  modelLayout->addLayout(presetRow);
  modelLayout->addWidget(estimateLabel_);
  modelLayout->addWidget(editor_);
  return model;
}

QWidget* TrainPage::createComputeGroup(QWidget* column) {
  auto* compute = new QGroupBox(tr("Compute, text and evaluation"), column);
  device_ = new QComboBox(compute);
  device_->setObjectName(QStringLiteral("device"));
  device_->setToolTip(tr("Where the model trains. On CPUs with native bf16 the trainer uses bf16 autocast with "
                         "channels-last convolutions automatically."));
  for (const std::string& device : runtime::report().devices) {
    const QString text = QString::fromStdString(device);
    device_->addItem(text, text.section(QLatin1Char(' '), 0, 0));
  }
  threads_ = new QSpinBox(compute);
  threads_->setObjectName(QStringLiteral("threads"));
  threads_->setRange(0, std::max(1, runtime::available_cores()));
  threads_->setSpecialValueText(tr("all cores (%1)").arg(runtime::available_cores()));
  threads_->setToolTip(tr("CPU threads for LibTorch's intra-op parallelism."));
  processes_ = new QSpinBox(compute);
  processes_->setObjectName(QStringLiteral("processes"));
  processes_->setRange(1, std::max(1, runtime::available_cores()));
  processes_->setValue(1);
  processes_->setToolTip(tr("Data-parallel worker processes on this machine (t2i train --nproc): each trains an "
                            "equal share of every batch and they average their gradients, so the run is the one "
                            "a single process makes. The threads above are shared among them. It pays on a "
                            "machine with many cores or GPUs; on a 2-core machine it gains little. The batch "
                            "size must divide by it, and such a run cannot pause."));
  checkpointing_ = new QCheckBox(tr("Activation checkpointing"), compute);
  checkpointing_->setObjectName(QStringLiteral("activationCheckpointing"));
  checkpointing_->setToolTip(tr("Recompute each block's activations during the backward pass instead of keeping "
                                "them: less memory, about a third more compute."));
  selection_ = new QComboBox(compute);
  selection_->setObjectName(QStringLiteral("selection"));
  selection_->addItem(tr("Validation P2 loss"), static_cast<int>(train::Selection::ValP2));
  selection_->addItem(tr("Validation P2 loss and FID"), static_cast<int>(train::Selection::ValP2AndFid));
  selection_->setToolTip(tr("How the best checkpoint is chosen; the paper compares both (§7.3)."));

  auto* fields = new QFormLayout(compute);
  fields->addRow(tr("De&vice:"), device_);
  fields->addRow(tr("&Threads:"), threads_);
  fields->addRow(tr("P&rocesses:"), processes_);
  fields->addRow(checkpointing_);
  addTextEncoderRows(fields, compute);
  addInceptionRow(fields, compute);
  fields->addRow(tr("Best c&heckpoint by:"), selection_);
  return compute;
}

void TrainPage::addTextEncoderRows(QFormLayout* fields, QWidget* group) {
  learnedText_ = new QRadioButton(tr("Learned (trained with the U-Net)"), group);
  learnedText_->setObjectName(QStringLiteral("learnedText"));
  learnedText_->setToolTip(tr("A small transformer text encoder trained jointly with the U-Net (GLIDE-style), on a "
                              "SentencePiece vocabulary of the captions. Needs no download."));
  t5Text_ = new QRadioButton(tr("Frozen T5 encoder from a folder"), group);
  t5Text_->setObjectName(QStringLiteral("t5Text"));
  t5Text_->setToolTip(tr("The paper's choice (§5.2): a pretrained T5 encoder (t5-v1_1-base, 768-d), frozen; each "
                         "caption is encoded once and cached."));
  auto* textGroup = new QButtonGroup(group);
  textGroup->addButton(learnedText_);
  textGroup->addButton(t5Text_);
  t5Folder_ = new QLineEdit(group);
  t5Folder_->setObjectName(QStringLiteral("t5Folder"));
  t5Folder_->setPlaceholderText(tr("folder with config.json, model.safetensors, spiece.model"));
  t5Folder_->setToolTip(t5Text_->toolTip());
  browseT5_ = new QPushButton(tr("Browse…"), group);
  browseT5_->setAccessibleName(tr("Browse for the T5 folder"));
  fields->addRow(tr("Text encoder:"), learnedText_);
  fields->addRow(QString(), t5Text_);
  fields->addRow(QString(), fieldWithButton(t5Folder_, browseT5_));
}

void TrainPage::addInceptionRow(QFormLayout* fields, QWidget* group) {
  inception_ = new QLineEdit(group);
  inception_->setObjectName(QStringLiteral("inceptionWeights"));
  inception_->setPlaceholderText(tr("pt_inception-2015-12-05-6726825d.pth (optional)"));
  inception_->setToolTip(tr("The Inception-v3 weights FID is defined with (paper §5.6; the file pytorch-fid uses). "
                            "Without them training runs and FID stays unavailable."));
  browseInception_ = new QPushButton(tr("Browse…"), group);
  browseInception_->setAccessibleName(tr("Browse for the Inception weights"));
  fields->addRow(buddyLabel(tr("&Inception:"), inception_), fieldWithButton(inception_, browseInception_));
}

QWidget* TrainPage::createRunGroup(QWidget* column) {
  auto* run = new QGroupBox(tr("Run"), column);
  runsFolder_ = new QLineEdit(run);
  runsFolder_->setObjectName(QStringLiteral("runsFolder"));
  runsFolder_->setPlaceholderText(QDir::toNativeSeparators(settings::defaultRunsFolder()));
  runsFolder_->setToolTip(tr("Each run gets its own folder here: config, metrics log, previews and checkpoints."));
  browseRuns_ = new QPushButton(tr("Browse…"), run);
  browseRuns_->setAccessibleName(tr("Browse for the runs folder"));
  maxSteps_ = new QSpinBox(run);
  maxSteps_->setObjectName(QStringLiteral("maxSteps"));
  maxSteps_->setRange(0, 100'000'000);
  maxSteps_->setSingleStep(1000);
  maxSteps_->setGroupSeparatorShown(true);
  maxSteps_->setValue(kDefaultMaxSteps);
  maxSteps_->setToolTip(tr("Optimiser steps to train for (a continued run counts from its start). 0 trains until "
                           "early stopping, or until you stop it when the preset has none."));
  keepProbes_ = new QCheckBox(tr("Probe gallery"), run);
  keepProbes_->setObjectName(QStringLiteral("probeGallery"));
  keepProbes_->setChecked(true);
  keepProbes_->setToolTip(tr("Sample fixed probes (prompts × seeds × guidance scales) at step 0 and at every "
                             "evaluation, for the Probes tab. It costs sampling time at each evaluation."));
  probePrompts_ = new QPlainTextEdit(run);
  probePrompts_->setObjectName(QStringLiteral("probePrompts"));
  probePrompts_->setTabChangesFocus(true);
  probePrompts_->setPlaceholderText(tr("Your own probe prompts, one per line (the gallery always has 4 validation captions)"));
  probePrompts_->setToolTip(tr("Prompts sampled into the probe gallery besides the validation captions, with the "
                               "same seeds and guidance scales, at step 0 and at every evaluation."));
  probePrompts_->setFixedHeight(probePrompts_->fontMetrics().lineSpacing() * 3 + 12);
  auto* runForm = new QFormLayout(run);
  runForm->addRow(buddyLabel(tr("R&uns folder:"), runsFolder_), fieldWithButton(runsFolder_, browseRuns_));
  runForm->addRow(tr("&Max steps:"), maxSteps_);
  runForm->addRow(keepProbes_);
  runForm->addRow(buddyLabel(tr("Probe &prompts:"), probePrompts_), probePrompts_);
  createRunButtons(run);
  runForm->addRow(buttonRow({start_, pause_, stop_}));
  runForm->addRow(buttonRow({openRun_, continueRun_}));
  runForm->addRow(buttonRow({compareRun_, clearComparison_}));
  return run;
}

void TrainPage::createRunButtons(QWidget* group) {
  start_ = new QPushButton(tr("Start"), group);
  start_->setObjectName(QStringLiteral("startTraining"));
  start_->setToolTip(tr("Start a new run in a new folder (Ctrl+Return)."));
  start_->setDefault(true);
  pause_ = new QPushButton(tr("Pause"), group);
  pause_->setObjectName(QStringLiteral("pauseTraining"));
  pause_->setCheckable(true);
  pause_->setToolTip(tr("Hold training between steps; press again to resume."));
  stop_ = new QPushButton(tr("Stop"), group);
  stop_->setObjectName(QStringLiteral("stopTraining"));
  stop_->setToolTip(tr("Stop after the current step and save a checkpoint (Esc or Ctrl+.)."));
  openRun_ = new QPushButton(tr("Open run…"), group);
  openRun_->setObjectName(QStringLiteral("openRun"));
  openRun_->setToolTip(tr("Show an earlier run's curves and previews from its folder."));
  continueRun_ = new QPushButton(tr("Continue run"), group);
  continueRun_->setObjectName(QStringLiteral("continueRun"));
  continueRun_->setToolTip(tr("Resume the shown run exactly from its latest checkpoint."));
  compareRun_ = new QPushButton(tr("Compare with…"), group);
  compareRun_->setObjectName(QStringLiteral("compareRun"));
  compareRun_->setToolTip(tr("Draw another run's loss, validation P2 and FID curves over the shown run's."));
  clearComparison_ = new QPushButton(tr("Clear comparison"), group);
  clearComparison_->setObjectName(QStringLiteral("clearComparison"));
  clearComparison_->setToolTip(tr("Remove the compared run's curves."));
}

void TrainPage::restoreSettings() {
  const QString t5 = settings::t5Folder.value();
  t5Folder_->setText(t5);
  (t5.isEmpty() ? learnedText_ : t5Text_)->setChecked(true);
  inception_->setText(settings::inceptionWeights.value());
  const int device = device_->findData(settings::device.value());
  device_->setCurrentIndex(device >= 0 ? device : 0);
  threads_->setValue(settings::threads.value());
  runsFolder_->setText(settings::runsFolder.value());
}

void TrainPage::connectSettings() {
  connect(preset_, &QComboBox::currentTextChanged, this, [this](const QString& name) {
    loadPreset(name);
    Q_EMIT presetNameChanged(name);
  });
  connect(revertPreset_, &QPushButton::clicked, editor_, &PresetEditor::revert);
  connect(editor_, &PresetEditor::edited, this, &TrainPage::scheduleEstimate);
  connect(editor_, &PresetEditor::edited, this, &TrainPage::updateMaxStepsText);
  connect(checkpointing_, &QCheckBox::toggled, this, &TrainPage::scheduleEstimate);
  connect(keepProbes_, &QCheckBox::toggled, this, &TrainPage::updateEnabled);
  connect(learnedText_, &QRadioButton::toggled, this, [this] {
    updateEnabled();
    scheduleEstimate();
  });
  connect(t5Folder_, &QLineEdit::editingFinished, this, &TrainPage::scheduleEstimate);
  connect(inception_, &QLineEdit::textChanged, this, &TrainPage::updateFidHint);
  connect(browseT5_, &QPushButton::clicked, this, [this] {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("T5 encoder folder"), t5Folder_->text());
    if (folder.isEmpty()) return;
    t5Folder_->setText(folder);
    t5Text_->setChecked(true);
    scheduleEstimate();
  });
  connect(browseInception_, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Inception weights"), inception_->text(),
                                                      tr("PyTorch weights (*.pth *.pt);;All files (*)"));
    if (!file.isEmpty()) inception_->setText(file);
  });
  connect(browseRuns_, &QPushButton::clicked, this, [this] {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Runs folder"), runsFolder_->text());
    if (!folder.isEmpty()) runsFolder_->setText(folder);
  });
  connect(start_, &QPushButton::clicked, this, &TrainPage::start);
  connect(pause_, &QPushButton::toggled, this, &TrainPage::setPaused);
  connect(stop_, &QPushButton::clicked, this, &TrainPage::stop);
  connect(openRun_, &QPushButton::clicked, this, &TrainPage::browseOpenRun);
  connect(continueRun_, &QPushButton::clicked, this, &TrainPage::continueRun);
  connect(compareRun_, &QPushButton::clicked, this, &TrainPage::browseCompareRun);
  connect(clearComparison_, &QPushButton::clicked, this, &TrainPage::clearComparison);
}

QWidget* TrainPage::createRunView() {
  auto* view = new QWidget;
  curves_ = new TrainingCurves(view);
  // Curves and samples take turns: side by side they need a wider screen than 1280 pixels.
  runTabs_ = new QTabWidget(view);
  runTabs_->setObjectName(QStringLiteral("runTabs"));
  runTabs_->addTab(curves_, tr("&Curves"));
  lossByNoise_ = new LossByNoiseView(view);
  runTabs_->addTab(lossByNoise_, tr("&Noise levels"));
  probeGallery_ = new ProbeGalleryView(view);
  runTabs_->addTab(probeGallery_, tr("Pro&bes"));
  samplesTab_ = runTabs_->addTab(createSamples(), tr("Sa&mples"));

  auto* layout = new QVBoxLayout(view);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(createFacts(view));
  layout->addWidget(runTabs_, 1);

  // On a short screen the run view scrolls rather than squeezing its charts.
  auto* scroll = new QScrollArea(this);
  scroll->setObjectName(QStringLiteral("runView"));
  scroll->setWidget(view);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(view->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
  return scroll;
}

QFormLayout* TrainPage::createFacts(QWidget* view) {
  datasetLabel_ = valueLabel("datasetLabel", view);
  runLabel_ = valueLabel("runLabel", view);
  runLabel_->setWordWrap(true);
  progress_ = new QProgressBar(view);
  progress_->setObjectName(QStringLiteral("trainProgress"));
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("not started"));
  stepLabel_ = valueLabel("stepLabel", view);
  throughputLabel_ = valueLabel("throughputLabel", view);
  etaLabel_ = valueLabel("etaLabel", view);
  bestLabel_ = valueLabel("bestLabel", view);
  bestLabel_->setWordWrap(true);
  earlyStopLabel_ = valueLabel("earlyStopLabel", view);
  statusLabel_ = valueLabel("trainStatus", view);
  statusLabel_->setWordWrap(true);
  for (QLabel* label : {datasetLabel_, stepLabel_, throughputLabel_, etaLabel_, earlyStopLabel_}) reserveLines(label, 1);
  for (QLabel* label : {runLabel_, bestLabel_, statusLabel_}) reserveLines(label, 2);
  throughputLabel_->setToolTip(tr("Training images per second over the last steps; for a run of several processes, "
                                  "also each process's own rate on its share of the batch."));
  earlyStopLabel_->setToolTip(tr("Steps left before early stopping if the validation P2 loss does not improve."));

  auto* facts = new QFormLayout;
  facts->addRow(tr("Dataset:"), datasetLabel_);
  facts->addRow(tr("Run:"), runLabel_);
  facts->addRow(tr("Progress:"), progress_);
  auto* numbers = new QHBoxLayout;
  numbers->addWidget(stepLabel_);
  numbers->addWidget(throughputLabel_);
  numbers->addWidget(etaLabel_);
  numbers->addStretch(1);
  facts->addRow(tr("Now:"), numbers);
  facts->addRow(tr("Best:"), bestLabel_);
  facts->addRow(tr("Early stop:"), earlyStopLabel_);
  facts->addRow(statusLabel_);
  return facts;
}

QWidget* TrainPage::createSamples() {
  auto* samples = new QWidget;
  samples->setObjectName(QStringLiteral("samples"));
  previewView_ = new QLabel(samples);
  previewView_->setObjectName(QStringLiteral("previewImage"));
  previewView_->setAlignment(Qt::AlignCenter);
  previewView_->setMinimumSize(kPreviewSide, kPreviewSide);
  previewView_->setText(tr("Sample grids appear here at each evaluation."));
  previewView_->setWordWrap(true);
  previewView_->setAccessibleName(tr("Latest sample grid"));
  previewStep_ = new QComboBox(samples);
  previewStep_->setObjectName(QStringLiteral("previewStep"));
  previewStep_->setToolTip(tr("Every sample grid of this run, by step."));
  previewStep_->setVisible(false);
  previewPrompts_ = valueLabel("previewPrompts", samples);
  previewPrompts_->setWordWrap(true);
  previewPrompts_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  auto* column = new QVBoxLayout;
  column->addWidget(previewStep_);
  column->addWidget(previewView_);
  column->addStretch(1);
  auto* layout = new QHBoxLayout(samples);
  layout->addLayout(column);
  layout->addWidget(previewPrompts_, 1);
  connect(previewStep_, &QComboBox::currentIndexChanged, this, &TrainPage::showPreview);
  previewView_->installEventFilter(this);
  previewView_->setCursor(Qt::PointingHandCursor);
  return samples;
}

void TrainPage::setDataPage(DataPage* page) {
  dataPage_ = page;
  auto refresh = [this] {
    datasetLabel_->setText(dataPage_ ? dataPage_->datasetDescription() : tr("none"));
  };
  connect(page, &DataPage::datasetChanged, this, refresh);
  refresh();
}

QString TrainPage::presetName() const { return preset_->currentText(); }

void TrainPage::setPresetName(const QString& name) {
  if (name == presetName()) return;
  const int index = preset_->findText(name);
  if (index >= 0) preset_->setCurrentIndex(index);
}

void TrainPage::loadPreset(const QString& name) {
  try {
    editor_->setPreset(model::find_preset(name.toStdString()));
    presetLoaded_ = true;
    updateMaxStepsText();
    settings::preset.setValue(name);
  } catch (const std::exception& e) {
    presetLoaded_ = false;
    estimateLabel_->setText(tr("<span style='color:#b00020'>%1</span>").arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
  }
  updateEnabled();
}

QString TrainPage::deviceName() const { return device_->currentData().toString(); }

TrainForm TrainPage::form() const {
  TrainForm form;
  form.preset = presetName();
  form.device = deviceName();
  form.t5 = t5Text_->isChecked();
  form.t5Folder = t5Folder_->text();
  form.inceptionWeights = inception_->text();
  form.selection = static_cast<train::Selection>(selection_->currentData().toInt());
  form.maxSteps = maxSteps_->value();
  form.activationCheckpointing = checkpointing_->isChecked();
  form.probeGallery = keepProbes_->isChecked();
  form.probePrompts = probePromptLines(probePrompts_->toPlainText());
  return form;
}

train::TrainOptions TrainPage::startOptions() const {
  std::optional<train::DataSpec> data;
  if (dataPage_ != nullptr) data = dataPage_->dataSpec(editor_->preset().unet.image_size);
  return trainOptions(form(), data);
}

void TrainPage::updateMaxStepsText() { maxSteps_->setSpecialValueText(unlimitedStepsText(editor_->preset().early_stop)); }

void TrainPage::scheduleEstimate() { estimateDelay_->start(); }

void TrainPage::runEstimate() {
  if (!presetLoaded_) return;
  if (estimator_->isRunning()) {
    estimateStale_ = true;  // run again when this one is done
    return;
  }
  estimateStale_ = false;
  estimateLabel_->setText(tr("Estimating parameters and memory…"));
  auto result = std::make_shared<train::ResourceEstimate>();
  auto error = std::make_shared<QString>();
  const train::TrainOptions options = startOptions();
  const model::Preset preset = editor_->preset();
  disconnect(estimator_, nullptr, this, nullptr);
  connect(estimator_, &JobRunner::finished, this, [this, result] {
    showEstimate(*result);
    if (estimateStale_) scheduleEstimate();
  });
  connect(estimator_, &JobRunner::failed, this, [this](const QString& message) {
    showEstimateError(message);
    if (estimateStale_) scheduleEstimate();
  });
  estimator_->start(QStringLiteral("estimate"),
                    [preset, options, result](const job::Context&) {
                      *result = train::estimate_resources(preset, options);
                    });
}

void TrainPage::showEstimate(const train::ResourceEstimate& estimate) {
  estimate_ = estimate;
  const runtime::Memory memory = runtime::memory();
  QString text = tr("<b>%1 M parameters</b> · peak memory ≈ <b>%2 GiB</b> of %3 GiB")
                     .arg(QLocale().toString(static_cast<double>(estimate.parameters) / 1e6, 'f', 2),
                          gib(estimate.peak_bytes), gib(memory.total_bytes));
  if (memory.total_bytes > 0 && estimate.peak_bytes > memory.total_bytes)
    text += tr("<br><span style='color:#b00020'>More than this machine's memory: lower the max micro-batch or "
               "turn on activation checkpointing.</span>");
  else if (memory.available_bytes > 0 && estimate.peak_bytes > memory.available_bytes)
    text += tr("<br><span style='color:#a05a00'>More than is free now (%1 GiB): other programs may have to give "
               "memory back.</span>")
                .arg(gib(memory.available_bytes));
  estimateLabel_->setText(text);
  estimateLabel_->setToolTip(QString::fromStdString(estimate.breakdown));
}

void TrainPage::showEstimateError(const QString& message) {
  estimate_.reset();
  estimateLabel_->setText(tr("<span style='color:#b00020'>%1</span>").arg(message.toHtmlEscaped()));
  estimateLabel_->setToolTip({});
}

bool TrainPage::isTraining() const { return session_->isRunning(); }

bool TrainPage::hasRunningJob() const { return session_->isRunning(); }

QString TrainPage::runningJobDescription() const {
  return tr("Training %1 (step %2)").arg(QFileInfo(runFolder_).fileName(), steps(lastStep_));
}

void TrainPage::stopJobs() { stop(); }

void TrainPage::start() {
  if (isTraining() || !start_->isEnabled()) return;
  train::TrainOptions options = startOptions();
  const QString folder = newRunFolder(runsRoot(), presetName(), QDateTime::currentDateTime());
  // The run keeps the preset it was started with, edits included, as its own preset.json.
  const QString presetFile = QDir(folder).filePath(kPresetFileName);
  QSaveFile file(presetFile);
  if (!QDir().mkpath(folder) || !file.open(QIODevice::WriteOnly) ||
      file.write(QByteArray::fromStdString(model::preset_to_json(editor_->preset()))) < 0 || !file.commit()) {
    statusLabel_->setText(tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(presetFile), file.errorString()));
    return;
  }
  options.preset = presetFile.toStdString();
  options.run_dir = folder.toStdString();
  options.resume = false;
  curves_->clear();
  clearPreviews();
  best_.clear();
  bestLabel_->setText(tr("no evaluation yet"));
  launch(std::move(options));
}

void TrainPage::continueRun() {
  if (isTraining() || runFolder_.isEmpty()) return;
  train::TrainOptions options = startOptions();
  // A continued run keeps the preset it started with. The editor shows that preset, so no value
  // edited since appears to be in effect when it is not.
  const QString presetFile = QDir(runFolder_).filePath(kPresetFileName);
  if (QFileInfo::exists(presetFile)) {
    options.preset = presetFile.toStdString();
    try {
      const model::Preset stored = model::load_preset(options.preset);
      editor_->setPreset(stored);
      if (dataPage_ != nullptr) options.data = dataPage_->dataSpec(stored.unet.image_size);
    } catch (const std::exception&) {
      // The trainer reports an unreadable preset with the file's name.
    }
  }
  options.run_dir = runFolder_.toStdString();
  options.resume = true;
  launch(std::move(options));
}

bool TrainPage::launch(train::TrainOptions options) {
  saveSettings();
  runtime::initialize(threads_->value());
  statusLabel_->setStyleSheet({});
  runFolder_ = QString::fromStdString(options.run_dir);
  runLabel_->setText(QDir::toNativeSeparators(runFolder_));
  settings::lastRun.setValue(runFolder_);
  lossByNoise_->setRunFolder(runFolder_);
  probeGallery_->setRunFolder(runFolder_);
  lastStep_ = 0;
  // Several processes share the threads asked for (all cores when 0), at least one each.
  const int processes = processes_->value();
  const int threads = threads_->value() > 0 ? threads_->value() : runtime::available_cores();
  if (!session_->start(options, processes, std::max(1, threads / processes))) return false;
  progress_->setRange(0, 0);
  progress_->setFormat(tr("starting…"));
  statusLabel_->setText(options.resume ? tr("Continuing from the latest checkpoint with the run's own preset…")
                                       : tr("Starting…"));
  stepLabel_->clear();
  throughputLabel_->clear();
  etaLabel_->clear();
  updateFidHint();
  updateEnabled();
  return true;
}

void TrainPage::setPaused(bool paused) {
  if (!isTraining()) {
    pause_->setChecked(false);
    return;
  }
  if (pause_->isChecked() != paused) {
    pause_->setChecked(paused);  // comes back through toggled()
    return;
  }
  session_->setPaused(paused);
  pause_->setText(paused ? tr("Resume") : tr("Pause"));
  statusLabel_->setText(paused ? tr("Paused after step %1.").arg(steps(lastStep_)) : tr("Training…"));
}

void TrainPage::stop() {
  if (!isTraining() || session_->stopRequested()) return;
  session_->stop();
  statusLabel_->setText(tr("Stopping after the current step and saving a checkpoint…"));
  updateEnabled();
}

void TrainPage::onSteps(const std::vector<train::StepMetrics>& batch) {
  if (batch.empty()) return;
  curves_->addSteps(batch);
  const train::StepMetrics& m = batch.back();
  lastStep_ = m.step;
  const std::int64_t target = session_->options().max_steps;
  if (target > 0) {
    progress_->setRange(0, static_cast<int>(std::min<std::int64_t>(target, INT32_MAX)));
    progress_->setValue(static_cast<int>(std::min(m.step, target)));
    progress_->setFormat(tr("step %1 of %2").arg(steps(m.step), steps(target)));
  } else {
    progress_->setRange(0, 0);
    progress_->setFormat(tr("step %1").arg(steps(m.step)));
  }
  stepLabel_->setText(tr("step %1 · loss %2").arg(steps(m.step), number(m.train_loss)));
  throughputLabel_->setText(tr("%1 images/s").arg(QLocale().toString(m.images_per_second, 'f', 1)) +
                            perProcessText(m.rank_images_per_second));
  etaLabel_->setText(target <= 0 && m.eta_seconds < 0 ? tr("no step limit: runs until stopped")
                                                    : tr("ETA %1").arg(duration(m.eta_seconds)));
}

void TrainPage::onEval(const train::EvalMetrics& eval) {
  curves_->addEval(eval);
  lossByNoise_->reload();  // the trainer writes an evaluation's loss by noise level before reporting it
  probeGallery_->reload();  // and its probe sheet
  best_.addEval(eval);
  bestLabel_->setText(best_.step() ? bestText() + (latestCheckpoint_.isEmpty()
                                                     ? QString()
                                                     : tr(" · %1").arg(QFileInfo(latestCheckpoint_).fileName()))
                                   : tr("no best evaluation yet"));
  earlyStopLabel_->setText(eval.early_stop_in < 0
                               ? tr("off (this preset trains until the step limit)")
                               : tr("in %1 steps without improvement (%2 so far)")
                                     .arg(steps(eval.early_stop_in), steps(eval.steps_without_improvement)));
}

QString TrainPage::bestPrefix() const { return best_.step() ? bestText() + tr(" · ") : QString(); }

QString TrainPage::bestText() const {
  if (!best_.step()) return {};
  const auto& eval = best_.eval();
  if (!eval) return tr("step %1").arg(steps(*best_.step()));
  return eval->fid ? tr("val P2 %1, FID %2 at step %3").arg(number(eval->val_p2), number(*eval->fid), steps(eval->step))
                   : tr("val P2 %1 at step %2").arg(number(eval->val_p2), steps(eval->step));
}

void TrainPage::onPreview(const PreviewFrame& frame) { addPreview({frame.step, frame.grid, {}, frame.prompts}); }

void TrainPage::setPreviewImage(const QImage& image, std::int64_t step, const QStringList& prompts) {
  preview_ = image;
  previewStepShown_ = step;
  previewCaptions_.clear();
  for (int i = 0; i < prompts.size(); ++i) previewCaptions_ << QStringLiteral("%1. %2").arg(i + 1).arg(prompts[i]);
  // The tab names the latest grid's step, so a new one is noticed while the curves are shown.
  runTabs_->setTabText(samplesTab_, image.isNull() ? tr("Sa&mples") : tr("Sa&mples (step %1)").arg(steps(step)));
  if (image.isNull()) {
    previewView_->setPixmap({});
    previewView_->setText(tr("Sample grids appear here at each evaluation."));
    previewPrompts_->clear();
    return;
  }
  previewView_->setPixmap(fitPreview(image, kPreviewSide));
  previewView_->setToolTip(tr("Samples at step %1: click to enlarge").arg(steps(step)));
  previewPrompts_->setText((QStringList{tr("Step %1:").arg(steps(step))} + previewCaptions_).join(QLatin1Char('\n')));
}

void TrainPage::onCheckpoint(const QString& path, bool best) {
  latestCheckpoint_ = path;
  if (best) {
    const QString value = bestPrefix();
    bestLabel_->setText(value + QDir::toNativeSeparators(path));
    bestLabel_->setToolTip(path);
  }
}

void TrainPage::onProgress(const ProgressFrame& frame) {
  if (frame.total > 0)
    statusLabel_->setText(tr("%1: %2 of %3").arg(frame.phase, steps(frame.done), steps(frame.total)));
  else
    statusLabel_->setText(frame.phase);
}

void TrainPage::onEnded(const train::Summary& summary) {
  curves_->drawNow();
  pause_->setChecked(false);
  pause_->setText(tr("Pause"));
  progress_->setRange(0, 1);
  progress_->setValue(1);
  progress_->setFormat(tr("step %1 · %2").arg(steps(summary.steps), QString::fromStdString(summary.stop_reason)));
  if (!summary.last_checkpoint.empty()) latestCheckpoint_ = QString::fromStdString(summary.last_checkpoint);
  QString text = tr("Ended after %1 steps (%2).").arg(steps(summary.steps), QString::fromStdString(summary.stop_reason));
  if (!summary.last_checkpoint.empty())
    text += QLatin1Char(' ') + tr("Checkpoint: %1").arg(QDir::toNativeSeparators(QString::fromStdString(summary.last_checkpoint)));
  statusLabel_->setText(text);
  if (!summary.best_checkpoint.empty()) {
    const QString value = bestPrefix();
    bestLabel_->setText(value + QDir::toNativeSeparators(QString::fromStdString(summary.best_checkpoint)));
  }
  updateEnabled();
  Q_EMIT runEnded();
  Q_EMIT jobsIdle();
}

void TrainPage::onFailed(const QString& message) {
  curves_->drawNow();
  pause_->setChecked(false);
  pause_->setText(tr("Pause"));
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("failed"));
  statusLabel_->setText(tr("Training failed: %1").arg(message));
  statusLabel_->setStyleSheet(QStringLiteral("color: #b00020"));
  updateEnabled();
  Q_EMIT runEnded();
  Q_EMIT jobsIdle();
}

QString TrainPage::runsRoot() const {
  return runsFolder_->text().isEmpty() ? settings::defaultRunsFolder() : runsFolder_->text();
}

void TrainPage::browseOpenRun() {
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Open run folder"), runsRoot());
  if (!folder.isEmpty()) openRun(folder);
}

void TrainPage::openRun(const QString& folder) {
  if (isTraining() || historyReader_->isRunning()) return;
  auto history = std::make_shared<train::History>();
  disconnect(historyReader_, nullptr, this, nullptr);
  connect(historyReader_, &JobRunner::finished, this, [this, history, folder] {
    runFolder_ = folder;
    settings::lastRun.setValue(folder);
    runLabel_->setText(QDir::toNativeSeparators(folder));
    showHistory(*history);
    lossByNoise_->setRunFolder(folder);
    probeGallery_->setRunFolder(folder);
    updateEnabled();
    Q_EMIT runOpened(folder);
  });
  connect(historyReader_, &JobRunner::failed, this, [this](const QString& message) {
    statusLabel_->setText(tr("Cannot open the run: %1").arg(message));
    updateEnabled();
  });
  statusLabel_->setText(tr("Reading %1…").arg(QDir::toNativeSeparators(folder)));
  historyReader_->start(QStringLiteral("history"), [history, path = folder.toStdString()](const job::Context&) {
    *history = train::read_history(path);
  });
}

void TrainPage::browseCompareRun() {
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Compare with run folder"), runsRoot());
  if (!folder.isEmpty()) compareWith(folder);
}

void TrainPage::compareWith(const QString& folder) {
  if (runFolder_.isEmpty() || comparisonReader_->isRunning()) return;
  auto history = std::make_shared<train::History>();
  disconnect(comparisonReader_, nullptr, this, nullptr);
  // The run shown when the reading started: another one opened meanwhile is not compared with it.
  connect(comparisonReader_, &JobRunner::finished, this, [this, history, folder, shown = runFolder_] {
    if (shown == runFolder_) {
      curves_->showComparison(QFileInfo(shown).fileName(), QFileInfo(folder).fileName(), *history);
      statusLabel_->setText(tr("Compared with %1").arg(QDir::toNativeSeparators(folder)));
    }
    updateEnabled();
    if (shown == runFolder_) Q_EMIT comparisonShown(folder);
  });
  connect(comparisonReader_, &JobRunner::failed, this, [this](const QString& message) {
    statusLabel_->setText(tr("Cannot compare with the run: %1").arg(message));
    updateEnabled();
  });
  statusLabel_->setText(tr("Reading %1…").arg(QDir::toNativeSeparators(folder)));
  updateEnabled();
  comparisonReader_->start(QStringLiteral("comparison"), [history, path = folder.toStdString()](const job::Context&) {
    *history = train::read_history(path);
  });
}

void TrainPage::clearComparison() {
  curves_->clearComparison();
  updateEnabled();
}

void TrainPage::showHistory(const train::History& history) {
  curves_->setHistory(history);
  latestCheckpoint_ = QString::fromStdString(history.latest_checkpoint);
  lastStep_ = history.steps.empty() ? 0 : history.steps.back().step;
  best_.setHistory(history);
  if (!history.best_checkpoint.empty()) {
    const QString value = bestPrefix();
    bestLabel_->setText(value + QDir::toNativeSeparators(QString::fromStdString(history.best_checkpoint)));
  } else {
    bestLabel_->setText(tr("no best checkpoint in this run"));
  }
  earlyStopLabel_->setText(history.evals.empty() || history.evals.back().early_stop_in < 0
                               ? tr("–")
                               : tr("was %1 steps away").arg(steps(history.evals.back().early_stop_in)));
  progress_->setRange(0, 1);
  progress_->setValue(1);
  progress_->setFormat(tr("finished run · %1 steps").arg(steps(lastStep_)));
  stepLabel_->setText(history.steps.empty()
                          ? QString()
                          : tr("step %1 · loss %2").arg(steps(lastStep_), number(history.steps.back().train_loss)));
  throughputLabel_->setText(history.steps.empty()
                                ? QString()
                                : tr("%1 images/s").arg(QLocale().toString(history.steps.back().images_per_second, 'f', 1)));
  etaLabel_->clear();
  statusLabel_->setText(latestCheckpoint_.isEmpty() ? tr("This run has no checkpoint to continue from.")
                                                    : tr("Latest checkpoint: %1").arg(QDir::toNativeSeparators(latestCheckpoint_)));

  clearPreviews();
  for (const auto& [step, path] : history.previews) addPreview({step, {}, QString::fromStdString(path), {}});
}

void TrainPage::clearPreviews() {
  previews_.clear();
  {
    const QSignalBlocker block(previewStep_);
    previewStep_->clear();
  }
  previewStep_->setVisible(false);
  setPreviewImage({}, 0, {});
}

void TrainPage::addPreview(PreviewEntry entry) {
  const bool followLatest = previewStep_->currentIndex() == previewStep_->count() - 1;
  previews_.push_back(std::move(entry));
  {
    const QSignalBlocker block(previewStep_);
    previewStep_->addItem(tr("step %1").arg(steps(previews_.back().step)));
  }
  previewStep_->setVisible(true);
  if (followLatest) {
    const QSignalBlocker block(previewStep_);
    previewStep_->setCurrentIndex(previewStep_->count() - 1);
  }
  if (followLatest) showPreview(previewStep_->count() - 1);
}

void TrainPage::showPreview(int index) {
  if (index < 0 || index >= previews_.size()) return;
  const PreviewEntry& entry = previews_.at(index);
  const QImage image = entry.image.isNull() ? QImage(entry.path) : entry.image;
  setPreviewImage(image, entry.step, entry.prompts);
  if (image.isNull()) previewView_->setText(tr("Cannot read %1").arg(entry.path));
}

void TrainPage::showEnlargedPreview() {
  if (preview_.isNull()) return;
  auto* window = new EnlargedImage(preview_, tr("Samples at step %1").arg(steps(previewStepShown_)),
                                   previewCaptions_.join(QLatin1Char('\n')), this);
  window->setObjectName(QStringLiteral("enlargedPreview"));
  window->show();
}

bool TrainPage::eventFilter(QObject* watched, QEvent* event) {
  if (watched == previewView_ && event->type() == QEvent::MouseButtonRelease) {
    showEnlargedPreview();
    return true;
  }
  return JobPage::eventFilter(watched, event);
}

void TrainPage::updateFidHint() {
  if (inception_->text().isEmpty())
    curves_->setFidHint(tr("FID is off: no Inception weights are chosen. To enable it, choose the file "
                           "pt_inception-2015-12-05-6726825d.pth under \"Compute, text and evaluation\" before "
                           "starting (or continuing) the run."));
  else
    curves_->setFidHint(tr("FID is computed when the validation P2 loss improves at an evaluation."));
}

void TrainPage::updateEnabled() {
  const bool training = isTraining();
  const bool presetOk = presetLoaded_;
  start_->setEnabled(!training && presetOk);
  pause_->setEnabled(training && !session_->stopRequested() && !session_->isMultiProcess());
  stop_->setEnabled(training && !session_->stopRequested());
  openRun_->setEnabled(!training);
  continueRun_->setEnabled(!training && !runFolder_.isEmpty() && !latestCheckpoint_.isEmpty());
  compareRun_->setEnabled(!runFolder_.isEmpty() && !comparisonReader_->isRunning());
  clearComparison_->setEnabled(curves_->hasComparison());
  for (QWidget* w : std::initializer_list<QWidget*>{preset_, revertPreset_, editor_, device_, threads_, processes_,
                                                    checkpointing_, learnedText_, t5Text_, inception_, browseInception_, selection_,
                                                    runsFolder_, browseRuns_, maxSteps_, keepProbes_})
    w->setEnabled(!training && (w != editor_ || presetOk));
  t5Folder_->setEnabled(!training && t5Text_->isChecked());
  probePrompts_->setEnabled(!training && keepProbes_->isChecked());
  browseT5_->setEnabled(!training);
}

void TrainPage::saveSettings() const {
  settings::t5Folder.setValue(t5Text_->isChecked() ? t5Folder_->text() : QString());
  settings::inceptionWeights.setValue(inception_->text());
  settings::device.setValue(deviceName());
  settings::threads.setValue(threads_->value());
  settings::runsFolder.setValue(runsFolder_->text());
  settings::preset.setValue(presetName());
}

} // namespace t2i::ui
