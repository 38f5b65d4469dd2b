#include "io/torch_save.h"

#include "io/pickle.h"
#include "io/zip_archive.h"
#include "t2i/log.h"

#include <functional>
#include <optional>

namespace t2i::io {
namespace {

using pickle::Value;
using Kind = Value::Kind;

// torch/serialization.py: MAGIC_NUMBER = 0x1950a86a20f9469cfc6c, PROTOCOL_VERSION = 1001.
constexpr uint8_t kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocolVersion = 1001;
// A state dict nested deeper than this (or a cycle) is not a checkpoint we know.
constexpr int kMaxNesting = 8;

constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor";
constexpr const char* kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

struct StorageType {
  const char* name;
  torch::ScalarType dtype;
};

constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", torch::kFloat32}, {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
    {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64}, {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16}, {"CharStorage", torch::kInt8}, {"ByteStorage", torch::kUInt8},
    {"BoolStorage", torch::kBool},
};

std::optional<torch::ScalarType> storage_dtype(const std::string& name) {
  for (const auto& type : kStorageTypes)
    if (name == type.name) return type.dtype;
  return std::nullopt;
}

/// The globals a state dict's pickle may mention: storage types and tensor rebuilders.
bool is_state_dict_global(const std::string& module, const std::string& name) {
  if (module == "torch") return storage_dtype(name).has_value();
  const std::string qualified = module + "." + name;
  return qualified == kRebuildTensor || qualified == kRebuildTensorV2 || qualified == kRebuildParameter;
}

bool no_globals(const std::string&, const std::string&) { return false; }

const Value& item(const Value& value, size_t index, const std::string& file, const char* what) {
  if (index >= value.items.size()) fail(file, std::string(what) + " has too few elements");
  return *value.items[index];
}

int64_t integer(const Value& value, const std::string& file, const char* what) {
  if (value.kind != Kind::Int) fail(file, std::string(what) + " is of type " + pickle::kind_name(value.kind) + ", not int");
  return value.integer;
}

std::vector<int64_t> integers(const Value& value, const std::string& file, const char* what) {
  if (value.kind != Kind::Tuple && value.kind != Kind::List) fail(file, std::string(what) + " is not a tuple");
  std::vector<int64_t> result;
  for (const Value* element : value.items) {
    result.push_back(integer(*element, file, what));
    if (result.back() < 0) fail(file, std::string(what) + " holds a negative number");
  }
  return result;
}

/// A storage as both formats name it: ('storage', type, key, location, numel[, view]).
struct StorageRef {
  torch::ScalarType dtype;
  std::string key;
  const Value* view = nullptr;  ///< legacy views: (view key, offset, size) in elements, or None
};

StorageRef storage_ref(const Value& persistent_id, const std::string& file) {
  const Value& id = item(persistent_id, 0, file, "a persistent id");
  if (id.kind != Kind::Tuple || id.items.empty() || id.items[0]->kind != Kind::String || id.items[0]->text != "storage")
    fail(file, "a persistent id is not a ('storage', …) tuple");
  const Value& type = item(id, 1, file, "a storage id");
  const Value& key = item(id, 2, file, "a storage id");
  const auto dot = type.text.rfind('.');
  const auto dtype = type.kind == Kind::Global && dot != std::string::npos ? storage_dtype(type.text.substr(dot + 1))
                                                                           : std::nullopt;
  if (!dtype) fail(file, "a storage id does not name a known storage type");
  if (key.kind != Kind::String) fail(file, "a storage key is not a string");
  StorageRef ref{*dtype, key.text};
  if (id.items.size() > 5 && id.items[5]->kind != Kind::None) ref.view = id.items[5];
  return ref;
}

/// Turns the rebuild calls of a pickle into tensors over the file's storages; a tensor
/// referenced twice (memoised) is built once.
class TensorBuilder {
public:
  using StorageLookup = std::function<torch::Tensor(const StorageRef&)>;

  TensorBuilder(std::string file, StorageLookup storage) : file_(std::move(file)), storage_(std::move(storage)) {}

  static bool is_tensor(const Value& value) {
    return value.kind == Kind::Call &&
           (value.text == kRebuildTensorV2 || value.text == kRebuildTensor || value.text == kRebuildParameter);
  }

