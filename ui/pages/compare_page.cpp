#include "compare_page.h"

#include "pages/page_intro.h"
#include "sampling/image_conversion.h"
#include "sampling/image_files.h"
#include "settings.h"
#include "widgets/checkpoint_picker.h"
#include "widgets/labelled_image_grid.h"
#include "widgets/sampler_choices.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <exception>

namespace t2i::ui {

ComparePage::ComparePage(QWidget* parent) : JobPage(parent), job_(new SamplingJob(QStringLiteral("compare"), this)) {
  QGridLayout* form = createForm();
  QLayout* buttons = createButtons();
  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("compareStatus"));
  status_->setWordWrap(true);
  grid_ = new LabelledImageGrid(this);
  grid_->setObjectName(QStringLiteral("compareGrid"));

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new PageIntro(tr("Compare"),
                                  tr("The same prompt and seeds at several guidance scales side by side: the "
                                     "paper compares w = 5 with w = 8. Add seeds for rows, or a second "
                                     "checkpoint for more columns. \"One trajectory\" samples the scales as one "
                                     "batch and shows each step; \"word swap\" changes one word, keeping the noise."),
                                  this));
  layout->addLayout(form);
  layout->addLayout(buttons);
  layout->addWidget(status_);
  layout->addWidget(grid_, 1);

  connectJob();
  loadSettings();
  onModeChanged();
  setBusy(false);
}

ComparePage::~ComparePage() { saveSettings(); }

