#include "io/pickle.h"

#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace t2i::io::pickle {
namespace {

// Far beyond any state dict (about 20 values per tensor), far below absurd memory: a hostile
// stream cannot make the arena, the memo or the stack grow past this many entries.
constexpr size_t kMaxEntries = size_t{1} << 22;
constexpr size_t kMaxGlobalNameLength = 1024;

enum Opcode : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BINFLOAT = 'G', BININT = 'J', BININT1 = 'K',
  BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T', SHORT_BINSTRING = 'U',
  BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd', APPENDS = 'e', BINGET = 'h',
  LONG_BINGET = 'j', LIST = 'l', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', SETITEMS = 'u',
  EMPTY_DICT = '}', EMPTY_LIST = ']', EMPTY_TUPLE = ')', BINBYTES = 'B', SHORT_BINBYTES = 'C',
  PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a,
  LONG4 = 0x8b, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94, FRAME = 0x95,
};

} // namespace

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::BigInt: return "big int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Bytes: return "bytes";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return "global";
    case Value::Kind::Call: return "call";
    case Value::Kind::PersistentId: return "persistent id";
  }
  return "?";
}

class Unpickler {
public:
  Unpickler(ByteReader& reader, const GlobalFilter& allowed) : reader_(reader), allowed_(allowed) {
    none_ = make(Value::Kind::None);
    true_ = make(Value::Kind::Bool);
    true_->integer = 1;
    false_ = make(Value::Kind::Bool);
    empty_tuple_ = make(Value::Kind::Tuple);
  }

