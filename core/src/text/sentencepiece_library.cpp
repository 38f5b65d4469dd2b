// Finds and opens the t2i_sentencepiece module (see sentencepiece_api.h).
#include "text/sentencepiece_api.h"

#include "runtime/sanitizer.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace t2i::text {
namespace {

namespace fs = std::filesystem;

// RTLD_DEEPBIND: SentencePiece's references resolve to its own protobuf first.
void* open_deep_bound(const std::string& path) {
  constexpr int flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#ifdef T2I_ADDRESS_SANITIZER
  // AddressSanitizer's dlopen refuses RTLD_DEEPBIND (google/sanitizers#611): a deep-bound library
  // could reach libc's malloc before the sanitizer's. The module of a sanitizer build lists the
  // shared sanitizer runtime ahead of libc (gcc does so by itself, clang with -shared-libasan), so
  // its own lookup scope finds the sanitizer's allocator first and libc's dlopen is safe to call.
  using Dlopen = void* (*)(const char*, int);
  static const auto libc_dlopen =
      reinterpret_cast<Dlopen>(::dlsym(::dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), "dlopen"));
  return libc_dlopen(path.c_str(), flags);
#else
  return ::dlopen(path.c_str(), flags);
#endif
}

// Where to look, in order: an explicit override, the installed layout beside the running
// executable, the build tree.
std::vector<std::string> module_candidates() {
  std::vector<std::string> paths;
  if (const char* path = std::getenv("T2I_SENTENCEPIECE_MODULE"); path != nullptr && *path != '\0') paths.emplace_back(path);
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (!error) paths.push_back((executable.parent_path() / T2I_SENTENCEPIECE_MODULE_INSTALLED).lexically_normal().string());
  paths.emplace_back(T2I_SENTENCEPIECE_MODULE_BUILD);
  return paths;
}

const SentencePieceApi* open_module() {
  std::string tried;
  for (const std::string& path : module_candidates()) {
    if (!fs::exists(path)) {
      tried += "\n  " + path + ": absent";
      continue;
    }
    void* handle = open_deep_bound(path);
    if (handle == nullptr) {
      tried += "\n  " + path + ": " + ::dlerror();
      continue;
    }
    using Entry = const SentencePieceApi* (*)();
    const auto entry = reinterpret_cast<Entry>(::dlsym(handle, "t2i_sentencepiece_api"));
    const SentencePieceApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || api->version != kSentencePieceApiVersion) {
      tried += "\n  " + path + ": not a matching t2i_sentencepiece module";
      ::dlclose(handle);
      continue;
    }
    return api;  // stays loaded for the life of the process
  }
  throw std::runtime_error("cannot load the SentencePiece module (set T2I_SENTENCEPIECE_MODULE to its path); tried:" +
                           tried);
}

} // namespace

const SentencePieceApi& sentencepiece_api() {
  static const SentencePieceApi* const api = open_module();
  return *api;
}

} // namespace t2i::text
