// One name table per enum of the facade: the command-line names, parsed and printed from a single
// list, so an enum's spellings are written once (diffusion.h's kinds, runtime::Precision,
// data::Split).
#pragma once

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace t2i::runtime {

template <typename Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, const char*>, N>;

template <typename Enum, std::size_t N>
std::vector<std::string> names_of(const NameTable<Enum, N>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.second);
  return names;
}

/// The value named `name`; throws std::runtime_error naming `what`, the word and the accepted ones.
template <typename Enum, std::size_t N>
Enum parse(const NameTable<Enum, N>& table, const std::string& name, const char* what) {
  for (const auto& entry : table)
    if (name == entry.second) return entry.first;
  std::string accepted;
  for (const auto& entry : table) accepted += (accepted.empty() ? "" : "|") + std::string(entry.second);
  throw std::runtime_error("unknown " + std::string(what) + " '" + name + "' (expected " + accepted + ")");
}

template <typename Enum, std::size_t N>
std::string name_of(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& entry : table)
    if (entry.first == value) return entry.second;
  throw std::runtime_error("enum value without a name");
}

} // namespace t2i::runtime
