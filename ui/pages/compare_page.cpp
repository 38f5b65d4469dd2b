#include "compare_page.h"

#include "pages/page_intro.h"
#include "sampling/checkpoints.h"
#include "settings.h"
#include "widgets/checkpoint_picker.h"
#include "widgets/labelled_image_grid.h"
#include "widgets/sampler_choices.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace t2i::ui {
namespace {
constexpr double kMaxScale = 30.0;

QStringList splitList(const QString& text) {
  return text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts);
}

QString formatScale(double w) { return QString::number(w, 'g', 4); }
} // namespace

ComparePage::ComparePage(QWidget* parent) : JobPage(parent), job_(new SamplingJob(QStringLiteral("compare"), this)) {
  prompt_ = new QLineEdit(this);
  prompt_->setObjectName(QStringLiteral("comparePrompt"));
  prompt_->setPlaceholderText(tr("describe the image"));
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

  auto* form = new QGridLayout;
  form->addWidget(new QLabel(tr("Prompt"), this), 0, 0);
  form->addWidget(prompt_, 0, 1, 1, 3);
  form->addWidget(new QLabel(tr("Guidance scales"), this), 1, 0);
  form->addWidget(scales_, 1, 1);
  form->addWidget(new QLabel(tr("Seeds"), this), 1, 2);
  form->addWidget(seeds_, 1, 3);
  form->addWidget(new QLabel(tr("Steps"), this), 2, 0);
  auto* sampling = new QHBoxLayout;
  sampling->addWidget(steps_);
  sampling->addWidget(sampler_, 1);
  form->addLayout(sampling, 2, 1);
  form->addWidget(new QLabel(tr("Thresholding"), this), 2, 2);
  form->addWidget(thresholding_, 2, 3);
  form->addWidget(new QLabel(tr("Checkpoint"), this), 3, 0);
  form->addWidget(checkpointA_, 3, 1);
  auto* second = new QHBoxLayout;
  second->addWidget(useB_);
  second->addWidget(checkpointB_, 1);
  form->addLayout(second, 3, 2, 1, 2);
  form->setColumnStretch(1, 1);
  form->setColumnStretch(3, 1);

  compare_ = new QPushButton(tr("Compare"), this);
  compare_->setObjectName(QStringLiteral("compareButton"));
  compare_->setDefault(true);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setObjectName(QStringLiteral("compareCancel"));
  export_ = new QPushButton(tr("Export PNG…"), this);
  export_->setObjectName(QStringLiteral("exportButton"));
  progress_ = new QProgressBar(this);
  progress_->setObjectName(QStringLiteral("compareProgress"));
  progress_->setValue(0);
  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("compareStatus"));
  status_->setWordWrap(true);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(compare_);
  buttons->addWidget(cancel_);
  buttons->addWidget(progress_, 1);
  buttons->addWidget(export_);

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

  connect(compare_, &QPushButton::clicked, this, &ComparePage::compare);
  connect(prompt_, &QLineEdit::returnPressed, this, &ComparePage::compare);
  connect(cancel_, &QPushButton::clicked, this, &ComparePage::cancel);
  connect(export_, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export grid"), QString(), tr("PNG images (*.png)"));
    if (!path.isEmpty()) exportPng(path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive) ? path : path + QStringLiteral(".png"));
  });

  connect(job_, &SamplingJob::status, this, [this](const QString& text) { setStatus(text); });
  connect(job_, &SamplingJob::stepReached, this, [this](const StepFrame& frame) {
    progress_->setValue(frame.task * steps_per_task_ + frame.step);
  });
  connect(job_, &SamplingJob::taskFinished, this, [this](const TaskResult& result) {
    for (int row = 0; row < std::min(rows_, static_cast<int>(result.images.size())); ++row)
      grid_->setImage(row, result.task, result.images.at(row));
    progress_->setValue((result.task + 1) * steps_per_task_);
  });
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

  loadSettings();
  checkpointB_->setEnabled(useB_->isChecked());
  setBusy(false);
}

ComparePage::~ComparePage() { saveSettings(); }

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

