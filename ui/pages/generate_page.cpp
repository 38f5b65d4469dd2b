#include "generate_page.h"

#include "pages/page_intro.h"
#include "sampling/checkpoints.h"
#include "settings.h"
#include "sampling/image_conversion.h"
#include "sampling/image_files.h"
#include "widgets/cascade_controls.h"
#include "widgets/checkpoint_picker.h"
#include "widgets/filmstrip.h"
#include "widgets/generation_history.h"
#include "widgets/guidance_slider.h"
#include "widgets/inside_panels.h"
#include "widgets/neighbour_panel.h"
#include "widgets/pixel_image_view.h"
#include "widgets/sampler_choices.h"

#include "t2i/log.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QStyle>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <exception>
#include <numeric>

namespace t2i::ui {
namespace {
/// Quiet time after the last slider move before regenerating.
constexpr int kRegenerateDelayMs = 350;
// The steps box's ceiling; a model whose schedule gives fewer lowers it when it loads.
constexpr int kMaxSteps = 1000;
// The controls column's width; the views take the rest of the page.
constexpr int kControlsWidth = 380;
// The results' thumbnails: a whole multiple of the demo model's 32 pixels.
constexpr int kResultEdge = 96;

bool isPng(const QMimeData* mime) {
  if (mime == nullptr || !mime->hasUrls() || mime->urls().isEmpty()) return false;
  const QUrl url = mime->urls().first();
  return url.isLocalFile() && url.toLocalFile().endsWith(QStringLiteral(".png"), Qt::CaseInsensitive);
}
} // namespace

GeneratePage::GeneratePage(QWidget* parent) : JobPage(parent), job_(new SamplingJob(QStringLiteral("generate"), this)) {
  setAcceptDrops(true);
  auto* work = new QHBoxLayout;
  work->addWidget(createControls());
  work->addWidget(createViews(), 1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new PageIntro(tr("Generate"),
                                  tr("Type a prompt, set the classifier-free guidance scale w and watch every "
                                     "denoising step turn noise into an image. Drop a saved PNG here to restore "
                                     "its prompt, seed and settings."),
                                  this));
  layout->addLayout(work, 1);

  regenerateTimer_ = new QTimer(this);
  regenerateTimer_->setSingleShot(true);
  regenerateTimer_->setInterval(kRegenerateDelayMs);
  connect(regenerateTimer_, &QTimer::timeout, this, [this] {
    if (!isGenerating()) {
      regenerate();
    } else if (autoRun_) {
      regeneratePending_ = true;
      job_->cancel();
    }
  });

  connect(job_, &SamplingJob::status, this, [this](const QString& text) { setStatus(text); });
  connect(job_, &SamplingJob::modelLoaded, this, &GeneratePage::onModelLoaded);
  connect(job_, &SamplingJob::stepReached, this, &GeneratePage::onStep);
  connect(job_, &SamplingJob::promptsRead, this,
          [this](int, const std::vector<t2i::text::Tokenized>& prompts) { onPromptsRead(prompts); });
  connect(job_, &SamplingJob::stepsPlanned, this, [this](int, const QList<int>& stageSteps) {
    onStepsPlanned(stageSteps);
  });
  connect(job_, &SamplingJob::taskFinished, this, &GeneratePage::onTaskFinished);
  connect(job_, &SamplingJob::finished, this, &GeneratePage::onJobFinished);
  connect(job_, &SamplingJob::failed, this, &GeneratePage::onJobFailed);
  connect(job_, &SamplingJob::loadFailed, this, &GeneratePage::onLoadFailed);
  connect(job_, &SamplingJob::idle, this, [this] {
    if (generatePending_) {
      generatePending_ = false;
      generate();
    }
    if (!isGenerating()) Q_EMIT jobsIdle();
  });
  loadSettings();
  setBusy(false);
}

GeneratePage::~GeneratePage() { saveSettings(); }

QWidget* GeneratePage::createControls() {
  auto* panel = new QWidget(this);
  auto* form = new QFormLayout;
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  addModelRows(form, panel);
  addPromptRows(form, panel);
  addSamplerRows(form, panel);
  addSeedRows(form, panel);

  auto* column = new QVBoxLayout(panel);
  column->setContentsMargins(0, 0, 0, 0);
  column->addLayout(form);
  column->addSpacing(6);
  column->addLayout(createRunControls(panel));
  column->addStretch(1);
  column->addLayout(createFileButtons(panel));

  auto* scroll = new QScrollArea(this);
  scroll->setWidget(panel);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setFixedWidth(kControlsWidth);
  return scroll;
}

void GeneratePage::addModelRows(QFormLayout* form, QWidget* panel) {
  checkpoint_ = new CheckpointPicker(panel);
  modelInfo_ = new QLabel(panel);
  modelInfo_->setObjectName(QStringLiteral("modelInfo"));
  modelInfo_->setWordWrap(true);
  modelInfo_->setEnabled(false);
  cascade_ = new CascadeControls(panel);
  form->addRow(tr("Checkpoint"), checkpoint_);
  form->addRow(QString(), modelInfo_);
  form->addRow(tr("Cascade"), cascade_);
  connect(checkpoint_, &CheckpointPicker::pathChanged, this, [this](const QString& path) {
    modelInfo_->clear();
    // Another base model is another generation than the cascade's.
    if (cascade_->active() && QFileInfo(path) != QFileInfo(cascade_->baseCheckpoint())) cascade_->clear();
    if (!path.isEmpty() && !isGenerating()) job_->load(path);
  });
  connect(cascade_, &CascadeControls::chosen, this, &GeneratePage::onCascadeChosen);
  connect(cascade_, &CascadeControls::cleared, this, &GeneratePage::updateInsideToggle);
  connect(cascade_, &CascadeControls::failed, this, [this](const QString& message) {
    setStatus(tr("Cannot use the cascade: %1").arg(message), true);
  });
}

void GeneratePage::addPromptRows(QFormLayout* form, QWidget* panel) {
  prompt_ = new QComboBox(panel);
  prompt_->setObjectName(QStringLiteral("promptBox"));
  prompt_->setEditable(true);
  prompt_->setInsertPolicy(QComboBox::NoInsert);
  prompt_->setMaxCount(kPromptHistory);
  prompt_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  prompt_->setMinimumContentsLength(20);
  prompt_->lineEdit()->setPlaceholderText(tr("describe the image"));
  prompt_->setToolTip(tr("The text the image should show; earlier prompts are in the list"));
  connect(prompt_->lineEdit(), &QLineEdit::returnPressed, this, [this] { generate(); });
  form->addRow(tr("Prompt"), prompt_);
  promptNote_ = new QLabel(panel);
  promptNote_->setObjectName(QStringLiteral("promptNote"));
  promptNote_->setWordWrap(true);
  promptNote_->setStyleSheet(QStringLiteral("color: #b35c00;"));
  promptNote_->hide();
  form->addRow(QString(), promptNote_);

  guidance_ = new GuidanceSlider(panel);
  guidance_->setObjectName(QStringLiteral("guidance"));
  guidance_->setValue(5.0);
  connect(guidance_, &GuidanceSlider::valueChanged, this, &GeneratePage::onGuidanceMoved);
  form->addRow(tr("Guidance"), guidance_);
}

void GeneratePage::addSamplerRows(QFormLayout* form, QWidget* panel) {
  steps_ = new QSpinBox(panel);
  steps_->setObjectName(QStringLiteral("stepsSpin"));
  steps_->setRange(1, kMaxSteps);
  steps_->setValue(50);
  steps_->setToolTip(tr("Denoising steps: 50 is plenty for DDIM, 20 for DPM++; DDPM wants hundreds"));
  form->addRow(tr("Steps"), steps_);

  sampler_ = createSamplerCombo(panel);
  sampler_->setObjectName(QStringLiteral("samplerCombo"));
  form->addRow(tr("Sampler"), sampler_);

  thresholding_ = createThresholdingCombo(panel);
  thresholding_->setObjectName(QStringLiteral("thresholdingCombo"));
  percentile_ = new QDoubleSpinBox(panel);
  percentile_->setObjectName(QStringLiteral("percentileSpin"));
  percentile_->setRange(0.5, 0.9999);
  percentile_->setDecimals(4);
  percentile_->setSingleStep(0.005);
  percentile_->setValue(0.995);
  percentile_->setPrefix(tr("p = "));
  percentile_->setToolTip(tr("Percentile of |x₀| used as the clipping threshold"));
  auto* thresholdRow = new QHBoxLayout;
  thresholdRow->addWidget(thresholding_, 1);
  thresholdRow->addWidget(percentile_);
  form->addRow(tr("Thresholding"), thresholdRow);
  connect(thresholding_, &QComboBox::currentIndexChanged, this, &GeneratePage::updateThresholdControls);
}

void GeneratePage::addSeedRows(QFormLayout* form, QWidget* panel) {
  seed_ = new QLineEdit(panel);
  seed_->setObjectName(QStringLiteral("seedEdit"));
  seed_->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("\\d{1,19}")), seed_));
  seed_->setText(QStringLiteral("0"));
  seed_->setToolTip(tr("The same prompt, seed and settings always give the same image"));
  randomSeed_ = new QCheckBox(tr("new each time"), panel);
  randomSeed_->setObjectName(QStringLiteral("randomSeed"));
  randomSeed_->setToolTip(tr("Draw a new seed for every generation (it is shown here, so you can keep it)"));
  auto* seedRow = new QHBoxLayout;
  seedRow->addWidget(seed_, 1);
  seedRow->addWidget(randomSeed_);
  form->addRow(tr("Seed"), seedRow);

  images_ = new QSpinBox(panel);
  images_->setObjectName(QStringLiteral("imagesSpin"));
  images_->setRange(1, kMaxImages);
  images_->setToolTip(tr("Images per generation, with consecutive seeds"));
  form->addRow(tr("Images"), images_);

  autoRegenerate_ = new QCheckBox(tr("Regenerate when the guidance changes"), panel);
  autoRegenerate_->setObjectName(QStringLiteral("autoRegenerate"));
  autoRegenerate_->setChecked(true);
  autoRegenerate_->setToolTip(tr("With a fixed seed, moving the slider re-runs the same image at the new scale"));
  form->addRow(QString(), autoRegenerate_);

  freezeNoise_ = new QCheckBox(tr("Freeze noise"), panel);
  freezeNoise_->setObjectName(QStringLiteral("freezeNoise"));
  freezeNoise_->setToolTip(tr("Moving the guidance slider re-renders with the same seed, even with a new seed each "
                              "time: the same x_T and the same noise at every step, so only the scale differs"));
  form->addRow(QString(), freezeNoise_);
  inside_ = new QCheckBox(tr("Look inside: attention and guidance"), panel);
  inside_->setObjectName(QStringLiteral("insideToggle"));
  form->addRow(QString(), inside_);
}

