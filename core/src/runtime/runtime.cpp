#include "t2i/runtime.h"

#include "runtime/name_table.h"
#include "t2i/log.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace t2i::runtime {
namespace {

// OpenBLAS and MKL announce themselves through exported functions; netlib's reference BLAS
// exports nothing of the kind, so it is recognised by the library file that provides dgemm_.
using openblas_string_fn = char* (*)();
using openblas_int_fn = int (*)();

std::string loaded_library_of(const char* symbol) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  if (address == nullptr) return {};
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return {};
  return info.dli_fname;
}

std::string detect_blas(bool& is_reference) {
  is_reference = false;
  if (auto config = reinterpret_cast<openblas_string_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string text = config();
    if (auto core = reinterpret_cast<openblas_string_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
      text += std::string(" (core ") + core() + ")";
    if (auto threads = reinterpret_cast<openblas_int_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
      text += ", " + std::to_string(threads()) + " BLAS threads";
    return text;
  }
  if (dlsym(RTLD_DEFAULT, "mkl_get_version_string") != nullptr) return "Intel MKL";
  if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str") != nullptr) return "BLIS";
  const std::string library = loaded_library_of("dgemm_");
  if (library.empty()) return "none loaded (LibTorch uses its own kernels)";
  is_reference = true;
  return "reference BLAS (" + library + "): install libopenblas0-pthread";
}

std::string cpu_flags() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) return line + " ";
  return {};
}

bool has_flag(const std::string& flags, const char* flag) {
  return flags.find(std::string(" ") + flag + " ") != std::string::npos;
}

std::uint64_t meminfo_kib(const std::string& key) {
  std::ifstream meminfo("/proc/meminfo");
  std::string name;
  std::uint64_t value = 0;
  std::string unit;
  while (meminfo >> name >> value >> unit)
    if (name == key + ":") return value;
  return 0;
}

std::uint64_t status_kib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      std::uint64_t value = 0;
      fields >> value;
      return value;
    }
  }
  return 0;
}

// LibTorch's CPU allocator takes every tensor from malloc and hands it back as soon as it dies.
// glibc serves blocks over its mmap threshold (128 KiB at start, raised only as far as the largest
// block freed so far) with fresh pages and unmaps them on free, and returns free memory at the
// heap's top once it exceeds twice that threshold: every U-Net step faulted in and zeroed its
// activations anew. Keeping freed memory for the next step measured, on 2 cores (AVX-512 bf16):
// small sampling, DPM-Solver++ 20 steps, 1.60 to 0.85 s per image; full training 2.9 to 4.7
// images/s; peak RSS unchanged (t2i bench sample|model). What a finished job freed stays with the
// process for its next one. 32 MiB is glibc's own ceiling for its moving threshold (64-bit); the
// rarer larger blocks are still mapped and unmapped. AddressSanitizer's allocator ignores both.
constexpr int kMmapThresholdBytes = 32 << 20;
constexpr int kTrimThresholdBytes = 1 << 30;

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
}

} // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;
}

void restart_with_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // the restart failed: libgomp kept its default, and report() must say that
}

Report initialize(int threads) {
  keep_freed_memory_for_reuse();
  const int wanted = threads > 0 ? threads : available_cores();
  if (torch::get_num_threads() != wanted) torch::set_num_threads(wanted);
  Report now = report();
  log::core()->info("LibTorch {} on {} with {} threads; BLAS: {}", now.torch_version, now.devices.front(),
                    now.intra_op_threads, now.blas);
  if (now.blas_is_reference) log::core()->warn("Matrix products will be ~18x slower: {}", now.blas);
  return now;
}

Report report() {
  Report r;
  r.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                    std::to_string(TORCH_VERSION_PATCH);
  r.devices.emplace_back("cpu");
  if (torch::cuda::is_available()) {
    for (std::size_t i = 0; i < torch::cuda::device_count(); ++i) r.devices.push_back("cuda:" + std::to_string(i));
  }
  r.intra_op_threads = torch::get_num_threads();
  r.cpu_cores = available_cores();
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) r.openmp_wait_policy = policy;
  r.blas = detect_blas(r.blas_is_reference);
  const std::string flags = cpu_flags();
  const bool amx = has_flag(flags, "amx_bf16");
  r.cpu_bf16 = amx || has_flag(flags, "avx512_bf16");
  if (has_flag(flags, "avx512f"))
    r.cpu_isa = amx ? "avx512+amx" : (r.cpu_bf16 ? "avx512+bf16" : "avx512");
  else if (has_flag(flags, "avx2"))
    r.cpu_isa = "avx2";
  else
    r.cpu_isa = "baseline";
  return r;
}

std::string to_text(const Report& r) {
  std::ostringstream out;
  out << "LibTorch:   " << r.torch_version << "\n";
  out << "Devices:   ";
  for (const auto& device : r.devices) out << " " << device;
  out << "\n";
  out << "Threads:    " << r.intra_op_threads << " intra-op (of " << r.cpu_cores << " cores)\n";
  out << "OpenMP:     "
      << (r.openmp_wait_policy.empty() ? "spinning waits (OMP_WAIT_POLICY unset)" : "OMP_WAIT_POLICY=" + r.openmp_wait_policy)
      << "\n";
  out << "BLAS:       " << r.blas << "\n";
  out << "CPU:        " << r.cpu_isa << (r.cpu_bf16 ? ", native bf16 (bf16 autocast is the fast path)" : "")
      << "\n";
  return out.str();
}

std::string to_json(const Report& r) {
  nlohmann::json j{{"torch_version", r.torch_version}, {"devices", r.devices},
                   {"intra_op_threads", r.intra_op_threads}, {"cpu_cores", r.cpu_cores},
                   {"blas", r.blas}, {"blas_is_reference", r.blas_is_reference},
                   {"cpu_bf16", r.cpu_bf16}, {"cpu_isa", r.cpu_isa},
                   {"openmp_wait_policy", r.openmp_wait_policy}};
  return j.dump();
}

Memory memory() {
  Memory m;
  m.resident_bytes = status_kib("VmRSS") * 1024;
  m.peak_resident_bytes = status_kib("VmHWM") * 1024;
  m.total_bytes = meminfo_kib("MemTotal") * 1024;
  m.available_bytes = meminfo_kib("MemAvailable") * 1024;
  return m;
}

namespace {
constexpr NameTable<Precision, 3> kPrecisionNames{
    {{Precision::Auto, "auto"}, {Precision::Float32, "fp32"}, {Precision::BFloat16, "bf16"}}};
} // namespace

Precision parse_precision(const std::string& name) { return parse(kPrecisionNames, name, "precision"); }
std::string to_string(Precision precision) { return name_of(kPrecisionNames, precision); }
std::vector<std::string> precision_names() { return names_of(kPrecisionNames); }

} // namespace t2i::runtime
