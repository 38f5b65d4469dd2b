// The compute runtime as the user should see it: which LibTorch, which devices, how many
// threads, which BLAS. initialize() must run once at start-up: LibTorch starts with a single
// intra-op thread on this platform, and a reference BLAS would make every matmul ~18x slower.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::runtime {

/// The arithmetic of a network, the one precision vocabulary of the facade. Auto = the fastest for
/// the device: bf16 autocast (fp32 master weights) on CUDA and on CPUs with native bf16, else
/// fp32. A frozen text encoder reads Auto as fp32 (T5 overflows in float16, so never fp16).
enum class Precision { Auto, Float32, BFloat16 };

/// "auto" | "fp32" | "bf16"; parse_precision throws std::runtime_error naming the word and the
/// accepted ones.
Precision parse_precision(const std::string& name);
std::string to_string(Precision precision);
std::vector<std::string> precision_names();  ///< in enum order

struct Report {
  std::string torch_version;         ///< e.g. "1.13.1"
  std::vector<std::string> devices;  ///< "cpu", then "cuda:0 (NVIDIA H100 …)" for each GPU
  int intra_op_threads = 0;          ///< LibTorch's intra-op thread count now
  int cpu_cores = 0;                 ///< cores this process may run on
  std::string blas;                  ///< e.g. "OpenBLAS 0.3.21 (pthreads, core Prescott)"
  bool blas_is_reference = false;    ///< true when only the slow netlib reference BLAS is loaded
  bool cpu_bf16 = false;             ///< the CPU has native bf16 (AVX512-BF16 or AMX): bf16 is the fast path
  std::string cpu_isa;               ///< the widest vector ISA the CPU reports, e.g. "avx512+amx"
  std::string openmp_wait_policy;    ///< OMP_WAIT_POLICY as this process started with it; empty = unset
};

/// LibTorch's OpenMP threads (libgomp) spin while they wait for work unless OMP_WAIT_POLICY says
/// PASSIVE. When another process holds a core, a spinning thread starves the partner it waits
/// for: two threads sampled 50x slower than one on a loaded 2-core machine. libgomp reads the
/// variable once, before main, so a program that wants sleeping waits must restart itself with
/// it set. Call first thing in main: when OMP_WAIT_POLICY is unset it sets PASSIVE and replaces
/// the process with the same program and arguments (/proc/self/exe). It returns when the
/// variable was already set (a user's choice is kept) or when the restart failed.
void restart_with_passive_openmp_waits(char** argv);

/// Cores available to this process (CPU affinity), at least 1.
int available_cores();

/// Sets LibTorch's intra-op threads (0 = available_cores()) and returns the resulting report.
/// Safe to call more than once.
Report initialize(int threads = 0);

/// The report for the current state, without changing anything.
Report report();

/// A multi-line, human-readable rendering of a report (the CLI's `t2i info`).
std::string to_text(const Report& report);

/// A one-line JSON object of a report, for benchmarks and scripts.
std::string to_json(const Report& report);

struct Memory {
  std::uint64_t resident_bytes = 0;       ///< this process's resident set now
  std::uint64_t peak_resident_bytes = 0;  ///< this process's peak resident set
  std::uint64_t total_bytes = 0;          ///< the machine's physical memory
  std::uint64_t available_bytes = 0;      ///< what the kernel says is available to start new work
};

/// Memory figures from /proc; zeros where the platform does not say.
Memory memory();

} // namespace t2i::runtime
