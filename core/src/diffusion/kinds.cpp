// The command-line names of the engine's choices, one table per enum (the samplers' names are in
// their registry, sampler_registry.cpp).
#include "t2i/diffusion.h"

#include "runtime/name_table.h"

namespace t2i::diffusion {
namespace {

using runtime::NameTable;
using runtime::name_of;
using runtime::names_of;
using runtime::parse;

constexpr NameTable<ScheduleKind, 2> kScheduleNames{{{ScheduleKind::Linear, "linear"}, {ScheduleKind::Cosine, "cosine"}}};
constexpr NameTable<Prediction, 3> kPredictionNames{
    {{Prediction::Epsilon, "eps"}, {Prediction::X0, "x0"}, {Prediction::V, "v"}}};
constexpr NameTable<Weighting, 3> kWeightingNames{
    {{Weighting::Simple, "simple"}, {Weighting::P2, "p2"}, {Weighting::MinSnr, "min-snr"}}};
constexpr NameTable<ThresholdKind, 3> kThresholdNames{
    {{ThresholdKind::None, "none"}, {ThresholdKind::Static, "static"}, {ThresholdKind::Dynamic, "dynamic"}}};

} // namespace

ScheduleKind parse_schedule_kind(const std::string& name) { return parse(kScheduleNames, name, "noise schedule"); }
Prediction parse_prediction(const std::string& name) { return parse(kPredictionNames, name, "prediction"); }
Weighting parse_weighting(const std::string& name) { return parse(kWeightingNames, name, "loss weighting"); }
ThresholdKind parse_threshold_kind(const std::string& name) { return parse(kThresholdNames, name, "thresholding"); }

std::string to_string(ScheduleKind kind) { return name_of(kScheduleNames, kind); }
std::string to_string(Prediction prediction) { return name_of(kPredictionNames, prediction); }
std::string to_string(Weighting weighting) { return name_of(kWeightingNames, weighting); }
std::string to_string(ThresholdKind kind) { return name_of(kThresholdNames, kind); }

std::vector<std::string> schedule_kind_names() { return names_of(kScheduleNames); }
std::vector<std::string> prediction_names() { return names_of(kPredictionNames); }
std::vector<std::string> weighting_names() { return names_of(kWeightingNames); }
std::vector<std::string> threshold_kind_names() { return names_of(kThresholdNames); }

} // namespace t2i::diffusion
