// Who this process is among data-parallel workers (torchrun's env:// variables) and the c10d
// collectives the trainer needs, behind a type that keeps c10d's headers in one file.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace t2i::distributed {

/// One worker's place in the group, as torchrun (or `t2i train --nproc`) describes it.
struct Environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend;  ///< "gloo" or "nccl"; empty: NCCL on CUDA, Gloo otherwise
  std::chrono::seconds timeout{1800};  ///< rendezvous and every collective (PyTorch's default)
  /// torchrun's agent already hosts the store at master_addr:master_port (its static rendezvous
  /// sets TORCHELASTIC_USE_AGENT_STORE=True): every rank, rank 0 too, joins it as a client.
  bool agent_store = false;
  int restart = 0;  ///< torchrun's restart of the worker group (TORCHELASTIC_RESTART_COUNT)
};

/// The device a rank trains on: a CUDA device without an index becomes the one of this rank's
/// local rank (one GPU per local process, as torchrun's LOCAL_RANK means); others stay as asked.
torch::Device rank_device(const torch::Device& requested, int local_rank);

/// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun's env:// variables), with
/// torchrun's TORCHELASTIC_USE_AGENT_STORE and TORCHELASTIC_RESTART_COUNT, plus T2I_DIST_BACKEND. Nothing when WORLD_SIZE is unset or 1: a single process then trains exactly
/// as before. Throws on inconsistent values. The timeout is the caller's (a run option).
std::optional<Environment> environment_from_env();

class ProcessGroup {
public:
  /// Rendezvous: rank 0 hosts the TCPStore at master_addr:master_port; every rank must join within
  /// the timeout, or this throws naming the missing workers' count. `device`: where this rank
  /// trains (rank_device()); NCCL, chosen for CUDA, communicates there, Gloo on the CPU.
  ProcessGroup(const Environment& environment, const torch::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return environment_.rank; }
  int world_size() const { return environment_.world_size; }
  int local_rank() const { return environment_.local_rank; }
  const std::string& backend() const { return backend_; }
  /// Where the backend takes its tensors: the rank's CUDA device for NCCL, the CPU for Gloo.
  const torch::Device& device() const { return device_; }

  /// Every collective below takes tensors of any device and layout: one that is not dense on
  /// device() travels as a copy there, and the result is copied back into it when its collective
  /// is waited for. Callers keep their tensors where they compute them (CPU sums, GPU gradients).
  ///
  /// In place, every tensor its own collective, all in flight before the first wait. A collective
  /// that fails (a rank died: at once; a rank hangs: after the timeout) throws an error naming the
  /// ranks that did not answer the roll call below.
  void allreduce_sum(std::vector<torch::Tensor>& tensors);
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

  /// Starts an all-reduce (sum) of `tensor` in place and returns at once: communication then runs
  /// beside the caller's computation. wait_started() waits for every one started, failing as above.
  void start_allreduce_sum(torch::Tensor tensor);
  void wait_started();

private:
  struct Impl;
  /// Rethrows `error` of collective `what` with the ranks that are gone: every rank that hits a
  /// failure answers a roll call in the store; those that do not answer within a few seconds died
  /// or hang. Rank 0 hosts the store, so a store that cannot be reached names rank 0.
  [[noreturn]] void fail(const std::string& what, const std::exception& error);
  /// Runs `collective` (which waits for its work), turning a failure into fail()'s error.
  void guarded(const std::string& what, const std::function<void()>& collective);
  /// What the backend is handed for `tensor`: itself when it is dense on device(), else a dense
  /// copy there, remembered in `results` so copy_results() can bring the result back.
  torch::Tensor handed(const torch::Tensor& tensor, std::vector<std::pair<torch::Tensor, torch::Tensor>>& results) const;
  Environment environment_;
  std::string backend_;
  torch::Device device_;
  std::unique_ptr<Impl> impl_;
};

} // namespace t2i::distributed