QLayout* GeneratePage::createRunControls(QWidget* panel) {
  generate_ = new QPushButton(tr("Generate"), panel);
  generate_->setObjectName(QStringLiteral("generateButton"));
  generate_->setDefault(true);
  cancel_ = new QPushButton(tr("Cancel"), panel);
  cancel_->setObjectName(QStringLiteral("cancelButton"));
  connect(generate_, &QPushButton::clicked, this, &GeneratePage::generate);
  connect(cancel_, &QPushButton::clicked, this, &GeneratePage::cancel);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(generate_, 1);
  buttons->addWidget(cancel_);

  progress_ = new QProgressBar(panel);
  progress_->setObjectName(QStringLiteral("progress"));
  showReady();
  status_ = new QLabel(panel);
  status_->setObjectName(QStringLiteral("status"));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* layout = new QVBoxLayout;
  layout->addLayout(buttons);
  layout->addWidget(progress_);
  layout->addWidget(status_);
  return layout;
}

QLayout* GeneratePage::createFileButtons(QWidget* panel) {
  save_ = new QPushButton(tr("Save PNG…"), panel);
  save_->setObjectName(QStringLiteral("saveButton"));
  copy_ = new QPushButton(tr("Copy"), panel);
  copy_->setObjectName(QStringLiteral("copyButton"));
  open_ = new QPushButton(tr("Open PNG…"), panel);
  open_->setObjectName(QStringLiteral("openButton"));
  open_->setToolTip(tr("Restore the prompt, seed and settings of a saved image (or drop it on this page)"));
  connect(save_, &QPushButton::clicked, this, [this] {
    const GenerationSettings shown = settings();
    const SaveTarget target =
        askSavePng(this, tr("Save image"), proposedImageName(shown.prompt, seeds_.value(selected_, shown.seed), shown.guidance));
    if (!target.path.isEmpty()) savePng(target.path, target.scale);
  });
  connect(copy_, &QPushButton::clicked, this, &GeneratePage::copyToClipboard);
  connect(open_, &QPushButton::clicked, this, [this] {
    const QString path = askOpenPng(this, tr("Open image"));
    if (!path.isEmpty()) openPng(path);
  });
  auto* files = new QHBoxLayout;
  files->addWidget(save_);
  files->addWidget(copy_);
  files->addWidget(open_);
  return files;
}

