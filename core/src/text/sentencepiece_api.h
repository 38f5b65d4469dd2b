// The SentencePiece functions the tokenizer and the tokenizer trainer use, as a table that the
// module t2i_sentencepiece (sentencepiece_module.cpp) fills in.
//
// Why a module: Debian's libsentencepiece carries and exports its own copy of protobuf 3.14,
// while LibTorch loads the system's libprotobuf 3.21. Linked into one process, one copy's
// symbols interpose on the other's: with libsentencepiece first, libprotobuf's start-up code
// crashes; with libprotobuf first, loading any SentencePiece model aborts in protobuf's version
// check. The module is the only thing linked against libsentencepiece and is opened with
// RTLD_DEEPBIND, so SentencePiece binds to its own protobuf and LibTorch to the system's.
// Both sides share one libstdc++, so the table may pass standard library types.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace t2i::text {

/// Bump whenever the table changes: a stale module is refused instead of misread.
constexpr int kSentencePieceApiVersion = 1;

struct SentencePieceApi {
  int version;
  /// A processor for a serialized model, or nullptr with `error` set.
  void* (*load)(const std::string& model, std::string* error);
  void (*release)(void* processor);
  bool (*encode)(const void* processor, std::string_view text, std::vector<int>* ids, std::string* error);
  bool (*decode)(const void* processor, const std::vector<int>& ids, std::string* text, std::string* error);
  int (*piece_size)(const void* processor);
  /// pad_id, eos_id and unk_id of the model (-1 where it has none).
  void (*special_ids)(const void* processor, int* pad, int* eos, int* unk);
  std::string (*id_to_piece)(const void* processor, int id);
  /// SentencePieceTrainer with `arguments` (its flag names) over `sentences`; the serialized
  /// model in `model`, or false with `error` set.
  bool (*train)(const std::unordered_map<std::string, std::string>& arguments, const std::vector<std::string>& sentences,
                std::string* model, std::string* error);
};

/// The table, loading the module on first use; throws std::runtime_error naming the places it
/// looked when the module cannot be loaded.
const SentencePieceApi& sentencepiece_api();

} // namespace t2i::text

/// The module's one exported symbol.
extern "C" const t2i::text::SentencePieceApi* t2i_sentencepiece_api();
