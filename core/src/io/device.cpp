#include "io/device.h"

#include <stdexcept>

namespace t2i::io {

torch::Device parse_device(const std::string& name) {
  torch::Device device = torch::kCPU;
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw std::runtime_error("unknown device \"" + name + "\" (use cpu or cuda[:N])");
  }
  if (!device.is_cpu() && !device.is_cuda()) throw std::runtime_error("unsupported device " + name + " (use cpu or cuda[:N])");
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("device " + name + " requested, but this LibTorch build sees no CUDA device");
  return device;
}

} // namespace t2i::io
