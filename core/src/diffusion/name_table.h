// An enum's names as the CLI, presets and files spell them: one table per enum, and the parse,
// name and list functions over it, so no name is written twice.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace t2i::diffusion {

/// A table row: the value and its name. Richer rows (the sampler registry) have the same two fields.
template <typename Enum>
struct Named {
  Enum value;
  const char* name;
};

template <typename Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return names;
}

/// The value named `name`; throws naming the unknown word and the accepted ones.
template <typename Table>
auto parse_name(const Table& table, const std::string& name, const char* what) {
  for (const auto& entry : table)
    if (name == entry.name) return entry.value;
  std::string accepted;
  for (const auto& entry : table) accepted += (accepted.empty() ? "" : "|") + std::string(entry.name);
  throw std::runtime_error("unknown " + std::string(what) + " '" + name + "' (expected " + accepted + ")");
}

template <typename Table, typename Enum>
const auto& entry_of(const Table& table, Enum value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry;
  throw std::runtime_error("diffusion: enum value without a table entry");
}

} // namespace t2i::diffusion
