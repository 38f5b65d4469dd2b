#include "data/split_manifest.h"

#include "data/data_error.h"
#include "data/stable_random.h"
#include "io/format_version.h"
#include "io/hash.h"
#include "io/text_file.h"
#include "runtime/name_table.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace t2i::data {

using nlohmann::json;

namespace {
constexpr runtime::NameTable<Split, 3> kSplitNames{{{Split::Train, "train"}, {Split::Val, "val"}, {Split::Test, "test"}}};
} // namespace

Split parse_split(const std::string& name) { return runtime::parse(kSplitNames, name, "split"); }
std::string to_string(Split split) { return runtime::name_of(kSplitNames, split); }
std::vector<std::string> split_names() { return runtime::names_of(kSplitNames); }

void validate(const SplitOptions& options) {
  if (options.max_images == 0) throw DataError("split: the number of images N must be at least 1");
  if (options.train <= 0 || options.val < 0 || options.test < 0)
    throw DataError("split: fractions must be non-negative and train positive");
  if (std::abs(options.train + options.val + options.test - 1.0) > 1e-6)
    throw DataError("split: fractions must sum to 1 (train " + std::to_string(options.train) + ", val " +
                    std::to_string(options.val) + ", test " + std::to_string(options.test) + ")");
}

SplitSizes split_sizes(std::size_t n, const SplitOptions& options) {
  SplitSizes sizes;
  sizes.train = std::min(n, static_cast<std::size_t>(std::llround(static_cast<double>(n) * options.train)));
  sizes.val = std::min(n - sizes.train, static_cast<std::size_t>(std::llround(static_cast<double>(n) * options.val)));
  sizes.test = n - sizes.train - sizes.val;
  return sizes;
}

std::vector<std::size_t> subset_order(const std::vector<std::string>& names, std::uint64_t seed) {
  std::vector<std::uint64_t> keys(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) keys[i] = mix64(seed, io::Hash64().text(names[i]).value());
  std::vector<std::size_t> order(names.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  return order;
}

std::string Manifest::hash() const {
  io::Hash64 h;
  h.text("t2i-data-manifest/1").u64(static_cast<std::uint64_t>(image_size));
  for (Split s : kSplits) {
    const auto& images = split(s);
    h.text(to_string(s)).u64(images.size());
    for (const ManifestImage& image : images) {
      h.text(image.file_name).u64(static_cast<std::uint64_t>(image.id)).u64(image.captions.size());
      for (std::size_t c : image.captions) h.text(captions.at(c));
    }
  }
  return h.hex();
}

namespace {
// 1.1 added only the version fields; it still writes 1.0's "version": 1, so t2i-studio 0.1.0
// reads these manifests too. 1.2 adds the optional "extra_caches" (the images at further
// sizes), which older readers skip. (The content hash keeps its own salt: it names the data, not
// the file format.)
const io::JsonFormat& manifest_format() {
  static const io::JsonFormat format{"data manifest", {1, 2}, {}};
  return format;
}
} // namespace

void write_manifest(const Manifest& manifest, const std::string& path) {
  json root;
  root["format"] = "t2i-data-manifest";
  root["version"] = 1;
  io::stamp_document(manifest_format(), root);
  root["hash"] = manifest.hash();
  root["image_size"] = manifest.image_size;
  root["split_options"] = {{"max_images", manifest.options.max_images}, {"train", manifest.options.train},
                           {"val", manifest.options.val},               {"test", manifest.options.test},
                           {"seed", manifest.options.seed}};
  json sources = json::array();
  for (const Source& source : manifest.sources)
    sources.push_back({{"annotations", source.annotations}, {"images_dir", source.images_dir}});
  root["sources"] = std::move(sources);
  root["cache"] = {{"file", manifest.cache_file}, {"source_hash", io::hex64(manifest.cache_source_hash)}};
  if (!manifest.extra_caches.empty()) {
    json extra = json::array();
    for (const ManifestCache& cache : manifest.extra_caches)
      extra.push_back({{"image_size", cache.image_size}, {"file", cache.file}, {"source_hash", io::hex64(cache.source_hash)}});
    root["extra_caches"] = std::move(extra);
  }
  root["captions"] = manifest.captions;
  json splits = json::object();
  for (Split s : kSplits) {
    json images = json::array();
    for (const ManifestImage& image : manifest.split(s))
      images.push_back({{"slot", image.slot}, {"source", image.source}, {"id", image.id},
                        {"file_name", image.file_name}, {"captions", image.captions}});
    splits[to_string(s)] = std::move(images);
  }
  root["splits"] = std::move(splits);

  replace_file(path, root.dump(1) + '\n');
}

Manifest read_manifest(const std::string& path) {
  std::string text;
  try {
    text = io::read_text_file(path, "manifest");
  } catch (const std::runtime_error& e) {
    throw DataError(std::string(e.what()) + "; run `t2i data prepare` first");
  }
  Manifest m;
  try {
    json root = json::parse(text);
    if (!root.is_object() || root.value("format", std::string()) != "t2i-data-manifest")
      throw DataError(path, "not a t2i data manifest");
    try {
      io::upgrade_document(manifest_format(), root, path);
    } catch (const std::runtime_error& e) {
      throw DataError(std::string(e.what()) + "; run `t2i data prepare` again to rebuild it");
    }
    m.image_size = root.at("image_size").get<int>();
    const json& options = root.at("split_options");
    m.options.max_images = options.at("max_images").get<std::size_t>();
    m.options.train = options.at("train").get<double>();
    m.options.val = options.at("val").get<double>();
    m.options.test = options.at("test").get<double>();
    m.options.seed = options.at("seed").get<std::uint64_t>();
    for (const json& source : root.at("sources"))
      m.sources.push_back(Source{source.at("annotations").get<std::string>(), source.at("images_dir").get<std::string>()});
    m.cache_file = root.at("cache").at("file").get<std::string>();
    m.cache_source_hash = std::stoull(root.at("cache").at("source_hash").get<std::string>(), nullptr, 16);
    if (const auto extra = root.find("extra_caches"); extra != root.end())
      for (const json& cache : *extra)
        m.extra_caches.push_back(ManifestCache{cache.at("image_size").get<int>(), cache.at("file").get<std::string>(),
                                               std::stoull(cache.at("source_hash").get<std::string>(), nullptr, 16)});
    m.captions = root.at("captions").get<std::vector<std::string>>();
    for (Split s : kSplits) {
      for (const json& image : root.at("splits").at(to_string(s))) {
        ManifestImage entry;
        entry.slot = image.at("slot").get<std::size_t>();
        entry.source = image.at("source").get<std::size_t>();
        entry.id = image.at("id").get<std::int64_t>();
        entry.file_name = image.at("file_name").get<std::string>();
        entry.captions = image.at("captions").get<std::vector<std::size_t>>();
        for (std::size_t c : entry.captions)
          if (c >= m.captions.size()) throw DataError(path, "caption index out of range in split " + to_string(s));
        m.splits[static_cast<std::size_t>(s)].push_back(std::move(entry));
      }
    }
    if (root.at("hash").get<std::string>() != m.hash())
      throw DataError(path, "content does not match its stored hash (edited by hand?); run `t2i data prepare` again");
  } catch (const json::exception& e) {
    throw DataError(path, std::string("malformed manifest: ") + e.what());
  } catch (const std::logic_error& e) {  // std::stoull
    throw DataError(path, std::string("malformed manifest: ") + e.what());
  }
  return m;
}

} // namespace t2i::data
