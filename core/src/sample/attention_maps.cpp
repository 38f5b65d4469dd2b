// The facade's views of recorded cross-attention (t2i/attention.h).
#include "sample/attention_recorder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>

namespace t2i::sample {
namespace {

const std::string kWordStart = "\xE2\x96\x81";  // SentencePiece's "▁": the piece starts a word

using Data = AttentionMaps::Data;

void check_selection(const Data& d, const AttentionSelection& s) {
  if (d.steps.empty()) throw std::invalid_argument("attention maps: nothing was recorded");
  if (s.image < 0 || s.image >= d.images)
    throw std::out_of_range("attention maps: image " + std::to_string(s.image) + " of " + std::to_string(d.images));
  if (s.step && (*s.step < 1 || *s.step > static_cast<int>(d.steps.size())))
    throw std::out_of_range("attention maps: step " + std::to_string(*s.step) + " of " + std::to_string(d.steps.size()));
  if (!s.conditional && !d.unconditional)
    throw std::invalid_argument("attention maps: guidance 1 ran no unconditional half");
}

// The (step, layer) pairs a selection covers.
std::vector<std::pair<std::size_t, std::size_t>> covered(const Data& d, const AttentionSelection& s) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t first = s.step ? static_cast<std::size_t>(*s.step - 1) : 0;
  const std::size_t last = s.step ? first + 1 : d.steps.size();
  for (std::size_t step = first; step < last; ++step)
    for (std::size_t layer = 0; layer < d.layers.size(); ++layer) {
      if (s.resolution && d.layers[layer].side != *s.resolution) continue;
      if (s.layer && static_cast<std::size_t>(*s.layer) != layer) continue;
      if (s.head && (*s.head < 0 || *s.head >= d.layers[layer].heads))
        throw std::out_of_range("attention maps: head " + std::to_string(*s.head) + " of " +
                                std::to_string(d.layers[layer].heads));
      out.emplace_back(step, layer);
    }
  if (out.empty()) throw std::invalid_argument("attention maps: no recorded layer matches the selection");
  return out;
}

// [side·side, 2 + text positions]: the selection's image and half, one head or their mean.
torch::Tensor rows_of(const Data& d, const AttentionSelection& s, std::size_t step, std::size_t layer) {
  const torch::Tensor& p = d.steps[step][layer];
  const torch::Tensor image = p[s.conditional ? s.image : d.images + s.image];  // [heads, side², C]
  return s.head ? image[*s.head].to(torch::kFloat32) : image.to(torch::kFloat32).mean(0);
}

} // namespace

AttentionMaps::AttentionMaps() = default;
AttentionMaps::~AttentionMaps() = default;
AttentionMaps::AttentionMaps(const AttentionMaps&) = default;
AttentionMaps& AttentionMaps::operator=(const AttentionMaps&) = default;
AttentionMaps::AttentionMaps(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

bool AttentionMaps::empty() const { return !data_ || data_->steps.empty(); }
int AttentionMaps::images() const { return data_ ? data_->images : 0; }
int AttentionMaps::steps() const { return data_ ? static_cast<int>(data_->steps.size()) : 0; }
int AttentionMaps::image_size() const { return data_ ? data_->image_size : 0; }
bool AttentionMaps::has_unconditional() const { return data_ && data_->unconditional; }

const std::vector<AttentionLayer>& AttentionMaps::layers() const {
  static const std::vector<AttentionLayer> none;
  return data_ ? data_->layers : none;
}

std::vector<int> AttentionMaps::resolutions() const {
  std::set<int, std::greater<>> sides;
  for (const auto& layer : layers()) sides.insert(layer.side);
  return {sides.begin(), sides.end()};
}

const std::vector<std::string>& AttentionMaps::pieces(int image) const {
  if (!data_ || image < 0 || image >= data_->images) throw std::out_of_range("attention maps: no image " + std::to_string(image));
  return data_->pieces[static_cast<std::size_t>(image)];
}

std::vector<AttentionWord> AttentionMaps::words(int image) const {
  const auto& all = pieces(image);
  std::vector<AttentionWord> out;
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {  // the last piece is </s>
    const std::string& piece = all[i];
    const bool starts = piece.compare(0, kWordStart.size(), kWordStart) == 0;
    if (starts || out.empty()) out.push_back({});
    out.back().text += starts ? piece.substr(kWordStart.size()) : piece;
    out.back().pieces.push_back(static_cast<int>(i));
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const AttentionWord& w) { return w.text.empty() && w.pieces.size() == 1; }),
            out.end());
  return out;
}