QGridLayout* ComparePage::createForm() {
  mode_ = new QComboBox(this);
  mode_->setObjectName(QStringLiteral("compareMode"));
  mode_->addItem(tr("guidance scales × seeds"), static_cast<int>(CompareMode::ScalesBySeeds));
  mode_->addItem(tr("one trajectory: scale × step"), static_cast<int>(CompareMode::Trajectory));
  mode_->addItem(tr("word swap"), static_cast<int>(CompareMode::WordSwap));
  mode_->setToolTip(tr("One trajectory: the first seed at every scale in one batch, so every row shares x_T and every "
                       "noise draw, shown at several steps. Word swap: the prompt and the prompt with one word "
                       "replaced, same seed and noise."));
  connect(mode_, &QComboBox::currentIndexChanged, this, &ComparePage::onModeChanged);
  gridSteps_ = new QLineEdit(this);
  gridSteps_->setObjectName(QStringLiteral("gridStepsEdit"));
  gridSteps_->setPlaceholderText(tr("5 evenly spaced"));
  gridSteps_->setToolTip(tr("The steps whose x̂₀ make the columns, e.g. \"10, 25, 50\""));
  swap_ = new QLineEdit(this);
  swap_->setObjectName(QStringLiteral("swapEdit"));
  swap_->setPlaceholderText(tr("red=blue"));
  swap_->setToolTip(tr("A word of the prompt and its replacement, e.g. \"red=blue\""));
  inject_ = new QSlider(Qt::Horizontal, this);
  inject_->setObjectName(QStringLiteral("injectSlider"));
  inject_->setRange(0, 100);
  inject_->setSingleStep(5);
  inject_->setPageStep(10);
  inject_->setToolTip(tr("For this share of the first steps B uses A's cross-attention instead of its own "
                         "(Prompt-to-Prompt): 0 = same noise only, more = same noise and same attention"));
  injectLabel_ = new QLabel(this);
  injectLabel_->setObjectName(QStringLiteral("injectLabel"));
  const auto showInjection = [this](int percent) { injectLabel_->setText(tr("A's attention: %1% of steps").arg(percent)); };
  connect(inject_, &QSlider::valueChanged, this, showInjection);
  showInjection(inject_->value());
  prompt_ = new QLineEdit(this);
  prompt_->setObjectName(QStringLiteral("comparePrompt"));
  prompt_->setPlaceholderText(tr("describe the image"));
  connect(prompt_, &QLineEdit::returnPressed, this, &ComparePage::compare);
  scales_ = new QLineEdit(this);
  scales_->setObjectName(QStringLiteral("scalesEdit"));
  scales_->setToolTip(tr("Guidance scales, one column each, e.g. \"5, 8\" (the paper's pair) or \"1 3 5 8 12\""));
  seeds_ = new QLineEdit(this);
  seeds_->setObjectName(QStringLiteral("seedsEdit"));
  seeds_->setToolTip(tr("Seeds, one row each: every column uses the same seeds, so only guidance differs"));
  steps_ = new QSpinBox(this);
  steps_->setObjectName(QStringLiteral("compareSteps"));
  steps_->setRange(1, 1000);
  sampler_ = createSamplerCombo(this);
  sampler_->setObjectName(QStringLiteral("compareSampler"));
  thresholding_ = createThresholdingCombo(this);
  thresholding_->setObjectName(QStringLiteral("compareThresholding"));
  checkpointA_ = new CheckpointPicker(this);
  checkpointA_->setObjectName(QStringLiteral("checkpointA"));
  useB_ = new QCheckBox(tr("and"), this);
  useB_->setObjectName(QStringLiteral("useSecondCheckpoint"));
  useB_->setToolTip(tr("Also sample every cell from a second checkpoint"));
  checkpointB_ = new CheckpointPicker(this);
  checkpointB_->setObjectName(QStringLiteral("checkpointB"));
  connect(useB_, &QCheckBox::toggled, this, &ComparePage::onModeChanged);

  auto* sampling = new QHBoxLayout;
  sampling->addWidget(steps_);
  sampling->addWidget(sampler_, 1);
  auto* second = new QHBoxLayout;
  second->addWidget(useB_);
  second->addWidget(checkpointB_, 1);

  auto* injection = new QHBoxLayout;
  injection->addWidget(inject_, 1);
  injection->addWidget(injectLabel_);

  auto* form = new QGridLayout;
  form->addWidget(new QLabel(tr("Compare"), this), 0, 0);
  form->addWidget(mode_, 0, 1);
  form->addWidget(new QLabel(tr("Prompt"), this), 1, 0);
  form->addWidget(prompt_, 1, 1, 1, 3);
  form->addWidget(new QLabel(tr("Guidance scales"), this), 2, 0);
  form->addWidget(scales_, 2, 1);
  form->addWidget(new QLabel(tr("Seeds"), this), 2, 2);
  form->addWidget(seeds_, 2, 3);
  form->addWidget(new QLabel(tr("Steps"), this), 3, 0);
  form->addLayout(sampling, 3, 1);
  form->addWidget(new QLabel(tr("Thresholding"), this), 3, 2);
  form->addWidget(thresholding_, 3, 3);
  form->addWidget(new QLabel(tr("Checkpoint"), this), 4, 0);
  form->addWidget(checkpointA_, 4, 1);
  form->addLayout(second, 4, 2, 1, 2);
  form->addWidget(new QLabel(tr("Steps shown"), this), 5, 0);
  form->addWidget(gridSteps_, 5, 1);
  form->addWidget(new QLabel(tr("Word swap"), this), 5, 2);
  auto* swapping = new QHBoxLayout;
  swapping->addWidget(swap_);
  swapping->addLayout(injection, 1);
  form->addLayout(swapping, 5, 3);
  form->setColumnStretch(1, 1);
  form->setColumnStretch(3, 1);
  return form;
}

