// Every sampler in one table: its kind, its names, what it is good for, and its constructor.
// The CLI's choices and help, the studio's sampler menu and the benchmarks all read this table,
// so a new sampler is its own file (its class and a make_ function), one row here with its
// SamplerKind value in t2i/diffusion.h, and its test.
#include "diffusion/sampler.h"
#include "runtime/name_table.h"

#include <array>

namespace t2i::diffusion {

// Each defined in its sampler's own file.
std::unique_ptr<Sampler> make_ddpm_sampler(NoiseSchedule schedule, SamplerOptions options);
std::unique_ptr<Sampler> make_ddim_sampler(NoiseSchedule schedule, SamplerOptions options);
std::unique_ptr<Sampler> make_dpm_solver_sampler(NoiseSchedule schedule, SamplerOptions options);

namespace {

struct Registration {
  SamplerKind value;
  const char* name;
  const char* label;
  const char* summary;
  std::unique_ptr<Sampler> (*make)(NoiseSchedule, SamplerOptions);
};

// The default sampler first: menus and help list them in this order.
constexpr std::array<Registration, 3> kSamplers{{
    {SamplerKind::Ddpm, "ddpm", "DDPM (ancestral, the paper's)",
     "draws fresh noise at every step, which corrects the model's errors: the cleanest images, and the only "
     "sampler that works without thresholding",
     make_ddpm_sampler},
    {SamplerKind::Ddim, "ddim", "DDIM (deterministic)",
     "maps a seed to an image deterministically (smooth interpolations; η > 0 adds noise back) but keeps the "
     "model's errors as grain",
     make_ddim_sampler},
    {SamplerKind::DpmSolverPP, "dpmpp", "DPM-Solver++ (2M, deterministic)",
     "a second-order deterministic solver, good in 20 steps, but it keeps the model's errors as grain",
     make_dpm_solver_sampler},
}};

static_assert(kSamplers[0].value == kDefaultSampler, "menus and help list the default sampler first");

} // namespace

SamplerKind parse_sampler_kind(const std::string& name) { return runtime::parse(kSamplers, name, "sampler"); }
std::string to_string(SamplerKind kind) { return runtime::name_of(kSamplers, kind); }
std::vector<std::string> sampler_kind_names() { return runtime::names_of(kSamplers); }

std::vector<SamplerInfo> sampler_infos() {
  std::vector<SamplerInfo> infos;
  for (const Registration& entry : kSamplers) infos.push_back({entry.value, entry.name, entry.label, entry.summary});
  return infos;
}

std::unique_ptr<Sampler> make_sampler(const NoiseSchedule& schedule, const SamplerOptions& options) {
  return runtime::entry_of(kSamplers, options.kind).make(schedule, options);
}

} // namespace t2i::diffusion
