#include "io/safetensors.h"

#include "io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace t2i::io {
namespace {

// The reference implementation's limit; a longer header is corrupt, not a real model.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeName {
  const char* name;
  torch::ScalarType dtype;
};

constexpr DtypeName kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};

torch::ScalarType dtype_from_name(const std::string& name, const std::string& file, const std::string& tensor) {
  for (const auto& entry : kDtypes)
    if (name == entry.name) return entry.dtype;
  fail(file, "tensor '" + tensor + "' has an unknown or unsupported dtype '" + name + "'");
}

const char* name_of_dtype(torch::ScalarType dtype, const std::string& file, const std::string& tensor) {
  for (const auto& entry : kDtypes)
    if (dtype == entry.dtype) return entry.name;
  fail(file, "tensor '" + tensor + "' has dtype " + std::string(c10::toString(dtype)) +
                 ", which safetensors files here cannot hold");
}

uint64_t checked_u64(const nlohmann::json& value, const std::string& file, const std::string& what) {
  if (!value.is_number_unsigned()) fail(file, what + " is not a non-negative integer");
  return value.get<uint64_t>();
}

struct Entry {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

struct Header {
  std::vector<Entry> entries;  // sorted by data offset
  Metadata metadata;
  uint64_t data_start = 0;     // 8 + header length
};

Metadata parse_metadata(const nlohmann::json& value, const std::string& file) {
  if (!value.is_object()) fail(file, "\"__metadata__\" is not a JSON object");
  Metadata metadata;
  for (const auto& [key, text] : value.items()) {
    if (!text.is_string()) fail(file, "metadata value of '" + key + "' is not a string");
    metadata[key] = text.get<std::string>();
  }
  return metadata;
}

Entry parse_entry(const std::string& name, const nlohmann::json& value, const std::string& file, uint64_t data_size) {
  const std::string what = "tensor '" + name + "'";
  if (!value.is_object()) fail(file, what + " is not described by a JSON object");
  const auto dtype = value.find("dtype");
  const auto shape = value.find("shape");
  const auto offsets = value.find("data_offsets");
  if (dtype == value.end() || !dtype->is_string()) fail(file, what + " has no dtype string");
  if (shape == value.end() || !shape->is_array()) fail(file, what + " has no shape array");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2)
    fail(file, what + " has no data_offsets pair");

  Entry entry{name, dtype_from_name(dtype->get<std::string>(), file, name), {}, 0, 0};
  uint64_t bytes = c10::elementSize(entry.dtype);
  for (const auto& dimension : *shape) {
    const uint64_t size = checked_u64(dimension, file, what + "'s shape entry");
    if (size > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, size, &bytes))
      fail(file, what + " has an impossibly large shape");
    entry.shape.push_back(static_cast<int64_t>(size));
  }
  entry.begin = checked_u64((*offsets)[0], file, what + "'s start offset");
  entry.end = checked_u64((*offsets)[1], file, what + "'s end offset");
  if (entry.begin > entry.end) fail(file, what + " ends before it starts");
  if (entry.end > data_size)
    fail(file, what + " data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                   ") lie outside the " + std::to_string(data_size) + " data bytes");
  if (entry.end - entry.begin != bytes)
    fail(file, what + " occupies " + std::to_string(entry.end - entry.begin) + " bytes but its dtype and shape need " +
                   std::to_string(bytes));
  return entry;
}

