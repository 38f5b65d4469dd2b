// The command-line names of the engine's choices, one table per enum.
#include "t2i/diffusion.h"

#include <array>
#include <stdexcept>
#include <utility>

namespace t2i::diffusion {
namespace {

template <typename Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, const char*>, N>;

constexpr NameTable<ScheduleKind, 2> kScheduleNames{{{ScheduleKind::Linear, "linear"}, {ScheduleKind::Cosine, "cosine"}}};
constexpr NameTable<Prediction, 3> kPredictionNames{
    {{Prediction::Epsilon, "eps"}, {Prediction::X0, "x0"}, {Prediction::V, "v"}}};
constexpr NameTable<Weighting, 3> kWeightingNames{
    {{Weighting::Simple, "simple"}, {Weighting::P2, "p2"}, {Weighting::MinSnr, "min-snr"}}};
constexpr NameTable<SamplerKind, 3> kSamplerNames{
    {{SamplerKind::Ddpm, "ddpm"}, {SamplerKind::Ddim, "ddim"}, {SamplerKind::DpmSolverPP, "dpmpp"}}};
constexpr NameTable<ThresholdKind, 3> kThresholdNames{
    {{ThresholdKind::None, "none"}, {ThresholdKind::Static, "static"}, {ThresholdKind::Dynamic, "dynamic"}}};

template <typename Enum, std::size_t N>
std::vector<std::string> names_of(const NameTable<Enum, N>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.second);
  return names;
}

template <typename Enum, std::size_t N>
Enum parse(const NameTable<Enum, N>& table, const std::string& name, const char* what) {
  for (const auto& entry : table)
    if (name == entry.second) return entry.first;
  std::string accepted;
  for (const auto& entry : table) accepted += (accepted.empty() ? "" : "|") + std::string(entry.second);
  throw std::runtime_error("unknown " + std::string(what) + " '" + name + "' (expected " + accepted + ")");
}

template <typename Enum, std::size_t N>
std::string name_of(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& entry : table)
    if (entry.first == value) return entry.second;
  throw std::runtime_error("diffusion: enum value without a name");
}

} // namespace

ScheduleKind parse_schedule_kind(const std::string& name) { return parse(kScheduleNames, name, "noise schedule"); }
Prediction parse_prediction(const std::string& name) { return parse(kPredictionNames, name, "prediction"); }
Weighting parse_weighting(const std::string& name) { return parse(kWeightingNames, name, "loss weighting"); }
SamplerKind parse_sampler_kind(const std::string& name) { return parse(kSamplerNames, name, "sampler"); }
ThresholdKind parse_threshold_kind(const std::string& name) { return parse(kThresholdNames, name, "thresholding"); }

std::string to_string(ScheduleKind kind) { return name_of(kScheduleNames, kind); }
std::string to_string(Prediction prediction) { return name_of(kPredictionNames, prediction); }
std::string to_string(Weighting weighting) { return name_of(kWeightingNames, weighting); }
std::string to_string(SamplerKind kind) { return name_of(kSamplerNames, kind); }
std::string to_string(ThresholdKind kind) { return name_of(kThresholdNames, kind); }

std::vector<std::string> schedule_kind_names() { return names_of(kScheduleNames); }
std::vector<std::string> prediction_names() { return names_of(kPredictionNames); }
std::vector<std::string> weighting_names() { return names_of(kWeightingNames); }
std::vector<std::string> sampler_kind_names() { return names_of(kSamplerNames); }
std::vector<std::string> threshold_kind_names() { return names_of(kThresholdNames); }

} // namespace t2i::diffusion
