#include "model/flop_counter.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace t2i::model {
namespace {

// The autograd engine may run backward on its own threads (one per GPU); the thread-local
// callback follows it there, so the count it feeds is process-wide.
std::mutex active_mutex;
FlopCount* active = nullptr;
// Counted operators can call each other (autocast re-dispatches the same operator after casting
// its inputs): only the outermost one counts.
thread_local int counted_depth = 0;

std::vector<int64_t> sizes(const c10::IValue& value) { return value.toTensor().sizes().vec(); }

double product(const std::vector<int64_t>& values, size_t from = 0) {
  double p = 1;
  for (size_t i = from; i < values.size(); ++i) p *= static_cast<double>(values[i]);
  return p;
}

// 2 · N · C_out · (C_in / groups) · k_h · k_w per output pixel, for an output of `out_spatial`.
double conv_flops(const std::vector<int64_t>& weight, double batch, double out_spatial) {
  return 2.0 * batch * static_cast<double>(weight[0]) * product(weight, 1) * out_spatial;
}

double forward_conv(const c10::ArrayRef<const c10::IValue>& in) {
  const auto input = sizes(in[0]);
  const auto weight = sizes(in[1]);
  const auto stride = in[3].toIntVector();
  const auto padding = in[4].toIntVector();
  const auto dilation = in[5].toIntVector();
  if (in[6].toBool()) {  // transposed: the input plays the output's role
    return conv_flops(weight, static_cast<double>(input[0]), product(input, 2));
  }
  double out_spatial = 1;
  for (size_t d = 0; d + 2 < input.size(); ++d) {
    const auto s = stride[std::min(d, stride.size() - 1)];
    const auto p = padding[std::min(d, padding.size() - 1)];
    const auto dl = dilation[std::min(d, dilation.size() - 1)];
    out_spatial *= static_cast<double>((input[d + 2] + 2 * p - dl * (weight[d + 2] - 1) - 1) / s + 1);
  }
  return conv_flops(weight, static_cast<double>(input[0]), out_spatial);
}

double backward_conv(const c10::ArrayRef<const c10::IValue>& in) {
  const auto grad_output = sizes(in[0]);
  const auto weight = sizes(in[2]);
  const auto mask = in[10].toBoolList();
  const double one = conv_flops(weight, static_cast<double>(grad_output[0]), product(grad_output, 2));
  return one * ((mask.get(0) ? 1 : 0) + (mask.get(1) ? 1 : 0));  // grad input, grad weight
}

// [.., m, k] x [.., k, n]: 2·m·k·n per batch entry
double matmul_flops(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return 2.0 * product(a) * static_cast<double>(b.back());
}

// Marks a counted operator so that its end callback knows to leave the nesting level.
struct CountedOp : at::ObserverContext {};

bool is(const char* name, const char* op) { return std::strcmp(name, op) == 0; }

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const char* name = fn.name();
  const auto in = fn.inputs();
  double conv = 0, matmul = 0;
  if (is(name, "aten::convolution") && in.size() >= 7) {
    conv = forward_conv(in);
  } else if (is(name, "aten::convolution_backward") && in.size() >= 11) {
    conv = backward_conv(in);
  } else if ((is(name, "aten::mm") || is(name, "aten::bmm")) && in.size() >= 2) {
    matmul = matmul_flops(sizes(in[0]), sizes(in[1]));
  } else if ((is(name, "aten::addmm") || is(name, "aten::baddbmm")) && in.size() >= 3) {
    matmul = matmul_flops(sizes(in[1]), sizes(in[2]));
  } else if (std::strncmp(name, "aten::_scaled_dot_product_", 26) == 0 && in.size() >= 3) {
    // Fused attention (LibTorch 2): q kᵀ and weights·v, 2·Lq·Lk·d each; backward does twice that.
    const bool backward = std::strstr(name, "backward") != nullptr;
    if (backward && in.size() < 4) return nullptr;
    const auto q = sizes(in[backward ? 1 : 0]);
    const auto k = sizes(in[backward ? 2 : 1]);
    matmul = 4.0 * product(q) * static_cast<double>(k[k.size() - 2]) * (backward ? 2 : 1);
  } else {
    return nullptr;
  }
  if (counted_depth++ == 0) {
    std::lock_guard<std::mutex> lock(active_mutex);
    if (active != nullptr) {
      active->conv += conv;
      active->matmul += matmul;
    }
  }
  return std::make_unique<CountedOp>();
}

void on_end(const at::RecordFunction&, at::ObserverContext* context) {
  if (context != nullptr) --counted_depth;
}

} // namespace

FlopCounter::FlopCounter() {
  {
    std::lock_guard<std::mutex> lock(active_mutex);
    if (active != nullptr) throw std::runtime_error("FlopCounter: only one counter at a time");
    active = &count_;
  }
  counted_depth = 0;
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end).needsInputs(true));
}

FlopCounter::~FlopCounter() {
  at::removeCallback(handle_);
  std::lock_guard<std::mutex> lock(active_mutex);
  active = nullptr;
}

FlopCount FlopCounter::count() const {
  std::lock_guard<std::mutex> lock(active_mutex);
  return count_;
}

} // namespace t2i::model
