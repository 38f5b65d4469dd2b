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
                                     "checkpoint for more columns."),
                                  this));
  layout->addLayout(form);
  layout->addLayout(buttons);
  layout->addWidget(status_);
  layout->addWidget(grid_, 1);

  connectJob();
  loadSettings();
  checkpointB_->setEnabled(useB_->isChecked());
  setBusy(false);
}

ComparePage::~ComparePage() { saveSettings(); }

QGridLayout* ComparePage::createForm() {
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
  connect(useB_, &QCheckBox::toggled, checkpointB_, &QWidget::setEnabled);

  auto* sampling = new QHBoxLayout;
  sampling->addWidget(steps_);
  sampling->addWidget(sampler_, 1);
  auto* second = new QHBoxLayout;
  second->addWidget(useB_);
  second->addWidget(checkpointB_, 1);

  auto* form = new QGridLayout;
  form->addWidget(new QLabel(tr("Prompt"), this), 0, 0);
  form->addWidget(prompt_, 0, 1, 1, 3);
  form->addWidget(new QLabel(tr("Guidance scales"), this), 1, 0);
  form->addWidget(scales_, 1, 1);
  form->addWidget(new QLabel(tr("Seeds"), this), 1, 2);
  form->addWidget(seeds_, 1, 3);
  form->addWidget(new QLabel(tr("Steps"), this), 2, 0);
  form->addLayout(sampling, 2, 1);
  form->addWidget(new QLabel(tr("Thresholding"), this), 2, 2);
  form->addWidget(thresholding_, 2, 3);
  form->addWidget(new QLabel(tr("Checkpoint"), this), 3, 0);
  form->addWidget(checkpointA_, 3, 1);
  form->addLayout(second, 3, 2, 1, 2);
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
    progress_->setValue(frame.task * running_->stepsPerTask() + frame.step);
  });
  connect(job_, &SamplingJob::taskFinished, this, &ComparePage::onTaskFinished);
  connect(job_, &SamplingJob::finished, this, [this](bool cancelled) {
    setBusy(false);
    const bool completed = !cancelled && grid_->isComplete();
    setStatus(cancelled ? tr("Cancelled.") : tr("Done: same seeds in every column, only the guidance differs."));
    Q_EMIT comparisonFinished(completed);
  });
  connect(job_, &SamplingJob::failed, this, [this](const QString& message) {
    setBusy(false);
    setStatus(tr("Comparison failed: %1").arg(message), true);
    Q_EMIT comparisonFinished(false);
  });
  connect(job_, &SamplingJob::idle, this, &JobPage::jobsIdle);
}

void ComparePage::onTaskFinished(const TaskResult& result) {
  if (result.task == 0) topLeftModel_ = result.model;
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
  settings::compareScales.setValue(scales_->text());
  settings::compareSeeds.setValue(seeds_->text());
  settings::compareSteps.setValue(steps_->value());
  settings::compareSampler.setValue(sampler_->currentData().toString());
  settings::compareThresholding.setValue(thresholding_->currentData().toString());
  settings::compareUseSecondCheckpoint.setValue(useB_->isChecked());
  settings::compareSecondCheckpoint.setValue(checkpointB_->path());
}

ComparisonForm ComparePage::form() const {
  ComparisonForm form;
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
  auto planned = Comparison::plan(form());
  if (const QString* reason = std::get_if<QString>(&planned)) {
    setStatus(*reason, true);
    return false;
  }
  const Comparison& comparison = std::get<Comparison>(planned);
  grid_->setLabels(comparison.title(), comparison.columnLabels(), comparison.rowLabels());
  const int tasks = static_cast<int>(comparison.tasks().size());
  progress_->setRange(0, tasks * comparison.stepsPerTask());
  progress_->setValue(0);
  running_ = comparison;
  topLeftModel_.reset();
  if (!job_->run(comparison.tasks(), false)) return false;
  setStatus(tr("Sampling %1 images…").arg(tasks * comparison.rows()));
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
  if (!grid_->isComplete() || !running_ || !topLeftModel_) {
    setStatus(tr("Nothing to export yet: run a comparison first."), true);
    return false;
  }
  try {
    const auto text = t2i::sample::to_png_text(running_->gridMetadata(*topLeftModel_));
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
