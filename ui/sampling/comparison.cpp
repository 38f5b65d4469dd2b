#include "comparison.h"

#include "sampling/checkpoints.h"

#include <QRegularExpression>

namespace t2i::ui {
namespace {

QStringList splitList(const QString& text) {
  return text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts);
}

QString formatScale(double w) { return QString::number(w, 'g', 4); }

template <typename Item, typename Format>
QString joinList(const Item& items, Format format) {
  QStringList texts;
  for (const auto& item : items) texts << format(item);
  return texts.join(QStringLiteral(", "));
}

} // namespace

std::optional<QList<double>> parseScales(const QString& text) {
  QList<double> scales;
  for (const QString& item : splitList(text)) {
    bool ok = false;
    const double w = item.toDouble(&ok);
    if (!ok || w < 0 || w > kMaxCompareScale) return std::nullopt;
    scales << w;
  }
  if (scales.isEmpty() || scales.size() > kMaxCompareScales) return std::nullopt;
  return scales;
}

std::optional<QList<std::uint64_t>> parseSeeds(const QString& text) {
  QList<std::uint64_t> seeds;
  for (const QString& item : splitList(text)) {
    bool ok = false;
    const std::uint64_t seed = item.toULongLong(&ok);
    if (!ok) return std::nullopt;
    seeds << seed;
  }
  if (seeds.isEmpty() || seeds.size() > kMaxCompareSeeds) return std::nullopt;
  return seeds;
}

std::variant<Comparison, QString> Comparison::plan(const ComparisonForm& form) {
  const QString prompt = form.prompt.trimmed();
  const auto scales = parseScales(form.scales);
  const auto seeds = parseSeeds(form.seeds);
  if (prompt.isEmpty()) return tr("Type a prompt first.");
  if (!scales)
    return tr("Guidance scales: 1 to %1 numbers between 0 and %2, e.g. \"5, 8\".").arg(kMaxCompareScales).arg(kMaxCompareScale);
  if (!seeds) return tr("Seeds: 1 to %1 whole numbers, e.g. \"0, 1, 2\".").arg(kMaxCompareSeeds);
  if (form.checkpoints.isEmpty() || form.checkpoints.contains(QString()))
    return tr("Choose a checkpoint for every column first.");

  Comparison c;
  c.seeds_ = *seeds;
  c.steps_ = form.steps;
  c.severalCheckpoints_ = form.checkpoints.size() > 1;
  for (const QString& checkpoint : form.checkpoints)
    for (double w : *scales) {
      SamplingTask task;
      task.checkpoint = checkpoint;
      for (std::uint64_t seed : *seeds) {
        task.request.prompts.push_back(prompt.toStdString());
        task.request.seeds.push_back(seed);
      }
      task.request.guidance = w;
      task.request.steps = form.steps;
      task.request.sampler = diffusion::parse_sampler_kind(form.sampler.toStdString());
      task.request.thresholding = diffusion::parse_threshold_kind(form.thresholding.toStdString());
      c.tasks_ << task;
      QString label = tr("w = %1").arg(formatScale(w));
      if (c.severalCheckpoints_) label += QLatin1Char('\n') + checkpointLabel(checkpoint);
      c.columns_ << label;
    }
  c.title_ = tr("\"%1\" · %2, %3 steps").arg(prompt, form.samplerLabel).arg(form.steps);
  return c;
}

QStringList Comparison::rowLabels() const {
  QStringList rows;
  for (std::uint64_t seed : seeds_) rows << tr("seed %1").arg(seed);
  return rows;
}

t2i::sample::ImageMetadata Comparison::gridMetadata(const t2i::sample::ModelInfo& topLeftModel) const {
  t2i::sample::ImageMetadata m = t2i::sample::image_metadata(tasks_.first().request, 0, topLeftModel);
  m.grid_seeds.assign(seeds_.begin(), seeds_.end());
  for (const SamplingTask& task : tasks_) {
    m.grid_guidance.push_back(task.request.guidance);
    if (severalCheckpoints_) m.grid_checkpoints.push_back(task.checkpoint.toStdString());
  }
  return m;
}

ComparisonForm formFromMetadata(const t2i::sample::ImageMetadata& m, const ComparisonForm& current) {
  ComparisonForm form = current;
  form.prompt = QString::fromStdString(m.prompt);
  form.steps = m.steps;
  form.sampler = QString::fromStdString(diffusion::to_string(m.sampler));
  form.thresholding = QString::fromStdString(diffusion::to_string(m.thresholding));
  form.checkpoints = {QString::fromStdString(m.checkpoint)};
  for (const std::string& checkpoint : m.grid_checkpoints)
    if (!form.checkpoints.contains(QString::fromStdString(checkpoint))) form.checkpoints << QString::fromStdString(checkpoint);
  // Columns run through the scales once per checkpoint: the first checkpoint's are the scales.
  std::vector<double> scales = m.grid_guidance;
  scales.resize(scales.size() / static_cast<std::size_t>(form.checkpoints.size()));
  if (scales.empty()) scales = {m.guidance};
  const std::vector<std::uint64_t> seeds = m.grid_seeds.empty() ? std::vector<std::uint64_t>{m.seed} : m.grid_seeds;
  form.scales = joinList(scales, formatScale);
  form.seeds = joinList(seeds, [](std::uint64_t seed) { return QString::number(seed); });
  return form;
}

} // namespace t2i::ui
