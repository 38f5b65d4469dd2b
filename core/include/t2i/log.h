// The core's logging channel. The core writes to the named logger "t2i"; the application
// decides where the lines go by adding sinks (stderr, a rotating file, the GUI's log dock).
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <memory>

namespace t2i::log {

/// The core's logger. Created on first use with no sink of its own: lines go only to the
/// sinks added with add_sink().
std::shared_ptr<spdlog::logger> core();

/// Adds a destination for every core (and application) log line. Thread-safe.
void add_sink(spdlog::sink_ptr sink);

/// Removes a destination added earlier (e.g. a GUI widget about to be destroyed).
void remove_sink(const spdlog::sink_ptr& sink);

/// Sets the lowest level that reaches the sinks.
void set_level(spdlog::level::level_enum level);

} // namespace t2i::log
