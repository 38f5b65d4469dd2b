// Where a network's time goes, by kind of work (`t2i bench model|sample --profile`), measured by
// LibTorch's own profiler: every operator's self time (its time less that of the operators it
// calls), summed by category.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace t2i::bench {

enum class OpCategory { Convolution, Matmul, Normalisation, Elementwise, Softmax, CastCopy, Optimizer, Ema, Other };

inline constexpr std::array<OpCategory, 9> kOpCategories{
    OpCategory::Convolution, OpCategory::Matmul,  OpCategory::Normalisation,
    OpCategory::Elementwise, OpCategory::Softmax, OpCategory::CastCopy,
    OpCategory::Optimizer,   OpCategory::Ema,     OpCategory::Other};

/// The JSON key of a category ("convolution", "casts_copies", …).
const char* to_string(OpCategory category);

/// Profiler scopes whose operators are all optimizer or EMA time, whatever they compute: the
/// benchmarks open them around the optimizer's step and the EMA update.
inline constexpr const char* kOptimizerScope = "t2i::optimizer";
inline constexpr const char* kEmaScope = "t2i::ema";

/// The category of a profiled operator or scope by its name ("aten::mkldnn_convolution",
/// "aten::_to_copy", "t2i::optimizer", or a kernel of the project's own such as
/// "t2i::group_norm"), or nullopt for those with no kind of work of their own
/// (views, allocations, random numbers, autograd's bookkeeping, unknown operators): their self
/// time counts toward the nearest caller that has a category, else toward Other. Elementwise
/// covers activations, arithmetic, comparisons and the sums and means of gradients and losses.
std::optional<OpCategory> op_category(std::string_view name);

/// Self time by category over runs of work under LibTorch's CPU profiler (the legacy one: the
/// Debian build has no Kineto).
class CategoryProfiler {
public:
  /// Runs `work` once with the profiler on and adds its operators' times to the totals.
  void run(const std::function<void()>& work);

  /// Milliseconds per unit, where a run holds `units_per_run` units (e.g. sampling steps): by
  /// category ("categories"), their sum ("ops_ms": the time inside operators) and the wall time
  /// with the profiler on ("wall_ms"), and the operators with the most self time
  /// ("top_operators": name, category, ms), which say what to look at within a category.
  nlohmann::json json(int units_per_run = 1) const;

private:
  std::array<double, kOpCategories.size()> self_us_{};
  std::map<std::pair<std::string, OpCategory>, double> self_us_by_op_;
  double ops_us_ = 0;
  double wall_us_ = 0;
  int runs_ = 0;
};

/// A table of a profile JSON object {"per": …, "phases": {<phase>: CategoryProfiler::json()}}:
/// one row per category, one column per phase, their total and its share.
std::string profile_table(const std::string& title, const nlohmann::json& profile);

} // namespace t2i::bench