QWidget* GeneratePage::createViews() {
  auto* area = new QWidget(this);
  noisyView_ = new PixelImageView(area);
  noisyView_->setObjectName(QStringLiteral("noisyView"));
  noisyView_->setPlaceholder(tr("x_t, the image being denoised, appears here step by step"));
  noisyView_->setCaption(tr("x_t"));
  predictedView_ = new PixelImageView(area);
  predictedView_->setObjectName(QStringLiteral("predictedView"));
  predictedView_->setPlaceholder(tr("the model's current estimate of the clean image, x̂₀"));
  predictedView_->setCaption(tr("predicted x̂₀"));
  // The results stand beside the live views, not below them: on a 720-pixel screen a row of
  // results under the views left the views a few dozen pixels high.
  auto* views = new QHBoxLayout;
  views->addWidget(noisyView_, 1);
  views->addWidget(predictedView_, 1);
  views->addWidget(createResultsColumn(area));

  auto* layout = new QVBoxLayout(area);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(views, 1);
  layout->addWidget(createFilmstripBox(area));
  return area;
}

QWidget* GeneratePage::createResultsColumn(QWidget* area) {
  auto* strip = new QWidget;
  resultsColumn_ = new QVBoxLayout(strip);
  resultsColumn_->setContentsMargins(0, 0, 0, 0);
  resultsColumn_->addStretch(1);
  auto* scroll = new QScrollArea;
  scroll->setWidget(strip);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setFixedWidth(kResultEdge + scroll->style()->pixelMetric(QStyle::PM_ScrollBarExtent) + 4);

  auto* box = new QGroupBox(tr("Results"), area);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(scroll);
  return box;
}