Heatmap AttentionMaps::map(const AttentionSelection& selection, const std::vector<int>& pieces,
                           AttentionNormalisation normalisation) const {
  if (!data_) throw std::invalid_argument("attention maps: nothing was recorded");
  const Data& d = *data_;
  check_selection(d, selection);
  if (pieces.empty()) throw std::invalid_argument("attention maps: no pieces chosen");
  std::vector<std::int64_t> columns;
  for (const int piece : pieces) {
    if (piece < 0 || piece >= d.text_positions)
      throw std::out_of_range("attention maps: piece " + std::to_string(piece) + " of " + std::to_string(d.text_positions));
    columns.push_back(1 + piece);
  }
  const torch::Tensor index = torch::tensor(columns);
  const std::int64_t size = d.image_size;
  torch::Tensor sum = torch::zeros({size, size});
  const auto pairs = covered(d, selection);
  for (const auto& [step, layer] : pairs) {
    const std::int64_t side = d.layers[layer].side;
    // A word is the mean of its pieces (DAAM); each layer's map is upsampled before averaging.
    const torch::Tensor word = rows_of(d, selection, step, layer).index_select(1, index).mean(1).view({1, 1, side, side});
    sum += torch::nn::functional::interpolate(
               word, torch::nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{size, size})
                         .mode(torch::kBicubic).align_corners(false))[0][0];
  }
  torch::Tensor values = (sum / static_cast<double>(pairs.size())).clamp_min(0);  // bicubic overshoots below 0
  if (normalisation == AttentionNormalisation::PerToken) {
    const double low = values.min().item<double>();
    const double high = values.max().item<double>();
    values = high > low ? (values - low) / (high - low) : torch::zeros_like(values);
  }
  values = values.contiguous();
  Heatmap out;
  out.width = out.height = static_cast<int>(size);
  out.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
  out.max = values.max().item<float>();
  return out;
}

AttentionShares AttentionMaps::shares(const AttentionSelection& selection) const {
  if (!data_) throw std::invalid_argument("attention maps: nothing was recorded");
  const Data& d = *data_;
  check_selection(d, selection);
  const auto pairs = covered(d, selection);
  torch::Tensor mean = torch::zeros({2 + d.text_positions}, torch::kFloat64);
  for (const auto& [step, layer] : pairs) mean += rows_of(d, selection, step, layer).to(torch::kFloat64).mean(0);
  mean /= static_cast<double>(pairs.size());
  const auto share = mean.accessor<double, 1>();
  const std::int64_t end = static_cast<std::int64_t>(d.pieces[static_cast<std::size_t>(selection.image)].size()) - 1;
  AttentionShares out;
  out.null_key = share[0];
  for (std::int64_t position = 0; position < end; ++position) out.words += share[1 + position];
  out.end_token = share[1 + end];
  // Positions past this image's </s> are its padding, whether kept for a longer prompt or summed.
  for (std::int64_t column = 2 + end; column < share.size(0); ++column) out.padding += share[column];
  return out;
}

std::size_t AttentionMaps::bytes() const {
  std::size_t total = 0;
  if (data_)
    for (const auto& step : data_->steps)
      for (const auto& layer : step) total += static_cast<std::size_t>(layer.numel()) * layer.element_size();
  return total;
}

Image heat_overlay(const Image& base, const Heatmap& map, double opacity, float legend_max) {
  if (map.width <= 0 || map.height <= 0 || map.values.size() != static_cast<std::size_t>(map.width) * static_cast<std::size_t>(map.height))
    throw std::invalid_argument("heat overlay: the map's values do not match its size");
  opacity = std::clamp(opacity, 0.0, 1.0);
  const double top = legend_max > 0 ? legend_max : 1.0;
  Image out = base;
  for (int y = 0; y < base.height; ++y)
    for (int x = 0; x < base.width; ++x) {
      const int my = y * map.height / std::max(1, base.height);
      const int mx = x * map.width / std::max(1, base.width);
      const double v = std::clamp(map.values[static_cast<std::size_t>(my * map.width + mx)] / top, 0.0, 1.0);
      // "hot": black → red → yellow → white
      const double colour[3] = {std::clamp(3 * v, 0.0, 1.0), std::clamp(3 * v - 1, 0.0, 1.0), std::clamp(3 * v - 2, 0.0, 1.0)};
      for (int c = 0; c < 3; ++c) {
        auto& pixel = out.rgb[(static_cast<std::size_t>(y) * static_cast<std::size_t>(base.width) + static_cast<std::size_t>(x)) * 3 + static_cast<std::size_t>(c)];
        pixel = static_cast<std::uint8_t>(std::lround((1 - opacity) * pixel + opacity * 255.0 * colour[c]));
      }
    }
  return out;
}

} // namespace t2i::sample
