#include "t2i/log.h"

#include <spdlog/sinks/dist_sink.h>

namespace t2i::log {
namespace {

struct Channel {
  std::shared_ptr<spdlog::sinks::dist_sink_mt> fanout = std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("t2i", fanout);

  Channel() {
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::warn);
  }
};

Channel& channel() {
  static Channel instance;
  return instance;
}

} // namespace

std::shared_ptr<spdlog::logger> core() { return channel().logger; }

void add_sink(spdlog::sink_ptr sink) { channel().fanout->add_sink(std::move(sink)); }

void remove_sink(const spdlog::sink_ptr& sink) { channel().fanout->remove_sink(sink); }

void set_level(spdlog::level::level_enum level) { channel().logger->set_level(level); }

} // namespace t2i::log