  Pickle run() {
    while (true) {
      opcode_offset_ = reader_.position();
      const uint8_t opcode = reader_.u8("a pickle opcode");
      if (opcode == STOP) break;
      step(opcode);
    }
    if (stack_.size() != 1 || !marks_.empty())
      error("the stream ends with " + std::to_string(stack_.size()) + " values on the stack");
    result_.root_ = stack_.back();
    return std::move(result_);
  }

private:
  void step(uint8_t opcode) {
    switch (opcode) {
      case PROTO:
        if (reader_.u8("the pickle protocol") > 5) error("unsupported pickle protocol");
        break;
      case FRAME: reader_.u64("a frame length"); break;
      case MARK: push_mark(); break;
      case POP: pop(); break;
      case POP_MARK: stack_.resize(pop_mark()); break;
      case DUP: push(top()); break;
      case NONE: push(none_); break;
      case NEWTRUE: push(true_); break;
      case NEWFALSE: push(false_); break;
      case BININT: push_int(static_cast<int32_t>(reader_.u32("an int"))); break;
      case BININT1: push_int(reader_.u8("an int")); break;
      case BININT2: push_int(reader_.u16("an int")); break;
      case LONG1: push_long(reader_.u8("a long length")); break;
      case LONG4: push_long(signed_length(reader_.u32("a long length"))); break;
      case BINFLOAT: push_float(); break;
      case BINUNICODE: push_text(Value::Kind::String, reader_.u32("a string length")); break;
      case SHORT_BINUNICODE: push_text(Value::Kind::String, reader_.u8("a string length")); break;
      case BINUNICODE8: push_text(Value::Kind::String, reader_.u64("a string length")); break;
      case BINSTRING: push_text(Value::Kind::String, signed_length(reader_.u32("a string length"))); break;
      case SHORT_BINSTRING: push_text(Value::Kind::String, reader_.u8("a string length")); break;
      case BINBYTES: push_text(Value::Kind::Bytes, reader_.u32("a bytes length")); break;
      case SHORT_BINBYTES: push_text(Value::Kind::Bytes, reader_.u8("a bytes length")); break;
      case BINBYTES8: push_text(Value::Kind::Bytes, reader_.u64("a bytes length")); break;
      case EMPTY_TUPLE: push(empty_tuple_); break;
      case TUPLE: push_sequence(Value::Kind::Tuple, pop_to_mark()); break;
      case TUPLE1: push_sequence(Value::Kind::Tuple, pop_n(1)); break;
      case TUPLE2: push_sequence(Value::Kind::Tuple, pop_n(2)); break;
      case TUPLE3: push_sequence(Value::Kind::Tuple, pop_n(3)); break;
      case EMPTY_LIST: push(make(Value::Kind::List)); break;
      case LIST: push_sequence(Value::Kind::List, pop_to_mark()); break;
      case APPEND: extend(Value::Kind::List, pop_n(1)); break;
      case APPENDS: extend(Value::Kind::List, pop_to_mark()); break;
      case EMPTY_DICT: push(make(Value::Kind::Dict)); break;
      case DICT: push_sequence(Value::Kind::Dict, pairs(pop_to_mark())); break;
      case SETITEM: extend(Value::Kind::Dict, pop_n(2)); break;
      case SETITEMS: extend(Value::Kind::Dict, pairs(pop_to_mark())); break;
      case GLOBAL: {
        std::string module = read_line();
        push_global(std::move(module), read_line());
        break;
      }
      case STACK_GLOBAL: {
        const Value* name = pop();
        const Value* module = pop();
        if (module->kind != Value::Kind::String || name->kind != Value::Kind::String)
          error("STACK_GLOBAL needs two strings");
        push_global(module->text, name->text);
        break;
      }
      case REDUCE: reduce(); break;
      case BUILD: build(); break;
      case BINPERSID: {
        Value* id = make(Value::Kind::PersistentId);
        id->items.push_back(pop());
        result_.persistent_ids_.push_back(id);
        push(id);
        break;
      }
      case BINPUT: memoize(reader_.u8("a memo index")); break;
      case LONG_BINPUT: memoize(reader_.u32("a memo index")); break;
      case MEMOIZE: memoize(memo_.size()); break;
      case BINGET: recall(reader_.u8("a memo index")); break;
      case LONG_BINGET: recall(reader_.u32("a memo index")); break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", opcode);
        error(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

  [[noreturn]] void error(const std::string& problem) const {
    fail(reader_.file(), "pickle: " + problem + " (at pickle offset " + std::to_string(opcode_offset_) + ")");
  }

  Value* make(Value::Kind kind) {
    if (result_.arena_.size() >= kMaxEntries) error("too many objects");
    Value& value = result_.arena_.emplace_back();
    value.kind = kind;
    return &value;
  }

  void push(Value* value) {
    if (stack_.size() >= kMaxEntries) error("stack too deep");
    stack_.push_back(value);
  }

  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }

  Value* top() const {
    if (stack_.size() <= floor()) error("stack underflow");
    return stack_.back();
  }

  Value* pop() {
    Value* value = top();
    stack_.pop_back();
    return value;
  }

  std::vector<const Value*> pop_n(size_t count) {
    if (stack_.size() < floor() + count) error("stack underflow");
    std::vector<const Value*> values(stack_.end() - static_cast<ptrdiff_t>(count), stack_.end());
    stack_.resize(stack_.size() - count);
    return values;
  }

  void push_mark() {
    if (marks_.size() >= kMaxEntries) error("too many marks");
    marks_.push_back(stack_.size());
  }

  size_t pop_mark() {
    if (marks_.empty()) error("no MARK to return to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    return mark;
  }

  std::vector<const Value*> pop_to_mark() {
    const size_t mark = pop_mark();
    std::vector<const Value*> values(stack_.begin() + static_cast<ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return values;
  }

  std::vector<const Value*> pairs(std::vector<const Value*> values) const {
    if (values.size() % 2 != 0) error("a dict needs key/value pairs");
    return values;
  }

  uint64_t signed_length(uint32_t length) const {
    if (length > static_cast<uint32_t>(INT32_MAX)) error("negative length");
    return length;
  }

  void push_int(int64_t integer) {
    Value* value = make(Value::Kind::Int);
    value->integer = integer;
    push(value);
  }

  void push_long(uint64_t length) {
    const uint8_t* bytes = reader_.take(length, "a long");
    if (length > 8) {
      Value* value = make(Value::Kind::BigInt);
      value->text.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(length));
      push(value);
      return;
    }
    uint64_t bits = length == 0 ? 0 : ByteReader::little_endian(bytes, static_cast<int>(length));
    if (length > 0 && length < 8 && (bytes[length - 1] & 0x80)) bits |= ~uint64_t{0} << (8 * length);
    int64_t integer;
    std::memcpy(&integer, &bits, sizeof integer);
    push_int(integer);
  }

  void push_float() {
    const uint8_t* bytes = reader_.take(8, "a float");
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | bytes[i];  // BINFLOAT is big-endian
    Value* value = make(Value::Kind::Float);
    std::memcpy(&value->real, &bits, sizeof bits);
    push(value);
  }

  void push_text(Value::Kind kind, uint64_t length) {
    const uint8_t* bytes = reader_.take(length, "a string");
    Value* value = make(kind);
    value->text.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(length));
    push(value);
  }

  void push_sequence(Value::Kind kind, std::vector<const Value*> items) {
    Value* value = make(kind);
    value->items = std::move(items);
    push(value);
  }

  void extend(Value::Kind kind, const std::vector<const Value*>& items) {
    Value* container = top();
    if (container->kind != kind)
      error(std::string("cannot add items to a value of type ") + kind_name(container->kind) + " (expected " +
            kind_name(kind) + ")");
    container->items.insert(container->items.end(), items.begin(), items.end());
  }

  std::string read_line() {
    std::string line;
    while (true) {
      const char c = static_cast<char>(reader_.u8("a global name"));
      if (c == '\n') return line;
      if (line.size() >= kMaxGlobalNameLength) error("global name too long");
      line.push_back(c);
    }
  }

  void push_global(std::string module, std::string name) {
    if (!(module == "collections" && name == "OrderedDict") && !allowed_(module, name))
      error("unsupported global '" + module + "." + name + "'; only tensors and dicts of them can be read");
    Value* value = make(Value::Kind::Global);
    value->text = module + "." + name;
    push(value);
  }

  void reduce() {
    const Value* arguments = pop();
    const Value* callable = pop();
    if (callable->kind != Value::Kind::Global || arguments->kind != Value::Kind::Tuple)
      error("REDUCE needs a global and a tuple");
    if (callable->text == "collections.OrderedDict") {
      if (!arguments->items.empty()) error("OrderedDict built from arguments is not supported");
      push(make(Value::Kind::Dict));
      return;
    }
    Value* call = make(Value::Kind::Call);
    call->text = callable->text;
    call->items = arguments->items;
    push(call);
  }

  void build() {
    pop();
    // An OrderedDict's state is its instance __dict__ (a state dict's `_metadata`): irrelevant here.
    if (top()->kind != Value::Kind::Dict) error(std::string("BUILD on a value of type ") + kind_name(top()->kind) + " is not supported");
  }

  void memoize(uint64_t index) {
    if (memo_.size() >= kMaxEntries && memo_.count(index) == 0) error("memo too large");
    memo_[index] = top();
  }

  void recall(uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) error("memo index " + std::to_string(index) + " was never stored");
    push(found->second);
  }

  ByteReader& reader_;
  const GlobalFilter& allowed_;
  Pickle result_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  Value* none_;
  Value* true_;
  Value* false_;
  Value* empty_tuple_;
  size_t opcode_offset_ = 0;
};

Pickle unpickle(ByteReader& reader, const GlobalFilter& allowed) { return Unpickler(reader, allowed).run(); }

} // namespace t2i::io::pickle