QWidget* GeneratePage::createFilmstripBox(QWidget* area) {
  scrubber_ = new QSlider(Qt::Horizontal, area);
  scrubber_->setObjectName(QStringLiteral("scrubber"));
  scrubber_->setRange(1, 1);
  scrubber_->setToolTip(tr("Replay any denoising step of the last generation"));
  scrubberLabel_ = new QLabel(area);
  scrubberLabel_->setMinimumWidth(scrubberLabel_->fontMetrics().horizontalAdvance(QStringLiteral("step 1000 of 1000")));
  connect(scrubber_, &QSlider::valueChanged, this, [this](int step) {
    if (!isGenerating() && haveRecording_) showStep(step);
  });
  auto* scrub = new QHBoxLayout;
  scrub->addWidget(new QLabel(tr("Replay"), area));
  scrub->addWidget(scrubber_, 1);
  scrub->addWidget(scrubberLabel_);

  filmstrip_ = new Filmstrip({tr("x_t"), tr("x̂₀")}, area);
  filmstrip_->setObjectName(QStringLiteral("filmstrip"));
  connect(filmstrip_, &Filmstrip::stepClicked, this, [this](int step) {
    if (!isGenerating()) scrubber_->setValue(step);
  });

  auto* steps = new QWidget(area);
  auto* layout = new QVBoxLayout(steps);
  layout->addWidget(filmstrip_);
  layout->addLayout(scrub);

  history_ = new GenerationHistory(area);
  history_->setObjectName(QStringLiteral("generationHistory"));
  connect(history_, &GenerationHistory::restoreRequested, this, &GeneratePage::restoreFromHistory);

  // The history shares the filmstrip's place: on a 720-pixel screen a row below it would leave
  // the live views too little height.
  insidePanels_ = new InsidePanels(area);
  auto* tabs = new QTabWidget(area);
  tabs->setObjectName(QStringLiteral("stepsAndHistory"));
  tabs->setElideMode(Qt::ElideRight);  // four tabs' full names would widen the page past 1280×720
  tabs->addTab(steps, tr("Denoising, from noise (left) to image (right)"));
  tabs->addTab(insidePanels_->attentionTab(), tr("Attention"));
  tabs->addTab(insidePanels_->anatomyTab(), tr("Guidance"));
  neighbours_ = new NeighbourPanel(area);
  neighbours_->setObjectName(QStringLiteral("neighbourPanel"));
  tabs->addTab(neighbours_, tr("Training neighbours"));
  tabs->addTab(history_, tr("History"));
  return tabs;
}

void GeneratePage::loadSettings() {
  prompt_->addItems(settings::generatePromptHistory.value().mid(0, kPromptHistory));
  prompt_->setCurrentText(settings::generatePrompt.value());
  steps_->setValue(settings::generateSteps.value());
  selectComboData(sampler_, settings::generateSampler.value());
  selectComboData(thresholding_, settings::generateThresholding.value());
  percentile_->setValue(settings::generatePercentile.value());
  seed_->setText(QString::number(settings::generateSeed.value()));
  randomSeed_->setChecked(settings::generateRandomSeed.value());
  images_->setValue(settings::generateImages.value());
  autoRegenerate_->setChecked(settings::generateAutoRegenerate.value());
  freezeNoise_->setChecked(settings::generateFreezeNoise.value());
  inside_->setChecked(settings::generateLookInside.value());
  updateThresholdControls();
  // The cascade last sampled comes back with its base checkpoint (loaded when the page is first
  // shown); the controls keep the settings last used rather than the file's base stage. Quietly:
  // so the toggle below is set here, as it is for a page without a cascade.
  const QString cascade = settings::generateCascade.value();
  if (!cascade.isEmpty() && QFileInfo(cascade).isFile()) {
    const QSignalBlocker quiet(cascade_);
    if (cascade_->open(cascade)) {
      const QSignalBlocker quietPicker(checkpoint_);
      checkpoint_->setPath(cascade_->baseCheckpoint());
    }
  }
  updateInsideToggle();
}

void GeneratePage::updateInsideToggle() {
  const bool cascade = cascade_->active();
  inside_->setEnabled(!cascade);
  inside_->setToolTip(cascade ? tr("Look inside records one model's generation, not a cascade's: clear the cascade to "
                                   "record the base model's")
                              : tr("Record every step's cross-attention maps and both halves of guidance, shown in the "
                                   "Attention and Guidance tabs below (off: nothing is recorded)"));
}

void GeneratePage::saveSettings() const {
  QStringList history;
  for (int i = 0; i < prompt_->count(); ++i) history << prompt_->itemText(i);
  settings::generatePromptHistory.setValue(history);
  settings::generatePrompt.setValue(prompt_->currentText());
  settings::generateSteps.setValue(steps_->value());
  settings::generateSampler.setValue(sampler_->currentData().toString());
  settings::generateThresholding.setValue(thresholding_->currentData().toString());
  settings::generatePercentile.setValue(percentile_->value());
  settings::generateSeed.setValue(seed_->text().toULongLong());
  settings::generateRandomSeed.setValue(randomSeed_->isChecked());
  settings::generateImages.setValue(images_->value());
  settings::generateAutoRegenerate.setValue(autoRegenerate_->isChecked());
  settings::generateFreezeNoise.setValue(freezeNoise_->isChecked());
  settings::generateLookInside.setValue(inside_->isChecked());
  settings::generateCascade.setValue(cascade_->file());
}

void GeneratePage::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  // Load the model the first time the page is seen, so the first Generate starts at once.
  if (loadedCheckpoint_.isEmpty() && !checkpoint_->path().isEmpty() && !isGenerating())
    job_->load(checkpoint_->path());
}

