#include "comparison.h"

#include "sampling/checkpoints.h"
#include "sampling/image_conversion.h"

#include <QRegularExpression>

#include <algorithm>

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

std::variant<SingleTaskComparison, QString> SingleTaskComparison::plan(const ComparisonForm& form) {
  const QString prompt = form.prompt.trimmed();
  const auto scales = parseScales(form.scales);
  const auto seeds = parseSeeds(form.seeds);
  if (prompt.isEmpty()) return tr("Type a prompt first.");
  if (!scales)
    return tr("Guidance scales: 1 to %1 numbers between 0 and %2, e.g. \"1, 3, 5, 8\".").arg(kMaxCompareScales).arg(kMaxCompareScale);
  if (!seeds) return tr("Seeds: a whole number, e.g. \"0\".");
  if (form.checkpoints.isEmpty() || form.checkpoints.first().isEmpty()) return tr("Choose a checkpoint first.");

  SingleTaskComparison c;
  c.mode_ = form.mode;
  c.task_.checkpoint = form.checkpoints.first();
  t2i::sample::Request& request = c.task_.request;
  request.prompts = {prompt.toStdString()};
  request.seeds = {seeds->first()};
  request.guidance = scales->first();
  request.steps = form.steps;
  request.sampler = diffusion::parse_sampler_kind(form.sampler.toStdString());
  request.thresholding = diffusion::parse_threshold_kind(form.thresholding.toStdString());
  if (form.mode == CompareMode::WordSwap) {
    const QStringList words = form.swap.split(QLatin1Char('='));
    if (words.size() != 2 || words[0].trimmed().isEmpty() || words[1].trimmed().isEmpty())
      return tr("Word swap: type the word and its replacement, e.g. \"red=blue\".");
    c.rows_ << tr("seed %1").arg(seeds->first());
    c.task_.swap = t2i::sample::WordSwap{words[0].trimmed().toStdString(), words[1].trimmed().toStdString(), form.inject};
    const QString from = words[0].trimmed(), to = words[1].trimmed();
    c.columns_ << tr("A: %1").arg(from) << tr("B: %1").arg(to) << tr("|A − B|") << tr("\"%1\" in A").arg(from)
               << tr("\"%1\" in B").arg(to);
    c.title_ = tr("\"%1\", %2 → %3 · w = %4, A's attention in %5% of the steps")
                   .arg(prompt, from, to, formatScale(scales->first()))
                   .arg(qRound(form.inject * 100));
    return c;
  }

  request.prompts.assign(static_cast<std::size_t>(scales->size()), prompt.toStdString());
  request.seeds.assign(static_cast<std::size_t>(scales->size()), seeds->first());
  request.scales.assign(scales->begin(), scales->end());
  if (form.gridSteps.trimmed().isEmpty()) {
    for (const int step : t2i::sample::evenly_spaced_steps(form.steps, 5)) c.steps_ << step;
  } else {
    for (const QString& item : splitList(form.gridSteps)) {
      bool ok = false;
      const int step = item.toInt(&ok);
      if (!ok || step < 1 || step > form.steps) return tr("Steps shown: numbers from 1 to %1, e.g. \"10, 25, 50\".").arg(form.steps);
      c.steps_ << step;
    }
  }
  for (const double w : *scales) c.rows_ << tr("w = %1").arg(formatScale(w));
  // Short labels: a trajectory grid is a few columns wide and the grid elides what does not fit.
  for (const int step : c.steps_) c.columns_ << tr("step %1 of %2").arg(step).arg(form.steps);
  c.title_ = tr("x₀ predicted, seed %1").arg(seeds->first());
  return c;
}

t2i::sample::ImageMetadata SingleTaskComparison::gridMetadata(const t2i::sample::ModelInfo& model) const {
  t2i::sample::ImageMetadata m = t2i::sample::image_metadata(task_.request, 0, model);
  m.grid_seeds = {task_.request.seeds.front()};
  m.grid_guidance = task_.request.scales;
  if (mode_ == CompareMode::Trajectory) m.grid_steps.assign(steps_.begin(), steps_.end());
  if (mode_ == CompareMode::WordSwap) m.word_swap = task_.swap;
  return m;
}

QString SingleTaskComparison::titleWithMapScale(float mapTop) const {
  return tr("%1\nmaps: share of the attention, 0 (dark) to %2 (bright), one scale for both")
      .arg(title_)
      .arg(static_cast<double>(mapTop), 0, 'f', 3);
}

WordSwapRow wordSwapRow(const t2i::sample::WordSwapResult& swap) {
  WordSwapRow row;
  row.images = {toQImage(swap.a), toQImage(swap.b), toQImage(swap.difference)};
  const auto word_map = [](const t2i::sample::AttentionMaps& maps, int word) {
    return maps.map({}, maps.words(0).at(static_cast<std::size_t>(word)).pieces);
  };
  if (swap.word_a < 0 || swap.word_b < 0) return row;  // a word the tokenizer did not keep whole: no map
  const t2i::sample::Heatmap a = word_map(swap.maps_a, swap.word_a);
  const t2i::sample::Heatmap b = word_map(swap.maps_b, swap.word_b);
  row.mapTop = std::max({a.max, b.max, 1e-6f});
  constexpr double kOpacity = 0.6;
  row.images << toQImage(t2i::sample::heat_overlay(swap.a, a, kOpacity, row.mapTop))
             << toQImage(t2i::sample::heat_overlay(swap.b, b, kOpacity, row.mapTop));
  return row;
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
  // A Compare export comes back in its own mode; any other image keeps the mode chosen.
  if (m.word_swap) {
    form.mode = CompareMode::WordSwap;
    form.swap = QString::fromStdString(m.word_swap->from + "=" + m.word_swap->to);
    form.inject = m.word_swap->inject;
  } else if (!m.grid_steps.empty()) {
    form.mode = CompareMode::Trajectory;
    form.gridSteps = joinList(m.grid_steps, [](int step) { return QString::number(step); });
  } else if (!m.grid_seeds.empty() || !m.grid_guidance.empty()) {
    form.mode = CompareMode::ScalesBySeeds;
  }
  return form;
}

} // namespace t2i::ui