std::optional<QList<double>> ComparePage::parseScales(const QString& text) {
  QList<double> scales;
  for (const QString& item : splitList(text)) {
    bool ok = false;
    const double w = item.toDouble(&ok);
    if (!ok || w < 0 || w > kMaxScale) return std::nullopt;
    scales << w;
  }
  if (scales.isEmpty() || scales.size() > kMaxScales) return std::nullopt;
  return scales;
}

std::optional<QList<std::uint64_t>> ComparePage::parseSeeds(const QString& text) {
  QList<std::uint64_t> seeds;
  for (const QString& item : splitList(text)) {
    bool ok = false;
    const std::uint64_t seed = item.toULongLong(&ok);
    if (!ok) return std::nullopt;
    seeds << seed;
  }
  if (seeds.isEmpty() || seeds.size() > kMaxSeeds) return std::nullopt;
  return seeds;
}

bool ComparePage::compare() {
  if (isRunning()) return false;
  const QString prompt = prompt_->text().trimmed();
  const auto scales = parseScales(scales_->text());
  const auto seeds = parseSeeds(seeds_->text());
  QStringList checkpoints = {checkpointA_->path()};
  if (useB_->isChecked()) checkpoints << checkpointB_->path();
  if (prompt.isEmpty()) {
    setStatus(tr("Type a prompt first."), true);
    return false;
  }
  if (!scales) {
    setStatus(tr("Guidance scales: 1 to %1 numbers between 0 and %2, e.g. \"5, 8\".").arg(kMaxScales).arg(kMaxScale), true);
    return false;
  }
  if (!seeds) {
    setStatus(tr("Seeds: 1 to %1 whole numbers, e.g. \"0, 1, 2\".").arg(kMaxSeeds), true);
    return false;
  }
  if (checkpoints.contains(QString())) {
    setStatus(tr("Choose a checkpoint for every column first."), true);
    return false;
  }

  QVector<SamplingTask> tasks;
  QStringList columns;
  for (const QString& checkpoint : checkpoints)
    for (double w : *scales) {
      SamplingTask task;
      task.checkpoint = checkpoint;
      for (std::uint64_t seed : *seeds) {
        task.request.prompts.push_back(prompt.toStdString());
        task.request.seeds.push_back(seed);
      }
      task.request.guidance = w;
      task.request.steps = steps_->value();
      task.request.sampler = diffusion::parse_sampler_kind(sampler_->currentData().toString().toStdString());
      task.request.thresholding = diffusion::parse_threshold_kind(thresholding_->currentData().toString().toStdString());
      tasks << task;
      QString label = tr("w = %1").arg(formatScale(w));
      if (checkpoints.size() > 1) label += QLatin1Char('\n') + checkpointLabel(checkpoint);
      columns << label;
    }
  QStringList rows;
  for (std::uint64_t seed : *seeds) rows << tr("seed %1").arg(seed);
  grid_->setLabels(tr("\"%1\" · %2, %3 steps").arg(prompt, sampler_->currentText()).arg(steps_->value()), columns, rows);

  steps_per_task_ = steps_->value();
  rows_ = static_cast<int>(seeds->size());
  progress_->setRange(0, static_cast<int>(tasks.size()) * steps_per_task_);
  progress_->setValue(0);
  if (!job_->run(tasks, false)) return false;
  setStatus(tr("Sampling %1 images…").arg(tasks.size() * seeds->size()));
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

bool ComparePage::exportPng(const QString& path) {
  if (!grid_->isComplete()) {
    setStatus(tr("Nothing to export yet: run a comparison first."), true);
    return false;
  }
  QImage image = grid_->render();
  image.setText(QStringLiteral("prompt"), prompt_->text().trimmed());
  image.setText(QStringLiteral("guidance scales"), grid_->columnLabels().join(QStringLiteral("; ")));
  image.setText(QStringLiteral("seeds"), seeds_->text());
  if (!image.save(path, "PNG")) {
    setStatus(tr("Cannot write %1").arg(path), true);
    return false;
  }
  setStatus(tr("Exported %1").arg(QFileInfo(path).fileName()));
  return true;
}

QString ComparePage::statusText() const { return status_->text(); }

void ComparePage::setBusy(bool busy) {
  compare_->setEnabled(!busy);
  cancel_->setEnabled(busy);
  export_->setEnabled(!busy && grid_->isComplete());
}

void ComparePage::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
}

} // namespace t2i::ui
