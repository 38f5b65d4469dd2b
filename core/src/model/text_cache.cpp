#include "model/text_cache.h"

namespace t2i::model {
namespace {

bool same_tensor(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || (a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && torch::equal(a, b));
}

torch::Tensor copy_of(const torch::Tensor& t) { return t.defined() ? t.clone() : t; }

// By contents, not identity: classifier-free guidance stacks the prompts and their unconditional
// counterparts anew at every step. The texts are a few tokens, so comparing them costs nothing
// beside a network evaluation.
bool same_text(const TextCondition& a, const TextCondition& b) {
  return same_tensor(a.embeddings, b.embeddings) && same_tensor(a.mask, b.mask) && same_tensor(a.drop, b.drop);
}

} // namespace

void TextCache::use(const TextCondition& text) {
  if (same_text(text, text_)) return;
  // A copy, so that a caller writing into its tensors cannot make a stale cache look current.
  text_ = TextCondition{copy_of(text.embeddings), copy_of(text.mask), copy_of(text.drop)};
  context_.reset();
  keys_values_.clear();
}

const TextContext& TextCache::context(const std::function<TextContext()>& compute) {
  if (!context_) context_ = compute();
  return *context_;
}

const KeysValues& TextCache::keys_values(const void* layer, const std::function<KeysValues()>& compute) {
  auto found = keys_values_.find(layer);
  if (found == keys_values_.end()) {
    found = keys_values_.emplace(layer, compute()).first;
    ++kv_projections_;
  }
  return found->second;
}

} // namespace t2i::model