/// Parses and validates the header of a file of `file_size` bytes whose first bytes are `data`
/// (at least min(file_size, 8 + header length) of them).
Header parse_header(const uint8_t* data, size_t available, uint64_t file_size, const std::string& file) {
  ByteReader reader(data, available, file);
  const uint64_t header_length = reader.u64("the header length");
  if (header_length > file_size - 8)
    fail(file, "header length " + std::to_string(header_length) + " exceeds the file size (" +
                   std::to_string(file_size) + " bytes)");
  if (header_length > kMaxHeaderBytes) fail(file, "header length " + std::to_string(header_length) + " is implausibly large");
  const auto* text = reinterpret_cast<const char*>(reader.take(header_length, "the JSON header"));

  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text, text + header_length);
  } catch (const nlohmann::json::exception& error) {
    fail(file, std::string("malformed JSON header: ") + error.what());
  }
  if (!json.is_object()) fail(file, "the JSON header is not an object");

  Header header;
  header.data_start = 8 + header_length;
  const uint64_t data_size = file_size - header.data_start;
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__")
      header.metadata = parse_metadata(value, file);
    else
      header.entries.push_back(parse_entry(name, value, file, data_size));
  }
  std::sort(header.entries.begin(), header.entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  for (size_t i = 1; i < header.entries.size(); ++i) {
    const Entry& previous = header.entries[i - 1];
    if (header.entries[i].begin < previous.end)
      fail(file, "tensors '" + previous.name + "' and '" + header.entries[i].name + "' overlap in the data");
  }
  return header;
}

} // namespace

bool looks_like_safetensors(const uint8_t* data, size_t size) {
  if (size < 10) return false;
  const uint64_t header_length = ByteReader::little_endian(data, 8);
  return header_length >= 2 && header_length <= size - 8 && data[8] == '{';
}

TensorMap read_safetensors(const std::shared_ptr<MappedFile>& file) {
  if (file->size() < 8) fail(file->path(), "truncated: a safetensors file needs at least 8 bytes");
  const Header header = parse_header(file->data(), file->size(), file->size(), file->path());
  TensorMap tensors;
  for (const Entry& entry : header.entries) {
    const int64_t count = static_cast<int64_t>((entry.end - entry.begin) / c10::elementSize(entry.dtype));
    tensors[entry.name] =
        map_tensor(file, static_cast<size_t>(header.data_start + entry.begin), entry.dtype, count).view(entry.shape);
  }
  return tensors;
}

Metadata read_safetensors_metadata(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint64_t file_size = 0;
  try {
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) fail(path, "cannot determine the file size");
    file_size = static_cast<uint64_t>(end);
    if (file_size < 8) fail(path, "truncated: a safetensors file needs at least 8 bytes");
    uint8_t prefix[8];
    if (::pread(fd, prefix, 8, 0) != 8) fail(path, "cannot read the header length");
    const uint64_t header_length = ByteReader::little_endian(prefix, 8);
    // Reads at most what exists; parse_header reports a length beyond it before allocating more.
    const uint64_t wanted = 8 + std::min({header_length, file_size - 8, kMaxHeaderBytes});
    bytes.resize(static_cast<size_t>(wanted));
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) fail(path, "cannot read the header");
      done += static_cast<size_t>(got);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return parse_header(bytes.data(), bytes.size(), file_size, path).metadata;
}

void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail(path, "a tensor cannot be named \"__metadata__\"");
    if (!tensor.defined()) fail(path, "tensor '" + name + "' is undefined");
    name_of_dtype(tensor.scalar_type(), path, name);
  }
  // Wider elements first (as the reference writer does): with the 8-byte header padding, every
  // tensor then starts aligned to its element size, so readers can map it without copying.
  std::vector<std::pair<std::string, torch::Tensor>> ordered(tensors.begin(), tensors.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.second.element_size() > b.second.element_size(); });
  std::vector<torch::Tensor> contiguous;
  contiguous.reserve(ordered.size());
  uint64_t offset = 0;
  for (const auto& [name, tensor] : ordered) {
    const char* dtype = name_of_dtype(tensor.scalar_type(), path, name);
    contiguous.push_back(tensor.to(torch::kCPU).contiguous());
    const uint64_t bytes = contiguous.back().nbytes();
    header[name] = {{"dtype", dtype}, {"shape", tensor.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // The data starts 8-byte aligned in the file, hence in a (page-aligned) mapping.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));

  AtomicFile out(path);
  out.write(length, sizeof length);
  out.write(text.data(), text.size());
  for (const auto& tensor : contiguous) out.write(tensor.data_ptr(), tensor.nbytes());
  out.commit();
}

} // namespace t2i::io
