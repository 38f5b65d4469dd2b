#include "distributed/process_group.h"

#include "t2i/log.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace t2i::distributed {
namespace {

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

int integer(const char* name, int fallback) {
  const auto text = variable(name);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const int value = std::stoi(*text, &used);
    if (used == text->size()) return value;
  } catch (const std::exception&) {
  }
  throw std::runtime_error(std::string(name) + "=" + *text + " is not an integer");
}

// How long a failed rank waits for the others to answer the roll call. Ranks that hit a failure in
// the same step arrive within the timeout of each other, and a rank that died at once; a few
// seconds lets the ones already failing answer without delaying the error much.
constexpr std::chrono::seconds kRollCallWait{5};
constexpr std::chrono::milliseconds kRollCallPoll{100};

std::string rank_list(const std::vector<int>& ranks) {
  std::string text;
  for (std::size_t i = 0; i < ranks.size(); ++i) text += (i == 0 ? "" : i + 1 == ranks.size() ? " and " : ", ") + std::to_string(ranks[i]);
  return text;
}

/// Puts each collective's result into the tensor the caller gave, where the backend was handed a
/// copy of it (ProcessGroup::handed()).
void copy_results(std::vector<std::pair<torch::Tensor, torch::Tensor>>& results) {
  torch::NoGradGuard no_grad;
  for (auto& [given, copy] : results) given.copy_(copy);
  results.clear();
}

} // namespace

torch::Device rank_device(const torch::Device& requested, int local_rank) {
  if (!requested.is_cuda() || requested.has_index()) return requested;
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(local_rank));
}