GenerationSettings GeneratePage::settings() const {
  GenerationSettings s;
  s.checkpoint = checkpoint_->path();
  s.prompt = prompt_->currentText().trimmed();
  s.seed = seed_->text().toULongLong();
  s.guidance = guidance_->value();
  s.steps = steps_->value();
  s.sampler = sampler_->currentData().toString();
  s.thresholding = thresholding_->currentData().toString();
  s.percentile = percentile_->value();
  s.images = images_->value();
  s.inspection = inspection();
  s.cascadeFile = cascade_->file();
  s.cascade = cascade_->cascade();
  return s;
}

t2i::sample::ImageInspection GeneratePage::inspection() const {
  t2i::sample::ImageInspection i = insidePanels_->inspection();
  i.look_inside = inside_->isChecked();
  i.freeze_noise = freezeNoise_->isChecked();
  return i;
}

void GeneratePage::applySettings(const GenerationSettings& s) {
  const QSignalBlocker guidanceBlocker(guidance_);
  if (!s.checkpoint.isEmpty() && QFileInfo(s.checkpoint).isFile()) checkpoint_->setPath(s.checkpoint);
  cascade_->restore(s.cascadeFile, s.cascade);
  prompt_->setCurrentText(s.prompt);
  seed_->setText(QString::number(s.seed));
  randomSeed_->setChecked(false);
  guidance_->setValue(s.guidance);
  steps_->setValue(s.steps);
  selectComboData(sampler_, s.sampler);
  selectComboData(thresholding_, s.thresholding);
  percentile_->setValue(s.percentile);
  updateThresholdControls();
  if (s.inspection) {
    inside_->setChecked(s.inspection->look_inside);
    freezeNoise_->setChecked(s.inspection->freeze_noise);
    insidePanels_->restore(*s.inspection);
  }
}

void GeneratePage::updateThresholdControls() {
  percentile_->setEnabled(thresholding_->currentData().toString() == QStringLiteral("dynamic"));
}

void GeneratePage::rememberPrompt(const QString& prompt) {
  const QSignalBlocker blocker(prompt_);
  for (int i = prompt_->count() - 1; i >= 0; --i)
    if (prompt_->itemText(i) == prompt) prompt_->removeItem(i);
  prompt_->insertItem(0, prompt);
  prompt_->setCurrentIndex(0);
}

bool GeneratePage::isGenerating() const { return job_->isRunning() && !job_->isLoading(); }

bool GeneratePage::hasRunningJob() const { return job_->isRunning() || neighbours_->isSearching(); }

QString GeneratePage::runningJobDescription() const {
  if (job_->isLoading()) return tr("Loading a model");
  if (!job_->isRunning()) return tr("Finding the nearest training images");
  return tr("Generating (step %1 of %2)").arg(lastStep_).arg(plannedSteps_);
}

void GeneratePage::stopJobs() {
  generatePending_ = false;
  cancel();
  job_->cancel();
  neighbours_->cancel();
}

bool GeneratePage::generate() { return startGeneration(false); }

void GeneratePage::regenerate() { autoRun_ = startGeneration(freezeNoise_->isChecked()); }

bool GeneratePage::startGeneration(bool keepSeed) {
  regenerateTimer_->stop();
  autoRun_ = false;
  if (job_->isLoading()) {
    generatePending_ = true;
    setStatus(tr("Loading the model; generating as soon as it is ready…"));
    return true;
  }
  if (isGenerating()) {
    setStatus(tr("A generation is running: cancel it first."), true);
    return false;
  }
  if (checkpoint_->path().isEmpty()) {
    setStatus(tr("Choose a checkpoint first: train a model on the Train page or open a .safetensors file."), true);
    return false;
  }
  const QString prompt = prompt_->currentText().trimmed();
  if (prompt.isEmpty()) {
    setStatus(tr("Type a prompt first."), true);
    return false;
  }
  if (randomSeed_->isChecked() && !keepSeed) seed_->setText(QString::number(QRandomGenerator::global()->generate()));
  rememberPrompt(prompt);
  running_ = settings();
  seeds_.clear();
  for (int i = 0; i < running_.images; ++i) seeds_ << running_.seed + static_cast<std::uint64_t>(i);

  results_.clear();
  metadata_.clear();
  selected_ = 0;
  showResults();
  plannedSteps_ = running_.steps;
  filmstrip_->reset(running_.steps);
  filmstripFilled_ = 0;
  haveRecording_ = false;
  lastStep_ = 0;
  noisyView_->clear();
  predictedView_->clear();
  insidePanels_->clear();
  promptNote_->hide();
  scrubber_->setRange(1, running_.steps);
  scrubber_->setValue(1);
  scrubberLabel_->clear();
  progress_->setRange(0, running_.steps);
  progress_->setFormat(tr("step %v of %m"));
  progress_->setValue(0);
  clock_.start();
  SamplingTask task;
  task.checkpoint = running_.checkpoint;
  task.request = running_.request();
  task.probes = inside_->isChecked() && !cascade_->active();
  task.cascade = running_.cascade;
  task.cascadeFile = running_.cascadeFile;
  if (!job_->run({task}, true)) {
    setStatus(tr("The sampler is busy; try again in a moment."), true);
    return false;
  }
  setStatus(tr("Generating…"));
  setBusy(true);
  saveSettings();
  return true;
}

void GeneratePage::cancel() {
  regenerateTimer_->stop();
  regeneratePending_ = false;
  generatePending_ = false;
  if (isGenerating()) {
    job_->cancel();
    setStatus(tr("Cancelling…"));
  }
}