  torch::Tensor build(const Value& call, int nesting = 0) {
    const auto cached = built_.find(&call);
    if (cached != built_.end()) return cached->second;
    if (nesting > kMaxNesting) fail(file_, "tensor parameters nested too deeply");
    torch::Tensor tensor;
    if (call.text == kRebuildParameter) {
      const Value& data = item(call, 0, file_, "a parameter");
      if (!is_tensor(data)) fail(file_, "a parameter does not hold a tensor");
      tensor = build(data, nesting + 1);
    } else {
      tensor = view_of_storage(call);
    }
    built_[&call] = tensor;
    return tensor;
  }

private:
  // _rebuild_tensor[_v2](storage, storage_offset, size, stride, …)
  torch::Tensor view_of_storage(const Value& call) {
    const Value& id = item(call, 0, file_, "a tensor");
    if (id.kind != Kind::PersistentId) fail(file_, "a tensor's storage is not a persistent id");
    const torch::Tensor storage = storage_(storage_ref(id, file_));
    const int64_t offset = integer(item(call, 1, file_, "a tensor"), file_, "a storage offset");
    const auto size = integers(item(call, 2, file_, "a tensor"), file_, "a tensor size");
    const auto stride = integers(item(call, 3, file_, "a tensor"), file_, "a tensor stride");
    if (size.size() != stride.size()) fail(file_, "a tensor's size and stride differ in length");
    if (offset < 0) fail(file_, "a tensor has a negative storage offset");
    // The last element the view reaches must lie inside the storage.
    int64_t last = offset;
    bool empty = false;
    for (size_t d = 0; d < size.size(); ++d) {
      int64_t reach = 0;
      empty = empty || size[d] == 0;
      if (size[d] > 0 && (__builtin_mul_overflow(size[d] - 1, stride[d], &reach) || __builtin_add_overflow(last, reach, &last)))
        fail(file_, "a tensor's size and stride overflow");
    }
    if (!empty && last >= storage.numel())
      fail(file_, "a tensor reaches element " + std::to_string(last) + " of a storage of " +
                      std::to_string(storage.numel()) + " elements");
    if (empty) return torch::empty(size, storage.options());
    return storage.as_strided(size, stride, offset);
  }

  std::string file_;
  StorageLookup storage_;
  std::map<const Value*, torch::Tensor> built_;
};

/// The tensors of the pickled dict, unwrapping {'state_dict': …} and {'model': …}.
TensorMap collect_state_dict(const Value& root, TensorBuilder& builder, const std::string& file) {
  const Value* dict = &root;
  for (int depth = 0;; ++depth) {
    if (dict->kind != Kind::Dict)
      fail(file, std::string("holds a value of type ") + pickle::kind_name(dict->kind) + ", not a dict of tensors");
    const Value* nested = nullptr;
    for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
      const Value& key = *dict->items[i];
      const Value& value = *dict->items[i + 1];
      if (key.kind == Kind::String && (key.text == "state_dict" || (key.text == "model" && !nested)) &&
          value.kind == Kind::Dict)
        nested = &value;
    }
    if (nested == nullptr) break;
    if (depth == kMaxNesting) fail(file, "state dict nested too deeply");
    dict = nested;
  }
  TensorMap tensors;
  size_t skipped = 0;
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
    const Value& key = *dict->items[i];
    const Value& value = *dict->items[i + 1];
    if (key.kind == Kind::String && TensorBuilder::is_tensor(value))
      tensors[key.text] = builder.build(value);
    else
      ++skipped;
  }
  if (tensors.empty()) fail(file, "the pickled dict holds no tensors");
  if (skipped > 0) log::core()->debug("{}: skipped {} entries that are not named tensors", file, skipped);
  return tensors;
}

void check_legacy_preamble(ByteReader& reader) {
  const std::string& file = reader.file();
  const auto magic = pickle::unpickle(reader, no_globals);
  const Value& number = *magic.root();
  if (number.kind != Kind::BigInt || number.text != std::string(std::begin(kLegacyMagic), std::end(kLegacyMagic)))
    fail(file, "not a torch.save file (bad magic number)");
  const auto version = pickle::unpickle(reader, no_globals);
  if (version.root()->kind != Kind::Int || version.root()->integer != kLegacyProtocolVersion)
    fail(file, "unsupported torch.save protocol version");
  const auto system = pickle::unpickle(reader, no_globals);
  const Value& info = *system.root();
  if (info.kind != Kind::Dict) fail(file, "torch.save system information is not a dict");
  for (size_t i = 0; i + 1 < info.items.size(); i += 2)
    if (info.items[i]->kind == Kind::String && info.items[i]->text == "little_endian" &&
        info.items[i + 1]->kind == Kind::Bool && info.items[i + 1]->integer == 0)
      fail(file, "written on a big-endian machine, which is not supported");
}

} // namespace

bool looks_like_legacy_torch_save(const uint8_t* data, size_t size) {
  // PROTO 2, LONG1 of 10 bytes, the magic number.
  return size >= 4 + sizeof kLegacyMagic && data[0] == 0x80 && data[1] == 2 && data[2] == 0x8a &&
         data[3] == sizeof kLegacyMagic && std::equal(std::begin(kLegacyMagic), std::end(kLegacyMagic), data + 4);
}