std::optional<Environment> environment_from_env() {
  Environment e;
  e.world_size = integer("WORLD_SIZE", 1);
  if (e.world_size <= 1) return std::nullopt;
  e.rank = integer("RANK", -1);
  if (e.rank < 0 || e.rank >= e.world_size)
    throw std::runtime_error("RANK must be set to 0…" + std::to_string(e.world_size - 1) + " when WORLD_SIZE=" +
                             std::to_string(e.world_size));
  e.local_rank = integer("LOCAL_RANK", e.rank);
  e.master_addr = variable("MASTER_ADDR").value_or(e.master_addr);
  e.master_port = integer("MASTER_PORT", e.master_port);
  if (e.master_port <= 0 || e.master_port > 65535) throw std::runtime_error("MASTER_PORT out of range");
  e.agent_store = variable("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  e.restart = integer("TORCHELASTIC_RESTART_COUNT", 0);
  e.backend = variable("T2I_DIST_BACKEND").value_or("");
  if (!e.backend.empty() && e.backend != "gloo" && e.backend != "nccl")
    throw std::runtime_error("T2I_DIST_BACKEND must be gloo or nccl, not " + e.backend);
  return e;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Store> roll_call;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  std::vector<c10::intrusive_ptr<c10d::Work>> started;  ///< by start_allreduce_sum(), not yet waited for
  std::vector<std::pair<torch::Tensor, torch::Tensor>> started_results;  ///< their copies to bring back
  std::string failure;  ///< why starting a collective failed: reported by wait_started()
};

ProcessGroup::ProcessGroup(const Environment& environment, const torch::Device& device)
    : environment_(environment), device_(torch::kCPU), impl_(std::make_unique<Impl>()) {
  backend_ = !environment.backend.empty() ? environment.backend : device.is_cuda() ? "nccl" : "gloo";
  if (backend_ == "nccl") {
    if (!device.is_cuda())
      throw std::runtime_error("NCCL communicates between CUDA devices, and this run trains on " + device.str() +
                               ": set T2I_DIST_BACKEND=gloo");
    device_ = rank_device(device, environment.local_rank);
  }
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(environment.master_port);
  // Under torchrun the agent's store is on the port already (rank 0 could not listen there); the
  // process group's own rendezvous then waits for every rank.
  store_options.isServer = environment.rank == 0 && !environment.agent_store;
  store_options.numWorkers = static_cast<std::size_t>(environment.world_size);
  store_options.waitWorkers = !environment.agent_store;
  store_options.timeout = environment.timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, store_options);
  // The prefix keeps this group's keys apart from any other use of the store (torchrun's agent),
  // and from an earlier attempt's when torchrun restarts the workers in the same store.
  const std::string prefix = "t2i/attempt_" + std::to_string(environment.restart) + "/";
  impl_->store = c10::make_intrusive<c10d::PrefixStore>(prefix + "default_pg", tcp);
  impl_->roll_call = c10::make_intrusive<c10d::PrefixStore>(prefix + "roll_call", tcp);
  if (backend_ == "nccl") {
#ifdef USE_C10D_NCCL
    // LibTorch 1.13's NCCL group applies the timeout only in blocking-wait mode; without it a hung
    // rank blocks the others forever instead of failing their wait. A user's own setting wins.
    setenv("NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = environment.timeout;
    impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, environment.rank, environment.world_size, options);
#else
    throw std::runtime_error("this LibTorch has no NCCL: set T2I_DIST_BACKEND=gloo");
#endif
  } else {
    auto options = c10d::ProcessGroupGloo::Options::create(environment.timeout);
    // The network interface the ranks talk over: GLOO_SOCKET_IFNAME as in PyTorch, loopback for a
    // local run, else the one this host's name resolves to.
    const auto interface = variable("GLOO_SOCKET_IFNAME");
    const bool loopback = environment.master_addr == "127.0.0.1" || environment.master_addr == "localhost";
    options->devices.push_back(interface  ? c10d::ProcessGroupGloo::createDeviceForInterface(*interface)
                               : loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                          : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, environment.rank, environment.world_size, options);
  }
  log::core()->info("rank {} of {} (local rank {}) joined {}:{} over {}", environment.rank, environment.world_size,
                    environment.local_rank, environment.master_addr, environment.master_port, backend_);
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::fail(const std::string& what, const std::exception& error) {
  const std::string context = "rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ": " + what +
                              " failed (" + error.what() + ")";
  std::vector<int> silent;
  try {
    impl_->roll_call->set(std::to_string(rank()), std::vector<std::uint8_t>{1});
    for (int other = 0; other < world_size(); ++other) silent.push_back(other);
    silent.erase(std::remove(silent.begin(), silent.end(), rank()), silent.end());
    const auto deadline = std::chrono::steady_clock::now() + std::min<std::chrono::milliseconds>(kRollCallWait, environment_.timeout);
    while (!silent.empty()) {
      silent.erase(std::remove_if(silent.begin(), silent.end(),
                                  [&](int other) { return impl_->roll_call->check({std::to_string(other)}); }),
                   silent.end());
      if (silent.empty() || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(kRollCallPoll);
    }
  } catch (const std::exception&) {
    if (rank() == 0) throw std::runtime_error(context);
    throw std::runtime_error("rank 0 (host of the rendezvous store at " + environment_.master_addr + ":" +
                             std::to_string(environment_.master_port) + ") is gone: it died, hangs or stopped; " + context);
  }
  if (silent.empty()) throw std::runtime_error(context + "; every rank is still running");
  throw std::runtime_error((silent.size() == 1 ? "rank " : "ranks ") + rank_list(silent) +
                           " stopped answering (died or hangs); " + context);
}

void ProcessGroup::guarded(const std::string& what, const std::function<void()>& collective) {
  try {
    collective();
  } catch (const std::exception& error) {
    fail(what, error);
  }
}

void ProcessGroup::allreduce_sum(std::vector<torch::Tensor>& tensors) {
  for (const torch::Tensor& tensor : tensors) start_allreduce_sum(tensor);
  wait_started();
}

void ProcessGroup::start_allreduce_sum(torch::Tensor tensor) {
  // Called from gradient hooks inside backward: an error waits for wait_started(), so it does not
  // unwind through the autograd engine.
  if (!impl_->failure.empty()) return;
  try {
    std::vector<at::Tensor> one{handed(tensor, impl_->started_results)};
    impl_->started.push_back(impl_->group->allreduce(one));
  } catch (const std::exception& error) {
    impl_->failure = error.what();
  }
}

void ProcessGroup::wait_started() {
  guarded("all-reduce", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> started;
    std::swap(started, impl_->started);
    std::string failure;
    std::swap(failure, impl_->failure);
    std::vector<std::pair<torch::Tensor, torch::Tensor>> results;
    std::swap(results, impl_->started_results);
    for (auto& work : started) work->wait();
    if (!failure.empty()) throw std::runtime_error(failure);
    copy_results(results);
  });
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  guarded("broadcast", [&] {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    std::vector<c10::intrusive_ptr<c10d::Work>> pending;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> results;
    for (const torch::Tensor& tensor : tensors) {
      std::vector<at::Tensor> one{handed(tensor, results)};
      pending.push_back(impl_->group->broadcast(one, options));
    }
    for (auto& work : pending) work->wait();
    copy_results(results);
  });
}

void ProcessGroup::barrier() {
  c10d::BarrierOptions options;
  // NCCL's barrier is an all-reduce on a device; without one named it guesses rank % GPUs, which
  // need not be this rank's GPU.
  if (device_.is_cuda()) options.device_ids = {device_.index()};
  guarded("barrier", [&] { impl_->group->barrier(options)->wait(); });
}

torch::Tensor ProcessGroup::handed(const torch::Tensor& tensor,
                                   std::vector<std::pair<torch::Tensor, torch::Tensor>>& results) const {
  if (tensor.device() == device_ && tensor.is_contiguous()) return tensor;
  torch::NoGradGuard no_grad;
  torch::Tensor copy = tensor.to(device_, tensor.scalar_type(), /*non_blocking=*/false, /*copy=*/true, c10::MemoryFormat::Contiguous);
  results.emplace_back(tensor, copy);
  return copy;
}

} // namespace t2i::distributed
