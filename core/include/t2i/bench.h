// Micro-benchmarks of the machine itself, so model benchmarks can be read against what the
// hardware delivers (achieved GFLOP/s of a U-Net vs a plain convolution in the same run).
#pragma once

#include <string>

namespace t2i::bench {

struct KernelOptions {
  int repeats = 5;  ///< timed repetitions per kernel; the best is reported
};

/// Times a 3x3 convolution (8x128x64x64) and a 1024^3 matmul in fp32 and bf16, NCHW and
/// channels-last, on the CPU. Returns one JSON object with GFLOP/s per variant.
std::string kernel_throughput_json(const KernelOptions& options);

} // namespace t2i::bench
