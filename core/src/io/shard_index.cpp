#include "io/shard_index.h"

#include <nlohmann/json.hpp>

#include <cctype>

namespace t2i::io {

bool looks_like_json_object(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i)
    if (!std::isspace(data[i])) return data[i] == '{';
  return false;
}

TensorMap read_shard_index(const MappedFile& index, const TensorFilter& wanted,
                           const std::function<TensorMap(const std::string&)>& load_shard) {
  const std::string& path = index.path();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(index.data(), index.data() + index.size());
  } catch (const nlohmann::json::exception& error) {
    fail(path, std::string("malformed JSON: ") + error.what());
  }
  const auto weight_map = json.find("weight_map");
  if (!json.is_object() || weight_map == json.end() || !weight_map->is_object())
    fail(path, "JSON without a \"weight_map\" object: not a sharded checkpoint index");

  std::map<std::string, std::vector<std::string>> names_by_shard;
  for (const auto& [name, shard] : weight_map->items()) {
    if (!shard.is_string() || shard.get<std::string>().empty())
      fail(path, "the shard of tensor '" + name + "' is not a file name");
    if (wanted(name)) names_by_shard[shard.get<std::string>()].push_back(name);
  }
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "" : path.substr(0, slash + 1);

  TensorMap tensors;
  for (const auto& [shard, names] : names_by_shard) {
    const std::string shard_path = shard.front() == '/' ? shard : folder + shard;
    TensorMap loaded = load_shard(shard_path);
    for (const auto& name : names) {
      const auto found = loaded.find(name);
      if (found == loaded.end()) fail(path, "tensor '" + name + "' is not in its shard " + shard_path);
      tensors[name] = found->second;
    }
  }
  return tensors;
}

} // namespace t2i::io
