#include "launch.h"

#include "commands.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace t2i::cli {
namespace {

using Clock = std::chrono::steady_clock;
// How long the other workers have to stop after one failed, before they are killed.
constexpr std::chrono::seconds kStopGrace{10};
constexpr std::chrono::milliseconds kStopPoll{100};

// The running workers, for the SIGTERM handler: written before it is installed and only cleared
// (a reaped worker's slot) afterwards.
constexpr int kMaxWorkers = 256;  // --nproc's limit
pid_t running_workers[kMaxWorkers] = {};
volatile sig_atomic_t running_count = 0;

/// SIGTERM to the launcher (the studio's Stop, a service manager) stops the run as Ctrl+C does:
/// every worker is told, they agree to stop after their step and rank 0 saves.
void pass_stop_on(int signal) {
  for (sig_atomic_t i = 0; i < running_count; ++i)
    if (running_workers[i] != 0) ::kill(running_workers[i], signal);
}

/// A port the kernel has just handed out on 127.0.0.1 and taken back: free, barring a race that
/// the rendezvous then reports.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw CliExit(1, "train: no socket for a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw CliExit(1, "train: could not find a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

std::vector<std::string> own_command_line() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<std::string> arguments;
  for (std::size_t start = 0; start < all.size();) {
    const std::size_t end = all.find('\0', start);
    arguments.push_back(all.substr(start, end - start));
    start = end == std::string::npos ? all.size() : end + 1;
  }
  return arguments;
}

std::vector<std::string> worker_environment(int rank, int nproc, int port) {
  const char* ours[] = {"RANK=", "LOCAL_RANK=", "WORLD_SIZE=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT="};
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    bool replaced = false;
    for (const char* name : ours) replaced = replaced || std::strncmp(*entry, name, std::strlen(name)) == 0;
    if (!replaced) environment.emplace_back(*entry);
  }
  environment.push_back("RANK=" + std::to_string(rank));
  environment.push_back("LOCAL_RANK=" + std::to_string(rank));
  environment.push_back("WORLD_SIZE=" + std::to_string(nproc));
  environment.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  environment.push_back("MASTER_ADDR=127.0.0.1");
  environment.push_back("MASTER_PORT=" + std::to_string(port));
  return environment;
}

void signal_workers(const std::vector<pid_t>& workers, int signal) {
  for (pid_t worker : workers)
    if (worker != 0) ::kill(worker, signal);
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

} // namespace

bool launched_as_worker() {
  const char* world = std::getenv("WORLD_SIZE");
  return world != nullptr && *world != '\0';
}

int launch_local_workers(int nproc) {
  const std::vector<std::string> command = own_command_line();
  return launch_local_workers(nproc, {command.begin() + 1, command.end()}, false);
}

int launch_local_workers(int nproc, const std::vector<std::string>& arguments, bool stdout_to_stderr) {
  const int port = free_loopback_port();
  std::vector<std::string> command{own_command_line().front()};
  command.insert(command.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv = pointers(command);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (stdout_to_stderr) ::posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  std::vector<pid_t> workers;
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> environment = worker_environment(rank, nproc, port);
    std::vector<char*> envp = pointers(environment);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
    if (spawned != 0) {
      ::posix_spawn_file_actions_destroy(&actions);
      signal_workers(workers, SIGTERM);
      throw CliExit(1, "train: could not start worker rank " + std::to_string(rank));
    }
    workers.push_back(pid);
  }
  ::posix_spawn_file_actions_destroy(&actions);
  std::cerr << "started " << nproc << " workers on 127.0.0.1:" << port << "\n";
  // Ctrl+C reaches the workers from the terminal; each stops after its step and rank 0 saves.
  ::signal(SIGINT, SIG_IGN);
  for (std::size_t rank = 0; rank < workers.size() && rank < static_cast<std::size_t>(kMaxWorkers); ++rank)
    running_workers[rank] = workers[rank];
  running_count = static_cast<sig_atomic_t>(std::min<std::size_t>(workers.size(), kMaxWorkers));
  ::signal(SIGTERM, pass_stop_on);
  int failed_rank = -1;
  int failed_status = 0;
  Clock::time_point kill_at;
  for (std::size_t left = workers.size(); left > 0;) {
    int status = 0;
    // Until a worker fails, wait; then poll, so a worker that ignores SIGTERM (hung) is killed.
    const pid_t pid = ::waitpid(-1, &status, failed_rank < 0 ? 0 : WNOHANG);
    if (pid < 0) break;
    if (pid == 0) {
      if (Clock::now() >= kill_at) signal_workers(workers, SIGKILL);
      std::this_thread::sleep_for(kStopPoll);
      continue;
    }
    --left;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    for (std::size_t rank = 0; rank < workers.size(); ++rank) {
      if (workers[rank] != pid) continue;
      workers[rank] = 0;
      if (rank < static_cast<std::size_t>(kMaxWorkers)) running_workers[rank] = 0;
      if (!ok && failed_rank < 0) {
        failed_rank = static_cast<int>(rank);
        failed_status = status;
        // The others would wait for it in their next collective until the timeout: stop them now
        // (SIGTERM: they stop after their step, rank 0 without saving a half-agreed state).
        signal_workers(workers, SIGTERM);
        kill_at = Clock::now() + kStopGrace;
      }
    }
  }
  if (failed_rank < 0) return 0;
  const std::string how = WIFEXITED(failed_status) ? "exited with status " + std::to_string(WEXITSTATUS(failed_status))
                                                   : "was killed by signal " + std::to_string(WTERMSIG(failed_status));
  throw CliExit(1, "train: worker rank " + std::to_string(failed_rank) + " " + how + "; the other workers were stopped");
}

} // namespace t2i::cli