TensorMap read_torch_zip(const std::shared_ptr<MappedFile>& file) {
  const std::string& path = file->path();
  const std::vector<ZipRecord> records = read_zip_directory(file->reader());
  std::map<std::string, const ZipRecord*> by_name;
  for (const auto& record : records) by_name[record.name] = &record;

  // The records live under one folder named after the file when it was saved ("archive" or the stem).
  const ZipRecord* data_pickle = nullptr;
  std::string prefix;
  for (const auto& record : records) {
    const auto slash = record.name.find('/');
    if (slash != std::string::npos && record.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      data_pickle = &record;
      prefix = record.name.substr(0, slash + 1);
      break;
    }
  }
  if (data_pickle == nullptr) fail(path, "zip archive without a data.pkl record: not a torch.save file");
  const auto byte_order = by_name.find(prefix + "byteorder");
  if (byte_order != by_name.end() &&
      std::string(reinterpret_cast<const char*>(file->data() + byte_order->second->offset), byte_order->second->size) != "little")
    fail(path, "written on a big-endian machine, which is not supported");

  ByteReader reader(file->data() + data_pickle->offset, data_pickle->size, path + " (" + data_pickle->name + ")");
  const pickle::Pickle pickled = pickle::unpickle(reader, is_state_dict_global);

  std::map<std::string, torch::Tensor> storages;
  TensorBuilder builder(path, [&](const StorageRef& ref) {
    auto& storage = storages[ref.key];
    if (!storage.defined()) {
      const auto record = by_name.find(prefix + "data/" + ref.key);
      if (record == by_name.end()) fail(path, "storage '" + ref.key + "' has no record " + prefix + "data/" + ref.key);
      const size_t element = c10::elementSize(ref.dtype);
      if (record->second->size % element != 0)
        fail(path, "storage '" + ref.key + "' is not a whole number of " + c10::toString(ref.dtype) + " elements");
      storage = map_tensor(file, record->second->offset, ref.dtype, static_cast<int64_t>(record->second->size / element));
    }
    if (storage.scalar_type() != ref.dtype) fail(path, "storage '" + ref.key + "' is used with two different dtypes");
    return storage;
  });
  return collect_state_dict(*pickled.root(), builder, path);
}

TensorMap read_torch_legacy(const std::shared_ptr<MappedFile>& file) {
  const std::string& path = file->path();
  ByteReader reader = file->reader();
  check_legacy_preamble(reader);
  const pickle::Pickle pickled = pickle::unpickle(reader, is_state_dict_global);
  const pickle::Pickle key_list = pickle::unpickle(reader, no_globals);
  if (key_list.root()->kind != Kind::List) fail(path, "the storage key list is not a list");

  // The storages follow in the order of the key list; their element sizes come from the ids.
  std::map<std::string, torch::ScalarType> dtypes;
  for (const Value* id : pickled.persistent_ids()) {
    const StorageRef ref = storage_ref(*id, path);
    const auto known = dtypes.emplace(ref.key, ref.dtype);
    if (known.first->second != ref.dtype) fail(path, "storage '" + ref.key + "' is used with two different dtypes");
  }
  std::map<std::string, torch::Tensor> storages;
  for (const Value* key : key_list.root()->items) {
    if (key->kind != Kind::String) fail(path, "a storage key is not a string");
    const auto dtype = dtypes.find(key->text);
    if (dtype == dtypes.end()) fail(path, "storage '" + key->text + "' is listed but no tensor uses it");
    const uint64_t count = reader.u64("a storage's element count");
    const size_t element = c10::elementSize(dtype->second);
    if (count > reader.remaining() / element)
      fail(path, "storage '" + key->text + "' claims " + std::to_string(count) + " elements, more than the file holds");
    const size_t offset = reader.position();
    reader.take(count * element, "storage data");
    storages[key->text] = map_tensor(file, offset, dtype->second, static_cast<int64_t>(count));
  }

  std::map<std::string, torch::Tensor> views;
  TensorBuilder builder(path, [&](const StorageRef& ref) {
    const auto root = storages.find(ref.key);
    if (root == storages.end()) fail(path, "storage '" + ref.key + "' is used but not in the file");
    if (ref.view == nullptr) return root->second;
    // Storage views of old PyTorch versions: (view key, offset, size), in elements.
    const Value& view = *ref.view;
    if (view.kind != Kind::Tuple || view.items.size() != 3 || view.items[0]->kind != Kind::String)
      fail(path, "a storage view is not a (key, offset, size) tuple");
    auto& storage = views[view.items[0]->text];
    if (!storage.defined()) {
      const int64_t offset = integer(*view.items[1], path, "a storage view offset");
      const int64_t size = integer(*view.items[2], path, "a storage view size");
      if (offset < 0 || size < 0 || offset > root->second.numel() - size)
        fail(path, "a storage view lies outside its storage");
      storage = root->second.narrow(0, offset, size);
    }
    return storage;
  });
  return collect_state_dict(*pickled.root(), builder, path);
}

} // namespace t2i::io