QLayout* ComparePage::createButtons() {
  compare_ = new QPushButton(tr("Compare"), this);
  compare_->setObjectName(QStringLiteral("compareButton"));
  compare_->setDefault(true);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setObjectName(QStringLiteral("compareCancel"));
  export_ = new QPushButton(tr("Export PNG…"), this);
  export_->setObjectName(QStringLiteral("exportButton"));
  open_ = new QPushButton(tr("Open PNG…"), this);
  open_->setObjectName(QStringLiteral("compareOpenButton"));
  open_->setToolTip(tr("Fill the form from a saved image or an exported grid"));
  progress_ = new QProgressBar(this);
  progress_->setObjectName(QStringLiteral("compareProgress"));
  progress_->setValue(0);

  connect(compare_, &QPushButton::clicked, this, &ComparePage::compare);
  connect(cancel_, &QPushButton::clicked, this, &ComparePage::cancel);
  connect(export_, &QPushButton::clicked, this, [this] {
    const ComparisonForm shown = form();
    const SaveTarget target = askSavePng(this, tr("Export grid"), proposedGridName(shown.prompt, shown.seeds, shown.scales));
    if (!target.path.isEmpty()) exportPng(target.path, target.scale);
  });
  connect(open_, &QPushButton::clicked, this, [this] {
    const QString path = askOpenPng(this, tr("Open image"));
    if (!path.isEmpty()) openPng(path);
  });

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(compare_);
  buttons->addWidget(cancel_);
  buttons->addWidget(progress_, 1);
  buttons->addWidget(export_);
  buttons->addWidget(open_);
  return buttons;
}

void ComparePage::connectJob() {
  connect(job_, &SamplingJob::status, this, [this](const QString& text) { setStatus(text); });
  connect(job_, &SamplingJob::stepReached, this, [this](const StepFrame& frame) {
    progress_->setValue(running_ ? frame.task * running_->stepsPerTask() + frame.step : frame.step);
  });
  connect(job_, &SamplingJob::taskFinished, this, &ComparePage::onTaskFinished);
  connect(job_, &SamplingJob::finished, this, [this](bool cancelled) {
    setBusy(false);
    const bool completed = !cancelled && grid_->isComplete();
    setStatus(cancelled ? tr("Cancelled.") : doneText());
    Q_EMIT comparisonFinished(completed);
  });
  connect(job_, &SamplingJob::failed, this, [this](const QString& message) {
    setBusy(false);
    setStatus(tr("Comparison failed: %1").arg(message), true);
    Q_EMIT comparisonFinished(false);
  });
  connect(job_, &SamplingJob::idle, this, &JobPage::jobsIdle);
}

QString ComparePage::doneText() const {
  if (!single_) return tr("Done: same seeds in every column, only the guidance differs.");
  if (single_->mode() == CompareMode::Trajectory)
    return tr("Done: one batch, so every row has the same x_T and noise draws; only the guidance differs.");
  return tr("Done: A and B have the same seed and noise; only the word differs (and, where injected, not the attention).");
}

void ComparePage::onModeChanged() {
  const auto mode = static_cast<CompareMode>(mode_->currentData().toInt());
  // Each mode's own controls; the two-checkpoint columns belong to the scales × seeds grid.
  useB_->setEnabled(mode == CompareMode::ScalesBySeeds);
  checkpointB_->setEnabled(mode == CompareMode::ScalesBySeeds && useB_->isChecked());
  gridSteps_->setEnabled(mode == CompareMode::Trajectory);
  swap_->setEnabled(mode == CompareMode::WordSwap);
  inject_->setEnabled(mode == CompareMode::WordSwap);
  // A trajectory's rows default to the paper's scales; leaving the mode gives the columns' back.
  const bool trajectory = mode == CompareMode::Trajectory;
  if (trajectory == scalesOutsideTrajectory_.has_value()) return;
  if (trajectory) {
    scalesOutsideTrajectory_ = scales_->text();
    QStringList paper;
    for (const double w : t2i::sample::kTrajectoryScales) paper << QString::number(w);
    scales_->setText(paper.join(QStringLiteral(", ")));
  } else {
    scales_->setText(*scalesOutsideTrajectory_);
    scalesOutsideTrajectory_.reset();
  }
}

void ComparePage::showTrajectory() {
  for (int column = 0; column < single_->steps().size(); ++column) {
    const std::optional<StepFrame> frame = job_->recordedStep(single_->steps().at(column));
    if (!frame) continue;
    for (int row = 0; row < std::min(grid_->rowCount(), static_cast<int>(frame->x0.size())); ++row)
      grid_->setImage(row, column, frame->x0.at(row));
  }
}