void GeneratePage::setBusy(bool busy) {
  generate_->setEnabled(!busy);
  cancel_->setEnabled(busy);
  scrubber_->setEnabled(!busy && haveRecording_);
  const bool haveResult = !busy && !results_.isEmpty();
  save_->setEnabled(haveResult);
  copy_->setEnabled(haveResult);
  open_->setEnabled(!busy);
}

void GeneratePage::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
}

QString GeneratePage::statusText() const { return status_->text(); }

void GeneratePage::onModelLoaded(const QString& checkpoint, const t2i::sample::ModelInfo& info) {
  loadedInfo_ = tr("%1 preset · %2 M parameters · trained %3 steps · %4×%4 · text: %5")
                     .arg(QString::fromStdString(info.preset))
                     .arg(static_cast<double>(info.parameters) / 1e6, 0, 'f', 2)
                     .arg(info.step)
                     .arg(info.image_size)
                     .arg(QString::fromStdString(info.text_encoder));
  modelInfo_->setText(loadedInfo_);
  guidance_->setPresetValue(info.default_guidance);
  steps_->setMaximum(info.max_steps > 0 ? std::min(kMaxSteps, info.max_steps) : kMaxSteps);
  if (checkpoint != loadedCheckpoint_) {
    // A newly chosen model starts at its own preset's guidance scale.
    loadedCheckpoint_ = checkpoint;
    if (!isGenerating()) {
      const QSignalBlocker blocker(guidance_);
      // A cascade's base stage starts at the cascade file's scale where it sets one.
      guidance_->setValue(cascade_->active() ? cascade_->fileBase().guidance.value_or(info.default_guidance)
                                             : info.default_guidance);
    }
  }
  if (!isGenerating()) setStatus(tr("Model loaded. Type a prompt and press Generate."));
}

void GeneratePage::onStep(const StepFrame& frame) {
  lastStep_ = frame.position;
  progress_->setValue(frame.position);
  showStepFrame(frame);
  fillFilmstrip(frame.position);
  const QSignalBlocker blocker(scrubber_);
  scrubber_->setValue(frame.position);
}

void GeneratePage::onStepsPlanned(const QList<int>& stageSteps) {
  const int steps = std::accumulate(stageSteps.begin(), stageSteps.end(), 0);
  if (stageSteps.size() == 1 && steps == plannedSteps_) return;
  plannedSteps_ = steps;
  filmstrip_->reset(stageSteps);
  filmstripFilled_ = 0;
  scrubber_->setRange(1, steps);
  progress_->setRange(0, steps);
}

void GeneratePage::onCascadeChosen() {
  checkpoint_->setPath(cascade_->baseCheckpoint());
  const t2i::sample::CascadeStage base = cascade_->fileBase();
  const QSignalBlocker quiet(guidance_);  // a choice of model, not a slider move to regenerate at
  if (base.guidance) guidance_->setValue(*base.guidance);
  if (base.steps) steps_->setValue(*base.steps);
  if (base.sampler) selectComboData(sampler_, QString::fromStdString(t2i::diffusion::to_string(*base.sampler)));
  updateInsideToggle();
}

void GeneratePage::onPromptsRead(const std::vector<t2i::text::Tokenized>& prompts) {
  if (prompts.empty() || !prompts.front().truncated) {
    promptNote_->hide();
    return;
  }
  // The pieces the model kept, </s> last: the note quotes the words it stopped after.
  const t2i::text::Tokenized& read = prompts.front();
  QString kept;
  for (std::size_t i = 0; i + 1 < read.pieces.size(); ++i) kept += QString::fromStdString(read.pieces[i]);
  kept.replace(QStringLiteral("▁"), QStringLiteral(" "));
  const QStringList words = kept.simplified().split(QLatin1Char(' '));
  promptNote_->setText(tr("Too long: the model reads %1 tokens, so the prompt was cut after “…%2”.")
                           .arg(read.ids.size())
                           .arg(words.mid(std::max(0, static_cast<int>(words.size()) - 3)).join(QLatin1Char(' '))));
  promptNote_->show();
}

void GeneratePage::showStepFrame(const StepFrame& frame) {
  const int index = std::min(selected_, static_cast<int>(frame.xt.size()) - 1);
  if (index < 0) return;
  noisyView_->setImage(frame.xt.value(index));
  predictedView_->setImage(frame.x0.value(index));
  const QString stage = frame.stages > 1 ? tr("stage %1 of %2 · ").arg(frame.stage + 1).arg(frame.stages) : QString();
  const bool last = frame.step == frame.total && frame.stage + 1 == frame.stages;
  noisyView_->setCaption(stage + tr("x_t · step %1 of %2 · t = %3").arg(frame.step).arg(frame.total).arg(frame.t, 0, 'f', 3));
  predictedView_->setCaption(last ? tr("x̂₀ · final image") : stage + tr("predicted x̂₀ at step %1").arg(frame.step));
  scrubberLabel_->setText(stage + tr("step %1 of %2").arg(frame.step).arg(frame.total));
  filmstrip_->setCurrentStep(frame.position);
}

