#include "training/preset_editor.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QSpinBox>
#include <QVBoxLayout>

#include <vector>

namespace t2i::ui {
namespace {

QString optionalText(const std::optional<int>& value) {
  return value ? QLocale().toString(*value) : QStringLiteral("–");
}

/// A field of the form with its label, tooltip and accessible name and description.
template <typename Box>
Box* labelledField(QWidget* parent, QFormLayout* form, const char* name, const QString& label, const QString& tip) {
  auto* box = new Box(parent);
  box->setObjectName(QString::fromLatin1(name));
  box->setToolTip(tip);
  box->setAccessibleName(label);
  box->setAccessibleDescription(tip);
  auto* text = new QLabel(label, parent);
  text->setToolTip(tip);
  text->setBuddy(box);
  form->addRow(text, box);
  return box;
}

} // namespace

PresetEditor::PresetEditor(QWidget* parent) : QWidget(parent), reported_(new QLabel(this)) {
  auto* table = new QGroupBox(tr("Table 1 of the paper"), this);
  auto* tableForm = new QFormLayout(table);
  batchSize_ = addInt(tableForm, "batch_size", tr("Batch size"), 1, 1 << 16,
                      tr("Samples per optimiser step (Table 1 \"batch size\": 32 for small and full, 64 for base and "
                         "large; Imagen used 1024)."));
  maxBatchSize_ = addInt(tableForm, "max_batch_size", tr("Max micro-batch"), 1, 1 << 16,
                         tr("Table 1 \"max batch size\": samples computed at once. A batch is split into micro-batches "
                            "whose gradients are accumulated, so memory follows this number while the optimiser still "
                            "sees the whole batch."));
  maxTextLength_ = addInt(tableForm, "max_text_length", tr("Max text length"), 2, 4096,
                          tr("Table 1 \"max length\": text tokens per caption (</s> included); longer captions are "
                             "truncated. COCO captions have about 14 T5 tokens."));
  diffusionSteps_ = addInt(tableForm, "diffusion_steps", tr("Diffusion steps T"), 1, 100000,
                           tr("Table 1 \"diffusion steps\": noise levels of the forward process x_t = α_t x_0 + σ_t ε "
                              "(500 for small and base, 1000 for large and full). Sampling may use fewer steps."));
  dim_ = addInt(tableForm, "unet.dim", tr("U-Net width (dim)"), 8, 4096,
                tr("Channels of the U-Net's first level; deeper levels multiply it (Table 1 \"unet emb dim\"). "
                   "Parameters grow roughly with its square."));
  condDim_ = addInt(tableForm, "unet.cond_dim", tr("Text condition width"), 8, 8192,
                    tr("Width the text embeddings are projected to before cross-attention and pooling into the time "
                       "embedding (Table 1 \"unet hidden size\")."));
  evalEvery_ = addInt(tableForm, "eval_every", tr("Evaluate every (steps)"), 1, 1 << 30,
                      tr("Table 1 \"eval every epochs\": training steps between evaluations (validation P2 loss, a "
                         "preview grid, and FID when the validation loss improves)."));
  evalValSteps_ = addInt(tableForm, "eval_val_steps", tr("Validation batches"), 1, 1 << 30,
                         tr("Table 1 \"eval val steps\": validation batches averaged at each evaluation, with fixed "
                            "noise and timesteps so evaluations are comparable."));
  condScale_ = addReal(tableForm, "cond_scale", tr("Guidance scale w"), 1.0, 100.0, 1,
                       tr("Table 1 \"cond scale\": classifier-free guidance weight for previews and FID samples, "
                          "ε̃ = w·ε(z, c) + (1 − w)·ε(z) (paper §5.4; 5 or 8 in the paper; 1 turns guidance off)."));

  earlyStopOn_ = new QCheckBox(this);
  earlyStopOn_->setObjectName(QStringLiteral("early_stop_enabled"));
  earlyStopOn_->setAccessibleName(tr("Early stopping on"));
  earlyStop_ = new QSpinBox(this);
  earlyStop_->setObjectName(QStringLiteral("early_stop"));
  earlyStop_->setRange(1, 1 << 30);
  earlyStop_->setSingleStep(100);
  earlyStop_->setSuffix(tr(" steps"));
  const QString earlyTip = tr("Table 1 \"early stops\": stop after this many steps without a better validation P2 loss "
                              "(5000 base, 20k large, 2000 full; small has none). Off: train until the step limit.");
  earlyStopOn_->setToolTip(earlyTip);
  earlyStop_->setToolTip(earlyTip);
  earlyStop_->setAccessibleName(tr("Early stop"));
  auto* earlyRow = new QHBoxLayout;
  earlyRow->addWidget(earlyStopOn_);
  earlyRow->addWidget(earlyStop_, 1);
  auto* earlyLabel = new QLabel(tr("Early stop"), this);
  earlyLabel->setToolTip(earlyTip);
  earlyLabel->setBuddy(earlyStop_);
  tableForm->addRow(earlyLabel, earlyRow);
  editors_ << earlyStopOn_ << earlyStop_;

  reported_->setObjectName(QStringLiteral("presetReported"));
  reported_->setWordWrap(true);
  reported_->setTextFormat(Qt::PlainText);
  reported_->setToolTip(tr("What the paper's Table 1 reports for this preset, for comparison."));
  tableForm->addRow(reported_);

  auto* architecture = new QGroupBox(tr("U-Net and optimiser"), this);
  auto* archForm = new QFormLayout(architecture);
  imageSize_ = addInt(archForm, "unet.image_size", tr("Image size"), 8, 1024,
                      tr("Side of the square images the model generates (64 in the paper; 32 for demo). The dataset "
                         "cache is built at this size."));
  resBlocks_ = addInt(archForm, "unet.res_blocks", tr("Residual blocks per level"), 1, 16,
                      tr("Residual blocks (GroupNorm, SiLU, 3×3 convolutions, time embedding as scale and shift) at "
                         "each resolution."));
  heads_ = addInt(archForm, "unet.heads", tr("Attention heads"), 1, 128,
                  tr("Heads of the self- and cross-attention layers."));
  headDim_ = addInt(archForm, "unet.head_dim", tr("Head width"), 1, 1024, tr("Channels per attention head."));
  learningRate_ = addReal(archForm, "training.learning_rate", tr("Learning rate"), 1e-7, 1.0, 7,
                          tr("AdamW step size (the paper's code: 1e-4, betas 0.9 and 0.99)."));

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(table);
  layout->addWidget(architecture);

  connect(batchSize_, &QSpinBox::valueChanged, this, [this](int batch) { maxBatchSize_->setMaximum(batch); });
  connect(earlyStopOn_, &QCheckBox::toggled, earlyStop_, &QWidget::setEnabled);
  connect(earlyStopOn_, &QCheckBox::toggled, this, &PresetEditor::edited);
}

QSpinBox* PresetEditor::addInt(QFormLayout* form, const char* name, const QString& label, int min, int max,
                               const QString& tip) {
  auto* box = labelledField<QSpinBox>(this, form, name, label, tip);
  box->setRange(min, max);
  box->setGroupSeparatorShown(true);
  connect(box, &QSpinBox::valueChanged, this, &PresetEditor::edited);
  editors_ << box;
  return box;
}

QDoubleSpinBox* PresetEditor::addReal(QFormLayout* form, const char* name, const QString& label, double min,
                                      double max, int decimals, const QString& tip) {
  auto* box = labelledField<QDoubleSpinBox>(this, form, name, label, tip);
  box->setRange(min, max);
  box->setDecimals(decimals);
  connect(box, &QDoubleSpinBox::valueChanged, this, &PresetEditor::edited);
  editors_ << box;
  return box;
}

QList<QWidget*> PresetEditor::editors() const { return editors_; }

void PresetEditor::setPreset(const model::Preset& preset) {
  loaded_ = preset;
  revert();
}

void PresetEditor::revert() {
  const model::Preset& p = loaded_;
  {
    std::vector<QSignalBlocker> blockers;
    for (QWidget* editor : editors_) blockers.emplace_back(editor);
    batchSize_->setValue(p.batch_size);
    maxBatchSize_->setMaximum(p.batch_size);
    maxBatchSize_->setValue(p.max_batch_size);
    maxTextLength_->setValue(p.max_text_length);
    diffusionSteps_->setValue(p.diffusion_steps);
    dim_->setValue(p.unet.dim);
    condDim_->setValue(p.unet.cond_dim);
    evalEvery_->setValue(p.eval_every);
    evalValSteps_->setValue(p.eval_val_steps);
    condScale_->setValue(p.cond_scale);
    earlyStopOn_->setChecked(p.early_stop.has_value());
    earlyStop_->setEnabled(p.early_stop.has_value());
    earlyStop_->setValue(p.early_stop.value_or(5000));
    imageSize_->setValue(p.unet.image_size);
    resBlocks_->setValue(p.unet.res_blocks);
    heads_->setValue(p.unet.heads);
    headDim_->setValue(p.unet.head_dim);
    learningRate_->setValue(p.training.learning_rate);
  }
  QStringList reported;
  if (p.unet_emb_dim || p.unet_hidden_size)
    reported << tr("unet emb dim %1, hidden size %2").arg(optionalText(p.unet_emb_dim), optionalText(p.unet_hidden_size));
  if (p.paper_parameters)
    reported << tr("%1 M parameters").arg(QLocale().toString(*p.paper_parameters / 1e6, 'f', 2));
  reported_->setText(reported.isEmpty() ? QString::fromStdString(p.description)
                                        : tr("Paper: %1.").arg(reported.join(QStringLiteral(", "))));
  reported_->setVisible(!reported_->text().isEmpty());
  Q_EMIT edited();
}

model::Preset PresetEditor::preset() const {
  model::Preset p = loaded_;
  p.batch_size = batchSize_->value();
  p.max_batch_size = maxBatchSize_->value();
  p.max_text_length = maxTextLength_->value();
  p.diffusion_steps = diffusionSteps_->value();
  p.unet.dim = dim_->value();
  p.unet.cond_dim = condDim_->value();
  p.eval_every = evalEvery_->value();
  p.eval_val_steps = evalValSteps_->value();
  p.cond_scale = condScale_->value();
  p.early_stop = earlyStopOn_->isChecked() ? std::optional<int>(earlyStop_->value()) : std::nullopt;
  p.unet.image_size = imageSize_->value();
  p.unet.res_blocks = resBlocks_->value();
  p.unet.heads = heads_->value();
  p.unet.head_dim = headDim_->value();
  p.training.learning_rate = learningRate_->value();
  return p;
}

bool PresetEditor::isModified() const {
  const model::Preset p = preset();
  const model::Preset& l = loaded_;
  return p.batch_size != l.batch_size || p.max_batch_size != l.max_batch_size ||
         p.max_text_length != l.max_text_length || p.diffusion_steps != l.diffusion_steps || p.unet.dim != l.unet.dim ||
         p.unet.cond_dim != l.unet.cond_dim || p.eval_every != l.eval_every || p.eval_val_steps != l.eval_val_steps ||
         p.cond_scale != l.cond_scale || p.early_stop != l.early_stop || p.unet.image_size != l.unet.image_size ||
         p.unet.res_blocks != l.unet.res_blocks || p.unet.heads != l.unet.heads || p.unet.head_dim != l.unet.head_dim ||
         p.training.learning_rate != l.training.learning_rate;
}

} // namespace t2i::ui
