// One name table per enum of the facade: the command-line names, parsed and printed from a single
// list, so an enum's spellings are written once (diffusion.h's kinds, runtime::Precision,
// data::Split). A richer table (the sampler registry) works too: any rows with `value` and `name`.
#pragma once

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace t2i::runtime {

/// A table row: the value and its name.
template <typename Enum>
struct Named {
  Enum value;
  const char* name;
};

template <typename Enum, std::size_t N>
using NameTable = std::array<Named<Enum>, N>;

template <typename Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return names;
}

/// The value named `name`; throws std::runtime_error naming `what`, the word and the accepted ones.
template <typename Table>
auto parse(const Table& table, const std::string& name, const char* what) {
  for (const auto& entry : table)
    if (name == entry.name) return entry.value;
  std::string accepted;
  for (const auto& entry : table) accepted += (accepted.empty() ? "" : "|") + std::string(entry.name);
  throw std::runtime_error("unknown " + std::string(what) + " '" + name + "' (expected " + accepted + ")");
}

/// The row of `value`.
template <typename Table, typename Enum>
const auto& entry_of(const Table& table, Enum value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry;
  throw std::runtime_error("enum value without a name");
}

template <typename Table, typename Enum>
std::string name_of(const Table& table, Enum value) {
  return entry_of(table, value).name;
}

} // namespace t2i::runtime