void GeneratePage::fillFilmstrip(int upToStep) {
  const QList<int> steps = filmstrip_->steps();
  while (filmstripFilled_ < steps.size() && steps.at(filmstripFilled_) <= upToStep) {
    const int step = steps.at(filmstripFilled_);
    const std::optional<StepFrame> frame = job_->recordedStep(step);
    if (!frame || frame->xt.isEmpty()) break;
    const int index = std::min(selected_, static_cast<int>(frame->xt.size()) - 1);
    filmstrip_->setFrame(step, 0, frame->xt.value(index));
    filmstrip_->setFrame(step, 1, frame->x0.value(index));
    ++filmstripFilled_;
  }
}

void GeneratePage::showStep(int step) {
  const std::optional<StepFrame> frame = job_->recordedStep(step);
  if (frame) showStepFrame(*frame);
  insidePanels_->showStep(step);
}

void GeneratePage::onTaskFinished(const TaskResult& result) {
  lastSeconds_ = static_cast<double>(clock_.nsecsElapsed()) / 1e9;
  results_ = result.images;
  metadata_ = result.metadata;
  shown_ = running_;
  progress_->setValue(plannedSteps_);
  fillFilmstrip(plannedSteps_);
  showResults();
  insidePanels_->setGeneration(result.attention, result.anatomy, results_, running_.steps);
  if (!results_.isEmpty()) history_->add(results_.first(), running_);
  log::core()->info("generated {} in {:.1f} s", GenerationHistory::describe(running_).toStdString(), lastSeconds_);
  const int steps = std::max(1, plannedSteps_);
  setStatus(tr("Done in %1 s (%2 s per step).").arg(lastSeconds_, 0, 'f', 1).arg(result.seconds / steps, 0, 'f', 3));
}

void GeneratePage::onJobFinished(bool cancelled) {
  const bool completed = !cancelled && !results_.isEmpty();
  if (cancelled) setStatus(lastStep_ > 0 ? tr("Cancelled at step %1 of %2.").arg(lastStep_).arg(plannedSteps_) : tr("Cancelled."));
  haveRecording_ = job_->recordedCount() > 0;
  setBusy(false);
  if (haveRecording_) {
    const QSignalBlocker blocker(scrubber_);
    scrubber_->setRange(1, job_->recordedCount());
    scrubber_->setValue(job_->recordedCount());
    showStep(job_->recordedCount());
  }
  Q_EMIT generationFinished(completed);
  if (regeneratePending_) {
    regeneratePending_ = false;
    regenerate();
  }
}

void GeneratePage::onLoadFailed(const QString& message) {
  const bool pending = generatePending_;
  generatePending_ = false;
  if (loadedCheckpoint_.isEmpty() || loadedCheckpoint_ == checkpoint_->path()) {
    modelInfo_->setText(tr("Cannot load this checkpoint: %1").arg(message));
    setStatus(tr("Cannot load the checkpoint: %1").arg(message), true);
  } else {
    // The model loaded before stays in use (the sampling job still holds it): its checkpoint is
    // chosen again, quietly, so Generate keeps working while the message says what was wrong.
    {
      const QSignalBlocker quiet(checkpoint_);
      checkpoint_->setPath(loadedCheckpoint_);
    }
    modelInfo_->setText(loadedInfo_);
    setStatus(tr("Cannot load the checkpoint: %1\nStill using %2.").arg(message, QFileInfo(loadedCheckpoint_).fileName()), true);
  }
  if (pending) Q_EMIT generationFinished(false);
}

void GeneratePage::onJobFailed(const QString& message) {
  regeneratePending_ = false;
  setStatus(tr("Generation failed: %1").arg(message), true);
  setBusy(false);
  Q_EMIT generationFinished(false);
}

void GeneratePage::onGuidanceMoved() {
  const bool idleOrAuto = !isGenerating() || autoRun_;
  const bool sameSeed = freezeNoise_->isChecked() || (autoRegenerate_->isChecked() && !randomSeed_->isChecked());
  if (sameSeed && !results_.isEmpty() && idleOrAuto) regenerateTimer_->start();
}

void GeneratePage::showResults() {
  for (PixelImageView* view : resultViews_) delete view;
  resultViews_.clear();
  for (int i = 0; i < results_.size(); ++i) {
    auto* view = new PixelImageView(resultsColumn_->parentWidget());
    view->setObjectName(QStringLiteral("result%1").arg(i));
    view->setPreferredEdge(kResultEdge);
    view->setImage(results_.at(i));
    view->setCaption(i < seeds_.size() ? tr("seed %1").arg(seeds_.at(i)) : QString());
    view->setFixedSize(view->sizeHint());
    view->setSelected(i == selected_ && results_.size() > 1);
    view->setToolTip(tr("Click to follow this image's steps; Save PNG saves the selected one"));
    connect(view, &PixelImageView::clicked, this, [this, i] { selectResult(i); });
    resultsColumn_->insertWidget(i, view);
    view->show();
    resultViews_ << view;
  }
  // Shown and sized now rather than on the next pass of the event loop, so the column never
  // paints its thumbnails squeezed into the old height.
  resultsColumn_->parentWidget()->adjustSize();
  updateNeighbourQuery();
}

QImage GeneratePage::result(int index) const { return results_.value(index); }

