// `t2i text …`: tokenize, encode with a T5 folder, build and inspect embedding caches;
// `t2i bench text`: T5 encoding throughput.
#include "commands.h"
#include "terminal_job.h"

#include "t2i/bench.h"
#include "t2i/runtime.h"
#include "t2i/text.h"

#include <iostream>
#include <sstream>

namespace t2i::cli {
namespace {


template <typename T>
std::string joined(const std::vector<T>& values) {
  std::ostringstream out;
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? " " : "") << values[i];
  return out.str();
}

struct T5Args {
  std::string folder;
  std::string spm;
  std::string precision = "fp32";
  text::T5Source source() const { return {folder, spm, runtime::parse_precision(precision)}; }
};

void add_t5_options(CLI::App& command, T5Args& args) {
  command.add_option("--t5", args.folder, "Hugging Face T5 folder (config.json + weights)")->required()->check(CLI::ExistingDirectory);
  command.add_option("--spm", args.spm, "SentencePiece model (default: <t5 folder>/spiece.model)")->check(CLI::ExistingFile);
  command.add_option("--precision", args.precision, "Encoder arithmetic")->check(CLI::IsMember({"fp32", "bf16"}));
}

void add_tokenize(CLI::App& text) {
  auto* command = text.add_subcommand("tokenize", "Show the T5 token ids and pieces of a text");
  struct Args {
    std::string spm, t5, text;
    std::int64_t max_len = 512;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* spm = command->add_option("--spm", args->spm, "SentencePiece model (spiece.model)")->check(CLI::ExistingFile);
  auto* t5 = command->add_option("--t5", args->t5, "T5 folder holding spiece.model")->check(CLI::ExistingDirectory);
  spm->excludes(t5);
  command->add_option("--max-len", args->max_len, "Tokens at most, </s> included")->check(CLI::Range(1, 1 << 20));
  command->add_flag("--json", args->json, "Print one JSON object");
  command->add_option("text", args->text, "The text (may be empty)")->required();
  command->callback([args] {
    if (args->spm.empty() && args->t5.empty()) throw CliExit(2, "text tokenize: give --spm FILE or --t5 DIR");
    const std::string model = args->spm.empty() ? args->t5 + "/spiece.model" : args->spm;
    const text::Tokenized t = text::tokenize(model, args->text, args->max_len);
    if (args->json) {
      std::cout << text::to_json(t) << "\n";
      return;
    }
    std::cout << "tokens: " << t.ids.size() << (t.truncated ? " (truncated)" : "") << "\n"
              << "ids:    " << joined(t.ids) << "\n"
              << "pieces: " << joined(t.pieces) << "\n";
  });
}

void add_encode(CLI::App& text) {
  auto* command = text.add_subcommand("encode", "Encode a text with a T5 encoder; print shape and statistics");
  struct Args {
    T5Args t5;
    std::string text;
    std::int64_t max_len = 128;
  };
  auto args = std::make_shared<Args>();
  add_t5_options(*command, args->t5);
  command->add_option("--max-len", args->max_len, "Tokens at most, </s> included")->check(CLI::Range(1, 1 << 20));
  command->add_option("text", args->text, "The text (may be empty)")->required();
  command->callback([args] {
    const text::EncodeSummary s = text::encode_summary(args->t5.source(), args->text, args->max_len);
    std::cout << "encoder: " << s.encoder << "\n"
              << "ids:     " << joined(s.ids) << "\n"
              << "shape:   [" << joined(s.shape) << "]\n"
              << "mean:    " << s.mean << "\n"
              << "std:     " << s.std << "\n"
              << "first:   " << joined(s.first_values) << "\n"
              << "seconds: " << s.seconds << "\n";
  });
}

void add_cache(CLI::App& text) {
  auto* command = text.add_subcommand("cache", "Encode every caption once into a float16 embedding cache (resumable)");
  struct Args {
    T5Args t5;
    std::string captions, out;
    std::int64_t max_len = 64;
    std::int64_t batch = 32;
  };
  auto args = std::make_shared<Args>();
  add_t5_options(*command, args->t5);
  command->add_option("--captions", args->captions, "Captions file, one caption per line")->required()->check(CLI::ExistingFile);
  command->add_option("--out", args->out, "Cache data file (its index is <out>.index)")->required();
  command->add_option("--max-len", args->max_len, "Tokens per caption, </s> included")->check(CLI::Range(1, 1 << 20));
  command->add_option("--batch", args->batch, "Captions per forward pass")->check(CLI::Range(1, 4096));
  command->callback([args] {
    const std::vector<std::string> captions = text::read_caption_lines(args->captions);
    text::CacheBuildOptions options;
    options.t5 = args->t5.source();
    options.path = args->out;
    options.max_len = args->max_len;
    options.batch_size = args->batch;
    const text::CacheBuildReport report = text::build_cache(captions, options, TerminalJob().context());
    std::cout << text::to_json(report) << "\n";
    if (report.cancelled) throw CliExit(130, "cancelled; run the same command again to resume");
  });
}

void add_inspect(CLI::App& text) {
  auto* command = text.add_subcommand("inspect", "Describe an embedding cache");
  auto path = std::make_shared<std::string>();
  command->add_option("cache", *path, "Cache data file")->required();
  command->callback([path] {
    std::cout << text::to_json(text::inspect_cache(*path)) << "\n";
  });
}

} // namespace

void add_text_command(CLI::App& app) {
  auto* text = app.add_subcommand("text", "Text conditioning: tokenize, encode, embedding caches");
  text->require_subcommand(1);
  add_tokenize(*text);
  add_encode(*text);
  add_cache(*text);
  add_inspect(*text);
}

void add_bench_text(CLI::App& bench) {
  auto* command = bench.add_subcommand("text", "T5 encoding throughput (t5-v1_1-base size, random weights)");
  auto options = std::make_shared<bench::TextOptions>();
  auto precision = std::make_shared<std::string>("both");
  command->add_option("--batch", options->batch, "Captions per forward pass")->check(CLI::Range(1, 4096));
  command->add_option("--tokens", options->tokens, "Tokens per caption, </s> included")->check(CLI::Range(1, 4096));
  command->add_option("--repeats", options->repeats, "Timed passes per precision (best is reported)")->check(CLI::Range(1, 1000));
  command->add_option("--precision", *precision, "fp32, bf16 or both")->check(CLI::IsMember({"fp32", "bf16", "both"}));
  command->callback([options, precision] {
    if (*precision != "both") options->precisions = {runtime::parse_precision(*precision)};
    std::cout << bench::text_json(*options) << "\n";
  });
}

} // namespace t2i::cli