void ComparePage::onTaskFinished(const TaskResult& result) {
  if (result.task == 0) topLeftModel_ = result.model;
  if (single_) {
    if (single_->mode() == CompareMode::Trajectory) showTrajectory();
    if (single_->mode() == CompareMode::WordSwap && result.mapTop > 0)
      grid_->setLabels(single_->titleWithMapScale(result.mapTop), single_->columnLabels(), single_->rowLabels());
    for (int column = 0; single_->mode() == CompareMode::WordSwap && column < result.images.size(); ++column)
      grid_->setImage(0, column, result.images.at(column));
    progress_->setValue(progress_->maximum());
    return;
  }
  for (int row = 0; row < std::min(running_->rows(), static_cast<int>(result.images.size())); ++row)
    grid_->setImage(row, result.task, result.images.at(row));
  progress_->setValue((result.task + 1) * running_->stepsPerTask());
}

void ComparePage::loadSettings() {
  prompt_->setText(settings::comparePrompt.value());
  scales_->setText(settings::compareScales.value());
  seeds_->setText(settings::compareSeeds.value());
  steps_->setValue(settings::compareSteps.value());
  selectComboData(sampler_, settings::compareSampler.value());
  selectComboData(thresholding_, settings::compareThresholding.value());
  useB_->setChecked(settings::compareUseSecondCheckpoint.value());
  const QString second = settings::compareSecondCheckpoint.value();
  if (QFileInfo(second).isFile()) checkpointB_->setPath(second);
}

void ComparePage::saveSettings() const {
  settings::comparePrompt.setValue(prompt_->text());
  settings::compareScales.setValue(scalesOutsideTrajectory_.value_or(scales_->text()));
  settings::compareSeeds.setValue(seeds_->text());
  settings::compareSteps.setValue(steps_->value());
  settings::compareSampler.setValue(sampler_->currentData().toString());
  settings::compareThresholding.setValue(thresholding_->currentData().toString());
  settings::compareUseSecondCheckpoint.setValue(useB_->isChecked());
  settings::compareSecondCheckpoint.setValue(checkpointB_->path());
}

ComparisonForm ComparePage::form() const {
  ComparisonForm form;
  form.mode = static_cast<CompareMode>(mode_->currentData().toInt());
  form.gridSteps = gridSteps_->text();
  form.swap = swap_->text();
  form.inject = inject_->value() / 100.0;
  form.prompt = prompt_->text();
  form.scales = scales_->text();
  form.seeds = seeds_->text();
  form.steps = steps_->value();
  form.sampler = sampler_->currentData().toString();
  form.samplerLabel = sampler_->currentText();
  form.thresholding = thresholding_->currentData().toString();
  form.checkpoints = {checkpointA_->path()};
  if (useB_->isChecked()) form.checkpoints << checkpointB_->path();
  return form;
}

void ComparePage::applyForm(const ComparisonForm& form) {
  mode_->setCurrentIndex(mode_->findData(static_cast<int>(form.mode)));
  gridSteps_->setText(form.gridSteps);
  swap_->setText(form.swap);
  inject_->setValue(qRound(form.inject * 100));
  prompt_->setText(form.prompt);
  scales_->setText(form.scales);
  seeds_->setText(form.seeds);
  steps_->setValue(form.steps);
  selectComboData(sampler_, form.sampler);
  selectComboData(thresholding_, form.thresholding);
  const auto pick = [](CheckpointPicker* picker, const QString& path) {
    if (QFileInfo(path).isFile()) picker->setPath(path);
  };
  if (!form.checkpoints.isEmpty()) pick(checkpointA_, form.checkpoints.first());
  useB_->setChecked(form.checkpoints.size() > 1);
  if (form.checkpoints.size() > 1) pick(checkpointB_, form.checkpoints.at(1));
}