void GeneratePage::selectResult(int index) {
  if (index < 0 || index >= results_.size()) return;
  selected_ = index;
  for (int i = 0; i < resultViews_.size(); ++i) resultViews_[i]->setSelected(i == selected_ && results_.size() > 1);
  if (haveRecording_ && !isGenerating()) {
    filmstripFilled_ = 0;
    fillFilmstrip(plannedSteps_);
    insidePanels_->selectImage(index);
    showStep(scrubber_->value());
  }
  updateNeighbourQuery();
}

void GeneratePage::updateNeighbourQuery() {
  if (results_.isEmpty())
    neighbours_->setUnavailable(tr("Generate an image, then find the training images nearest to it."));
  else if (!shown_.cascadeFile.isEmpty())
    neighbours_->setUnavailable(tr("A cascade's images are of its last stage, whose training images are not the base "
                                   "model's: search an image of one model."));
  else if (shown_.checkpoint.isEmpty())
    neighbours_->setUnavailable(tr("This image does not say which checkpoint made it, so its training data is unknown."));
  else
    neighbours_->setQuery(shown_.checkpoint, results_.value(selected_));
}

bool GeneratePage::savePng(const QString& path, int scale) {
  if (results_.isEmpty()) {
    setStatus(tr("Nothing to save yet."), true);
    return false;
  }
  const std::size_t index = static_cast<std::size_t>(selected_);
  std::map<std::string, std::string> text = index < metadata_.size() ? metadata_[index] : std::map<std::string, std::string>{};
  try {
    // With Look inside or Freeze noise on, the image is saved with how the page shows it (with
    // both off those settings change nothing, and the PNG keeps the CLI's keys alone).
    const t2i::sample::ImageInspection shown = inspection();
    if (shown.look_inside || shown.freeze_noise)
      if (auto made = t2i::sample::read_image_metadata(text, path.toStdString())) {
        made->inspection = shown;
        text = t2i::sample::to_png_text(*made);
      }
    t2i::sample::write_png(path.toStdString(), fromQImage(enlarged(results_.at(selected_), scale)), text);
  } catch (const std::exception& e) {
    setStatus(tr("Cannot save: %1").arg(QString::fromUtf8(e.what())), true);
    return false;
  }
  setStatus(tr("Saved %1").arg(QFileInfo(path).fileName()));
  return true;
}

void GeneratePage::restoreFromHistory(const QImage& image, const GenerationSettings& settings) {
  if (isGenerating()) return;
  applySettings(settings);
  shown_ = settings;
  results_ = {image};
  metadata_.clear();
  haveRecording_ = false;
  insidePanels_->clear();
  seeds_ = {settings.seed};
  selected_ = 0;
  showResults();
  showReady();
  filmstrip_->reset(0);
  noisyView_->clear();
  predictedView_->setImage(image);
  setBusy(false);
  setStatus(tr("Restored %1; press Generate to remake it.").arg(GenerationHistory::describe(settings)));
}

void GeneratePage::showReady() {
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("ready"));
}

bool GeneratePage::openPng(const QString& path) {
  if (isGenerating()) {
    setStatus(tr("Wait for the generation to finish (or cancel it) before opening an image."), true);
    return false;
  }
  std::map<std::string, std::string> text;
  t2i::Image image;
  try {
    image = t2i::sample::read_png(path.toStdString(), &text);
  } catch (const std::exception& e) {
    setStatus(tr("Cannot open: %1").arg(QString::fromUtf8(e.what())), true);
    return false;
  }
  // Metadata a newer t2i-studio wrote is named, not misread: the image still shows.
  std::optional<GenerationSettings> restored;
  QString refused;
  try {
    restored = settingsFromMetadata(text, path, settings());
  } catch (const std::exception& e) {
    refused = QString::fromUtf8(e.what());
  }
  results_ = {toQImage(image)};
  metadata_ = {text};
  haveRecording_ = false;
  insidePanels_->clear();
  seeds_.clear();
  selected_ = 0;
  shown_ = restored ? *restored : GenerationSettings{};
  if (restored) {
    applySettings(*restored);
    seeds_ << restored->seed;
  }
  showResults();
  showReady();
  filmstrip_->reset(0);
  noisyView_->clear();
  noisyView_->setCaption(tr("x_t"));
  predictedView_->setImage(results_.first());
  predictedView_->setCaption(QFileInfo(path).fileName());
  setBusy(false);
  const QString name = QFileInfo(path).fileName();
  setStatus(restored            ? tr("Restored the prompt, seed and settings of %1; press Generate to remake it.").arg(name)
            : refused.isEmpty() ? tr("%1 has no generation settings in it; only the image is shown.").arg(name)
                                : tr("%1; only the image is shown.").arg(refused),
            !restored);
  return true;
}

void GeneratePage::copyToClipboard() const {
  if (!results_.isEmpty()) QApplication::clipboard()->setImage(results_.value(selected_));
}

void GeneratePage::dragEnterEvent(QDragEnterEvent* event) {
  if (isPng(event->mimeData())) event->acceptProposedAction();
}

void GeneratePage::dropEvent(QDropEvent* event) {
  if (!isPng(event->mimeData())) return;
  event->acceptProposedAction();
  openPng(event->mimeData()->urls().first().toLocalFile());
}

} // namespace t2i::ui
