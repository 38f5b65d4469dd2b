#include "cascade_controls.h"

#include "sampling/checkpoints.h"

#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <exception>

namespace t2i::ui {
namespace {
// Each spin box's lowest value stands for "unset": the stage model's preset default (guidance,
// aug) or the base stage's steps, as the core's stage_request fills them.
constexpr double kUnsetGuidance = -0.5;
constexpr double kUnsetAug = -0.05;
constexpr int kUnsetSteps = 0;
constexpr int kMaxSteps = 1000;
} // namespace

CascadeControls::CascadeControls(QWidget* parent)
    : QWidget(parent), label_(new QLabel(tr("none: one model"), this)), browse_(new QToolButton(this)),
      clear_(new QToolButton(this)), stagesBox_(new QWidget(this)), stagesGrid_(new QGridLayout(stagesBox_)) {
  label_->setObjectName(QStringLiteral("cascadeLabel"));
  label_->setEnabled(false);
  browse_->setObjectName(QStringLiteral("cascadeBrowse"));
  browse_->setText(tr("Cascade…"));
  browse_->setToolTip(tr("Sample a cascade: a base model, then super-resolution stages that enlarge its images "
                         "(a cascade file, JSON). The demo model's own, demo-cascade.json, makes 64×64 images."));
  clear_->setObjectName(QStringLiteral("cascadeClear"));
  clear_->setText(QStringLiteral("×"));
  clear_->setToolTip(tr("Back to the checkpoint alone"));
  clear_->setEnabled(false);
  stagesGrid_->setContentsMargins(0, 0, 0, 0);
  stagesBox_->hide();
  auto* choice = new QHBoxLayout;
  choice->addWidget(label_, 1);
  choice->addWidget(browse_);
  choice->addWidget(clear_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(choice);
  layout->addWidget(stagesBox_);
  connect(browse_, &QToolButton::clicked, this, &CascadeControls::browse);
  connect(clear_, &QToolButton::clicked, this, &CascadeControls::clear);
}

bool CascadeControls::open(const QString& file) {
  try {
    cascade_ = t2i::sample::read_cascade(file.toStdString());
  } catch (const std::exception& e) {
    Q_EMIT failed(QString::fromUtf8(e.what()));
    return false;
  }
  file_ = QFileInfo(file).absoluteFilePath();
  label_->setText(QFileInfo(file).fileName());
  label_->setToolTip(file_);
  label_->setEnabled(true);
  clear_->setEnabled(true);
  showStages();
  Q_EMIT chosen(file_);
  return true;
}

bool CascadeControls::restore(const QString& file, const t2i::sample::Cascade& recorded) {
  if (file.isEmpty() || !QFileInfo(file).isFile() || !open(file)) {
    clear();
    return false;
  }
  for (std::size_t stage = 1; stage < recorded.stages.size() && stage < cascade_.stages.size(); ++stage) {
    const t2i::sample::CascadeStage& settings = recorded.stages[stage];
    const Row& row = rows_[stage - 1];
    if (settings.guidance) row.guidance->setValue(*settings.guidance);
    if (settings.steps) row.steps->setValue(*settings.steps);
    if (settings.aug) row.aug->setValue(*settings.aug);
  }
  return true;
}

void CascadeControls::clear() {
  file_.clear();
  cascade_ = {};
  label_->setText(tr("none: one model"));
  label_->setToolTip(QString());
  label_->setEnabled(false);
  clear_->setEnabled(false);
  showStages();
  Q_EMIT cleared();
}

QString CascadeControls::baseCheckpoint() const {
  return cascade_.stages.empty() ? QString() : QString::fromStdString(cascade_.stages.front().checkpoint);
}

t2i::sample::CascadeStage CascadeControls::fileBase() const {
  return cascade_.stages.empty() ? t2i::sample::CascadeStage{} : cascade_.stages.front();
}

t2i::sample::Cascade CascadeControls::cascade() const {
  t2i::sample::Cascade out;
  if (cascade_.stages.empty()) return out;
  out.stages.push_back({cascade_.stages.front().checkpoint, {}, {}, {}, {}});
  for (std::size_t stage = 1; stage < cascade_.stages.size(); ++stage) {
    const Row& row = rows_[stage - 1];
    t2i::sample::CascadeStage s = cascade_.stages[stage];
    s.guidance = row.guidance->value() >= 0 ? std::optional<double>(row.guidance->value()) : std::nullopt;
    s.steps = row.steps->value() >= 1 ? std::optional<int>(row.steps->value()) : std::nullopt;
    s.aug = row.aug->value() >= 0 ? std::optional<double>(row.aug->value()) : std::nullopt;
    out.stages.push_back(s);
  }
  return out;
}

void CascadeControls::browse() {
  // The first time, the demo model's folder: its demo-cascade.json is the one cascade every user has.
  const QString demo = demoCheckpointPath();
  const QString start = !file_.isEmpty() ? QFileInfo(file_).absolutePath() : demo.isEmpty() ? QString() : QFileInfo(demo).absolutePath();
  const QString chosenFile =
      QFileDialog::getOpenFileName(this, tr("Open cascade"), start, tr("Cascade files (*.json);;All files (*)"));
  if (!chosenFile.isEmpty()) open(chosenFile);
}

void CascadeControls::showStages() {
  while (QLayoutItem* item = stagesGrid_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  rows_.clear();
  stagesBox_->setVisible(cascade_.stages.size() > 1);
  if (cascade_.stages.size() < 2) return;
  stagesGrid_->addWidget(new QLabel(tr("Stage"), stagesBox_), 0, 0);
  stagesGrid_->addWidget(new QLabel(tr("Guidance"), stagesBox_), 0, 1);
  stagesGrid_->addWidget(new QLabel(tr("Steps"), stagesBox_), 0, 2);
  stagesGrid_->addWidget(new QLabel(tr("Aug"), stagesBox_), 0, 3);
  for (std::size_t stage = 1; stage < cascade_.stages.size(); ++stage) {
    const t2i::sample::CascadeStage& settings = cascade_.stages[stage];
    const int line = static_cast<int>(stage);
    const QString name = QFileInfo(QString::fromStdString(settings.checkpoint)).fileName();
    auto* label = new QLabel(QString::number(stage + 1), stagesBox_);
    label->setToolTip(tr("Super-resolution stage %1: %2").arg(stage + 1).arg(name));
    Row row{new QDoubleSpinBox(stagesBox_), new QSpinBox(stagesBox_), new QDoubleSpinBox(stagesBox_)};
    row.guidance->setObjectName(QStringLiteral("stageGuidance%1").arg(line));
    row.guidance->setRange(kUnsetGuidance, 100.0);
    row.guidance->setSingleStep(0.5);
    row.guidance->setDecimals(1);
    row.guidance->setSpecialValueText(tr("preset"));
    row.guidance->setValue(settings.guidance.value_or(kUnsetGuidance));
    row.guidance->setToolTip(tr("This stage's classifier-free guidance scale w; “preset”: its preset's cond scale"));
    row.steps->setObjectName(QStringLiteral("stageSteps%1").arg(line));
    row.steps->setRange(kUnsetSteps, kMaxSteps);
    row.steps->setSpecialValueText(tr("as base"));
    row.steps->setValue(settings.steps.value_or(kUnsetSteps));
    row.steps->setToolTip(tr("This stage's denoising steps; “as base”: the base stage's"));
    row.aug->setObjectName(QStringLiteral("stageAug%1").arg(line));
    row.aug->setRange(kUnsetAug, 1.0);
    row.aug->setSingleStep(0.05);
    row.aug->setDecimals(2);
    row.aug->setSpecialValueText(tr("preset"));
    row.aug->setValue(settings.aug.value_or(kUnsetAug));
    row.aug->setToolTip(tr("Noise conditioning augmentation: how noisy this stage sees the image it enlarges (a "
                           "diffusion time, 0 = clean; Imagen §2.3); “preset”: its preset's level"));
    stagesGrid_->addWidget(label, line, 0);
    stagesGrid_->addWidget(row.guidance, line, 1);
    stagesGrid_->addWidget(row.steps, line, 2);
    stagesGrid_->addWidget(row.aug, line, 3);
    rows_.push_back(row);
  }
}

} // namespace t2i::ui
