// `t2i train --nproc N`: N local worker processes of this same command line, each told its place
// through torchrun's environment variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
#pragma once

#include <string>
#include <vector>

namespace t2i::cli {

/// True inside a worker that torchrun or launch_local_workers() started: it must not launch again.
bool launched_as_worker();

/// Starts `nproc` copies of this process's own command line on 127.0.0.1 (rank 0 hosts the store on
/// a free port) and waits for all. Returns 0 when every worker succeeded; otherwise stops the others
/// and throws CliExit naming the first rank that failed.
int launch_local_workers(int nproc);

/// The same for `arguments` (after the program name) of this executable; `stdout_to_stderr`: the
/// workers' standard output goes to standard error (the caller prints JSON on its own).
int launch_local_workers(int nproc, const std::vector<std::string>& arguments, bool stdout_to_stderr);

} // namespace t2i::cli
