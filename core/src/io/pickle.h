// A small, safe unpickler for the subset of Python's pickle format that torch.save writes
// (protocol 2, plus the few protocol 4 opcodes newer writers may use). It never executes
// anything: globals become named placeholders, checked against the caller's allow-list, and
// calls (REDUCE) become Call values for the caller to interpret.
#pragma once

#include "io/byte_reader.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace t2i::io::pickle {

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Call, PersistentId };

  Kind kind = Kind::None;
  int64_t integer = 0;  ///< Bool, Int
  double real = 0;      ///< Float
  /// String and Bytes: the contents; BigInt: little-endian two's complement bytes;
  /// Global: "module.name"; Call: the callable's "module.name".
  std::string text;
  /// Tuple and List: the elements; Dict: keys and values interleaved; Call: the arguments;
  /// PersistentId: the id object.
  std::vector<const Value*> items;
};

const char* kind_name(Value::Kind kind);

/// Decides which "module.name" globals a stream may mention.
using GlobalFilter = std::function<bool(const std::string& module, const std::string& name)>;

/// One unpickled stream. The values live in an arena owned by this object, so any shape of
/// input (even cyclic or very deep) is freed without recursion.
class Pickle {
public:
  const Value* root() const { return root_; }
  /// Every persistent id (BINPERSID) of the stream, in order of appearance.
  const std::vector<const Value*>& persistent_ids() const { return persistent_ids_; }

private:
  friend class Unpickler;
  std::deque<Value> arena_;
  const Value* root_ = nullptr;
  std::vector<const Value*> persistent_ids_;
};

/// Reads one pickle from the reader's position up to and including its STOP opcode.
/// `collections.OrderedDict` is understood as a dict; any other global must pass `allowed`.
Pickle unpickle(ByteReader& reader, const GlobalFilter& allowed);

} // namespace t2i::io::pickle