bool ComparePage::compare() {
  if (isRunning()) return false;
  const ComparisonForm shown = form();
  if (shown.mode == CompareMode::ScalesBySeeds) {
    auto planned = Comparison::plan(shown);
    if (const QString* reason = std::get_if<QString>(&planned)) {
      setStatus(*reason, true);
      return false;
    }
    const Comparison& comparison = std::get<Comparison>(planned);
    grid_->setLabels(comparison.title(), comparison.columnLabels(), comparison.rowLabels());
    running_ = comparison;
    single_.reset();
    const int tasks = static_cast<int>(comparison.tasks().size());
    return start(comparison.tasks(), false, tasks * comparison.stepsPerTask(),
                 tr("Sampling %1 images…").arg(tasks * comparison.rows()));
  }
  auto planned = SingleTaskComparison::plan(shown);
  if (const QString* reason = std::get_if<QString>(&planned)) {
    setStatus(*reason, true);
    return false;
  }
  const SingleTaskComparison& single = std::get<SingleTaskComparison>(planned);
  grid_->setLabels(single.title(), single.columnLabels(), single.rowLabels());
  single_ = single;
  running_.reset();
  const bool trajectory = single.mode() == CompareMode::Trajectory;
  return start({single.task()}, trajectory, single.task().request.steps,
               trajectory ? tr("Sampling one trajectory at %1 scales…").arg(grid_->rowCount()) : tr("Sampling both prompts…"));
}

bool ComparePage::start(const QVector<SamplingTask>& tasks, bool recordSteps, int progressSteps, const QString& status) {
  progress_->setRange(0, progressSteps);
  progress_->setValue(0);
  topLeftModel_.reset();
  if (!job_->run(tasks, recordSteps)) return false;
  setStatus(status);
  setBusy(true);
  saveSettings();
  return true;
}

void ComparePage::cancel() {
  if (isRunning()) {
    job_->cancel();
    setStatus(tr("Cancelling…"));
  }
}

bool ComparePage::isRunning() const { return job_->isRunning(); }

bool ComparePage::hasRunningJob() const { return job_->isRunning(); }

QString ComparePage::runningJobDescription() const {
  return tr("Comparing guidance scales (%1 of %2 steps)").arg(progress_->value()).arg(progress_->maximum());
}

void ComparePage::stopJobs() { cancel(); }

bool ComparePage::exportPng(const QString& path, int scale) {
  if (!grid_->isComplete() || !(running_ || single_) || !topLeftModel_) {
    setStatus(tr("Nothing to export yet: run a comparison first."), true);
    return false;
  }
  try {
    const auto text = t2i::sample::to_png_text(running_ ? running_->gridMetadata(*topLeftModel_) : single_->gridMetadata(*topLeftModel_));
    t2i::sample::write_png(path.toStdString(), fromQImage(enlarged(grid_->render(), scale)), text);
  } catch (const std::exception& e) {
    setStatus(tr("Cannot export: %1").arg(QString::fromUtf8(e.what())), true);
    return false;
  }
  setStatus(tr("Exported %1").arg(QFileInfo(path).fileName()));
  return true;
}

bool ComparePage::openPng(const QString& path) {
  if (isRunning()) {
    setStatus(tr("Wait for the comparison to finish (or cancel it) before opening an image."), true);
    return false;
  }
  std::optional<t2i::sample::ImageMetadata> read;
  try {
    read = t2i::sample::read_image_metadata(t2i::sample::read_png_text(path.toStdString()), path.toStdString());
  } catch (const std::exception& e) {
    setStatus(tr("Cannot open: %1").arg(QString::fromUtf8(e.what())), true);
    return false;
  }
  const QString name = QFileInfo(path).fileName();
  if (!read) {
    setStatus(tr("%1 has no generation settings in it.").arg(name), true);
    return false;
  }
  applyForm(formFromMetadata(*read, form()));
  setStatus(tr("Restored the settings of %1; press Compare to sample them.").arg(name));
  return true;
}

QString ComparePage::statusText() const { return status_->text(); }

void ComparePage::setBusy(bool busy) {
  compare_->setEnabled(!busy);
  cancel_->setEnabled(busy);
  open_->setEnabled(!busy);
  export_->setEnabled(!busy && grid_->isComplete());
}

void ComparePage::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
}

} // namespace t2i::ui
