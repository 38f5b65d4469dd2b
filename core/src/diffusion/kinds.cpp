// The command-line names of the engine's choices, one table per enum (the samplers' names are in
// their registry, sampler_registry.cpp).
#include "diffusion/name_table.h"
#include "t2i/diffusion.h"

#include <array>

namespace t2i::diffusion {
namespace {

constexpr std::array<Named<ScheduleKind>, 2> kScheduleNames{{{ScheduleKind::Linear, "linear"}, {ScheduleKind::Cosine, "cosine"}}};
constexpr std::array<Named<Prediction>, 3> kPredictionNames{
    {{Prediction::Epsilon, "eps"}, {Prediction::X0, "x0"}, {Prediction::V, "v"}}};
constexpr std::array<Named<Weighting>, 3> kWeightingNames{
    {{Weighting::Simple, "simple"}, {Weighting::P2, "p2"}, {Weighting::MinSnr, "min-snr"}}};
constexpr std::array<Named<ThresholdKind>, 3> kThresholdNames{
    {{ThresholdKind::None, "none"}, {ThresholdKind::Static, "static"}, {ThresholdKind::Dynamic, "dynamic"}}};

} // namespace

ScheduleKind parse_schedule_kind(const std::string& name) { return parse_name(kScheduleNames, name, "noise schedule"); }
Prediction parse_prediction(const std::string& name) { return parse_name(kPredictionNames, name, "prediction"); }
Weighting parse_weighting(const std::string& name) { return parse_name(kWeightingNames, name, "loss weighting"); }
ThresholdKind parse_threshold_kind(const std::string& name) { return parse_name(kThresholdNames, name, "thresholding"); }

std::string to_string(ScheduleKind kind) { return entry_of(kScheduleNames, kind).name; }
std::string to_string(Prediction prediction) { return entry_of(kPredictionNames, prediction).name; }
std::string to_string(Weighting weighting) { return entry_of(kWeightingNames, weighting).name; }
std::string to_string(ThresholdKind kind) { return entry_of(kThresholdNames, kind).name; }

std::vector<std::string> schedule_kind_names() { return names_of(kScheduleNames); }
std::vector<std::string> prediction_names() { return names_of(kPredictionNames); }
std::vector<std::string> weighting_names() { return names_of(kWeightingNames); }
std::vector<std::string> threshold_kind_names() { return names_of(kThresholdNames); }

} // namespace t2i::diffusion
