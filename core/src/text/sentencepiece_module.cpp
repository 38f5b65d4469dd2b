// The module t2i_sentencepiece: the only code linked against libsentencepiece (see
// sentencepiece_api.h for why). No exception leaves it; failures come back as error strings.
#include "text/sentencepiece_api.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <memory>

namespace {

using sentencepiece::SentencePieceProcessor;

const SentencePieceProcessor& processor(const void* p) { return *static_cast<const SentencePieceProcessor*>(p); }

class SentenceList : public sentencepiece::SentenceIterator {
public:
  explicit SentenceList(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return index_ >= sentences_.size(); }
  void Next() override { ++index_; }
  const std::string& value() const override { return sentences_[index_]; }
  sentencepiece::util::Status status() const override { return {}; }

private:
  const std::vector<std::string>& sentences_;
  std::size_t index_ = 0;
};

void* load(const std::string& model, std::string* error) {
  try {
    auto p = std::make_unique<SentencePieceProcessor>();
    const auto status = p->LoadFromSerializedProto(model);
    if (!status.ok()) {
      *error = status.ToString();
      return nullptr;
    }
    return p.release();
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

void release(void* p) { delete static_cast<SentencePieceProcessor*>(p); }

bool encode(const void* p, std::string_view text, std::vector<int>* ids, std::string* error) {
  try {
    const auto status = processor(p).Encode(text, ids);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

bool decode(const void* p, const std::vector<int>& ids, std::string* text, std::string* error) {
  try {
    const auto status = processor(p).Decode(ids, text);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

int piece_size(const void* p) { return processor(p).GetPieceSize(); }

void special_ids(const void* p, int* pad, int* eos, int* unk) {
  *pad = processor(p).pad_id();
  *eos = processor(p).eos_id();
  *unk = processor(p).unk_id();
}

std::string id_to_piece(const void* p, int id) { return processor(p).IdToPiece(id); }

bool train(const std::unordered_map<std::string, std::string>& arguments, const std::vector<std::string>& sentences,
           std::string* model, std::string* error) {
  try {
    SentenceList list(sentences);
    const auto status = sentencepiece::SentencePieceTrainer::Train(arguments, &list, model);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

const t2i::text::SentencePieceApi kApi{t2i::text::kSentencePieceApiVersion,
                                       load,
                                       release,
                                       encode,
                                       decode,
                                       piece_size,
                                       special_ids,
                                       id_to_piece,
                                       train};

} // namespace

extern "C" __attribute__((visibility("default"))) const t2i::text::SentencePieceApi* t2i_sentencepiece_api() {
  return &kApi;
}
