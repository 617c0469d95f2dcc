// goka-cli emit TOPIC [KEY VALUE]: writes messages into a topic with Goka's
// partitioning, from the command line or from stdin (envelope lines or
// KEY<delim>VALUE lines). See CLI.md.

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/codec_option.hpp"
#include "cli/envelope.hpp"
#include "cli/global_options.hpp"
#include "cli/signals.hpp"
#include "cli/value_codec.hpp"
#include "commands/commands.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"

namespace goka::cli {
namespace {

struct EmitOptions {
  std::string topic;
  std::string key;
  std::string value;
  CLI::Option* key_option = nullptr;
  CLI::Option* value_option = nullptr;
  std::string input = "json";
  std::string delimiter = "\t";
  ValueCodec codec;  // --codec
  std::vector<std::string> headers;
  int32_t partition = -1;
  bool null_empty = false;
  bool keep_partition = false;
  bool skip_invalid = false;
  double rate = 0;  // messages/s, 0: as fast as possible
};

// Reads lines from a file descriptor in large chunks. The lines it returns
// point into its buffer and stay valid until the next call. Wakes up every
// 200 ms to notice SIGINT/SIGTERM (blocked in every thread, see signals.hpp).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd), buffer_(1 << 20) {}

  // The next line without its '\n', or false at the end of the input or when
  // interrupted (then interrupted() is true).
  bool next(std::string_view& line) {
    for (;;) {
      const char* begin = buffer_.data() + begin_;
      if (const void* nl = std::memchr(begin + scanned_, '\n', end_ - begin_ - scanned_)) {
        const auto length = static_cast<std::size_t>(static_cast<const char*>(nl) - begin);
        line = std::string_view(begin, length);
        begin_ += length + 1;
        scanned_ = 0;
        return true;
      }
      scanned_ = end_ - begin_;  // a long line is not searched again from its start
      if (eof_) {
        if (begin_ == end_) return false;
        line = std::string_view(begin, end_ - begin_);  // the last line has no '\n'
        begin_ = end_;
        scanned_ = 0;
        return true;
      }
      if (!fill()) return false;
    }
  }

 private:
  // Reads more input behind what is buffered; false when interrupted.
  bool fill() {
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);  // a very long line
    for (;;) {
      if (interrupted()) return false;
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, 200);
      if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
      const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
      if (n > 0) {
        end_ += static_cast<std::size_t>(n);
        return true;
      }
      if (n == 0) {
        eof_ = true;
        return true;
      }
      if (errno == EINTR || errno == EAGAIN) continue;
      throw Error(Errc::runtime, fmt::format("cannot read stdin: {}", std::strerror(errno)));
    }
  }

  int fd_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t scanned_ = 0;  // bytes after begin_ known to hold no '\n'
  bool eof_ = false;
};

// "\t", "\n", "\r" and "\\" in a delimiter given on the command line mean
// tab, newline, carriage return and backslash.
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[i + 1];
      const char replaced = next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next;
      if (next == 't' || next == 'n' || next == 'r' || next == '\\') {
        out += replaced;
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

Headers parse_headers(const std::vector<std::string>& specs) {
  Headers headers;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(Errc::usage, fmt::format("invalid header \"{}\": expected -H name=value", spec));
    headers.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  return headers;
}

// Plain text given where JSON is expected is the common mistake: say how.
const char* codec_hint(const ValueCodec& codec) {
  return codec.kind() == ValueCodec::Kind::json ? " (use --codec string for plain text)" : "";
}

// A blank line is skipped. For KEY<delim>VALUE input only an empty line is
// blank (a lone tab is an empty key and value); envelopes may be padded.
bool is_blank(std::string_view line, bool kv) {
  if (kv) return line.empty() || line == "\r";
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// Turns input lines into messages and emits them; counts what it did.
class LineEmitter {
 public:
  LineEmitter(const EmitOptions& options, Emitter& emitter, ValueCodec codec, Headers headers)
      : options_(options),
        emitter_(emitter),
        codec_(codec),
        headers_(std::move(headers)),
        delimiter_(unescape(options.delimiter)),
        kv_(options.input == "kv") {
    if (kv_ && delimiter_.empty()) throw Error(Errc::usage, "the key delimiter -K is empty");
  }

  // Emits the message of line number line_number. Throws goka::Error (usage
  // or decode) for an invalid line.
  void emit_line(std::string_view line) {
    Message message;
    if (kv_) {
      parse_kv(line, message);
    } else {
      parse_json(line, message);
    }
    if (options_.partition >= 0) message.partition = options_.partition;
    if (!headers_.empty())
      message.headers.insert(message.headers.end(), headers_.begin(), headers_.end());
    emitter_.emit(std::move(message));
  }

 private:
  void parse_kv(std::string_view line, Message& message) {
    const auto at = delimiter_.size() == 1 ? line.find(delimiter_[0]) : line.find(delimiter_);
    if (at == std::string_view::npos) {
      std::string shown;
      append_json_string(shown, delimiter_);
      throw Error(Errc::usage, fmt::format("no key delimiter {} in the line", shown));
    }
    message.key.emplace(line.substr(0, at));
    const std::string_view value = line.substr(at + delimiter_.size());
    if (value.empty() && options_.null_empty) return;  // a tombstone
    try {
      message.value = codec_.encode_value_text(value);  // JSON null: a tombstone
    } catch (const Error& e) {
      throw Error(Errc::usage, fmt::format("value: {}{}", e.message(), codec_hint(codec_)));
    }
  }

  void parse_json(std::string_view line, Message& message) {
    Envelope envelope = parse_envelope(line, codec_);
    message.key = std::move(envelope.key);
    message.value = std::move(envelope.value);
    if (options_.null_empty && message.value && message.value->empty()) message.value.reset();
    message.headers = std::move(envelope.headers);
    message.timestamp = envelope.timestamp.value_or(0);
    if (options_.keep_partition && envelope.partition) {
      if (*envelope.partition >= emitter_.partitions())
        throw Error(Errc::usage,
                    fmt::format("partition {} out of range: {} has {} partitions",
                                *envelope.partition, emitter_.topic(), emitter_.partitions()));
      message.partition = *envelope.partition;
    }
  }

  const EmitOptions& options_;
  Emitter& emitter_;
  ValueCodec codec_;
  Headers headers_;
  std::string delimiter_;
  bool kv_;
};

void print_summary(const std::string& topic, const EmitSummary& summary, double seconds,
                   int64_t skipped) {
  std::string text;
  const double rate = seconds > 0 ? double(summary.acknowledged) / seconds : 0;
  if (summary.acknowledged == summary.emitted) {
    text = fmt::format("emit: {} message{} to {} in {:.3f} s ({:.0f} messages/s)", summary.emitted,
                       summary.emitted == 1 ? "" : "s", topic, seconds, rate);
  } else {
    text = fmt::format(
        "emit: {} of {} messages to {} acknowledged in {:.3f} s ({:.0f} messages/s), {} failed",
        summary.acknowledged, summary.emitted, topic, seconds, rate,
        summary.emitted - summary.acknowledged);
  }
  if (skipped > 0)
    text += fmt::format(", {} invalid line{} skipped", skipped, skipped == 1 ? "" : "s");
  note(text);
}

// Spaces messages 1/rate seconds apart (--rate): each goes one interval after
// the slot of the one before, so the pace is smooth rather than a burst per
// second. A sleep lasts longer than asked (timer slack, scheduling: 50 us and
// more), longer than the interval at high rates, so a message up to
// kCatchUp behind its slot goes at once: the average rate holds, in bursts of
// at most kCatchUp's worth. After a longer stall of the input the schedule
// restarts from now instead of catching up with a burst.
class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  // rate in messages per second; 0: no pacing.
  explicit Pacer(double rate)
      : interval_(rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(1.0 / rate))
                           : Clock::duration::zero()) {}

  // Returns when the next message may go (at once without a rate); false
  // when interrupted while waiting. Wakes every 200 ms to notice signals.
  bool wait() {
    if (interval_ == Clock::duration::zero()) return true;
    auto now = Clock::now();
    if (!started_ || now - next_ > std::max<Clock::duration>(interval_, kCatchUp)) next_ = now;
    started_ = true;
    while (now < next_) {
      if (interrupted()) return false;
      std::this_thread::sleep_for(std::min<Clock::duration>(next_ - now, std::chrono::milliseconds(200)));
      now = Clock::now();
    }
    next_ += interval_;
    return true;
  }

 private:
  static constexpr std::chrono::milliseconds kCatchUp{10};
  Clock::duration interval_;
  Clock::time_point next_{};
  bool started_ = false;
};

// What reading stdin ended with.
struct InputOutcome {
  std::optional<Error> invalid;  // the line that stopped the input
  int64_t skipped = 0;           // invalid lines skipped (--skip-invalid)
};

void check_options(const EmitOptions& options, bool from_args) {
  if (from_args && options.value_option->count() == 0)
    throw Error(Errc::usage, "KEY needs a VALUE: emit TOPIC KEY VALUE, or no KEY to read stdin");
  if (options.keep_partition && (from_args || options.input == "kv"))
    throw Error(Errc::usage, "--keep-partition needs envelope input (--input json from stdin)");
}

// The VALUE argument's bytes, checked before connecting; std::nullopt for a
// tombstone (JSON null, or an empty VALUE with -Z).
std::optional<std::string> argument_value(const EmitOptions& options, const ValueCodec& codec) {
  if (options.null_empty && options.value.empty()) return std::nullopt;
  try {
    return codec.encode_value_text(options.value);
  } catch (const Error& e) {
    throw Error(Errc::usage, fmt::format("VALUE does not encode with codec {}: {}{}", codec.name(),
                                         e.message(), codec_hint(codec)));
  }
}

// Emits every line of stdin; stops at the first invalid one (or counts and
// skips it) and when interrupted.
InputOutcome emit_stdin(const EmitOptions& options, Emitter& emitter, ValueCodec codec,
                        Headers headers) {
  InputOutcome outcome;
  LineEmitter lines(options, emitter, codec, std::move(headers));
  LineReader reader(STDIN_FILENO);
  Pacer pacer(options.rate);
  const bool kv = options.input == "kv";
  std::string_view line;
  int64_t line_number = 0;
  while (reader.next(line)) {
    ++line_number;
    if (is_blank(line, kv)) continue;
    if (!pacer.wait()) break;
    try {
      lines.emit_line(line);
    } catch (const Error& e) {
      if (e.code() != Errc::usage && e.code() != Errc::decode) throw;
      const std::string message = fmt::format("line {}: {}", line_number, e.message());
      if (options.skip_invalid) {
        ++outcome.skipped;
        log(LogLevel::info, e.context().detail
                                ? fmt::format("{} ({}), skipped", message, *e.context().detail)
                                : message + ", skipped");
        continue;
      }
      ErrorContext context = e.context();
      context.topic = options.topic;
      outcome.invalid.emplace(Errc::usage, message, std::move(context));
      break;
    }
  }
  return outcome;
}

// Exits as CLI.md says: an invalid line, then unacknowledged messages, then
// an interruption; returns when all went well.
void check_outcome(const EmitOptions& options, const EmitSummary& summary,
                   const InputOutcome& input) {
  if (input.invalid) throw *input.invalid;
  if (summary.acknowledged < summary.emitted) {
    ErrorContext context;
    context.topic = options.topic;
    if (summary.first_error)
      context.detail = fmt::format("first error: {}", summary.first_error->what());
    throw Error(
        Errc::kafka,
        fmt::format("{} of {} messages were not acknowledged ({} were)",
                    summary.emitted - summary.acknowledged, summary.emitted, summary.acknowledged),
        std::move(context));
  }
  if (interrupted())
    throw Error(Errc::interrupted,
                fmt::format("interrupted: {} messages were sent before", summary.acknowledged),
                {.topic = options.topic});
}

void run_emit(const EmitOptions& options, const GlobalOptions& global) {
  const bool from_args = options.key_option->count() > 0;
  check_options(options, from_args);
  const ValueCodec codec = options.codec;
  Headers headers = parse_headers(options.headers);
  std::optional<std::string> arg_value;
  if (from_args) arg_value = argument_value(options, codec);

  Emitter emitter(options.topic, client_options(global));
  if (options.partition >= emitter.partitions())
    throw Error(Errc::usage,
                fmt::format("partition {} out of range: {} has {} partitions", options.partition,
                            options.topic, emitter.partitions()),
                {.topic = options.topic});
  const auto started = std::chrono::steady_clock::now();
  InputOutcome input;
  if (from_args) {
    emitter.emit(
        Message{options.key, std::move(arg_value), std::move(headers), 0, options.partition});
  } else {
    input = emit_stdin(options, emitter, codec, std::move(headers));
  }
  // Everything read so far is delivered (or has failed) before reporting.
  const EmitSummary summary = emitter.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  print_summary(options.topic, summary, seconds, input.skipped);
  check_outcome(options, summary, input);
}

}  // namespace

void register_emit(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<EmitOptions>();
  CLI::App* sub = app.add_subcommand("emit", "Emit messages into a topic (Goka's partitioning)");
  sub->footer(
      "Without KEY VALUE, stdin is read: one envelope per line (--input json, what `dump` "
      "prints;\n"
      "\"key\" and \"value\" are needed, \"timestamp\" and \"headers\" are kept, \"value_b64\" is "
      "taken\n"
      "as raw bytes), or KEY<delim>VALUE lines (--input kv). Blank lines are ignored.\n"
      "VALUE text (argument or kv input) per --codec: json must be one valid JSON value, kept as\n"
      "written but for whitespace (key order, number spellings and escapes stay), and null is a\n"
      "tombstone; string is taken as it is; int64 must be a decimal integer; bytes is base64.\n"
      "Envelope values per --codec: json any JSON value (its bytes kept the same way); string a\n"
      "JSON string; int64 a JSON integer; bytes a base64 string; null is a tombstone.\n"
      "proto:NAME (argument, kv or envelope): protobuf message NAME in proto3's JSON mapping,\n"
      "schema from --proto FILE [--proto-path DIR] or --descriptor-set FILE.\n"
      "--rate N spaces messages 1/N s apart (a smooth pace for replays: dump | emit --rate N).\n"
      "A summary goes to stderr (-q: none). Exit 0 only when every message was acknowledged;\n"
      "an invalid line is an error naming its line number (exit 2) after what came before it\n"
      "was sent, unless --skip-invalid.");
  sub->add_option("TOPIC", options->topic, "Topic to emit into")->required();
  options->key_option = sub->add_option("KEY", options->key, "Key of the one message to emit");
  options->value_option =
      sub->add_option("VALUE", options->value, "Value of the one message (as --codec says)");
  sub->add_option("--input", options->input, "stdin format: json envelope lines, or kv lines")
      ->check(CLI::IsMember({"json", "kv"}))
      ->capture_default_str();
  sub->add_option("-K,--key-delimiter", options->delimiter,
                  "Key/value delimiter of --input kv (\\t, \\n, \\r, \\\\ understood)")
      ->default_str("\\t")
      ->type_name("DELIM");
  add_codec_option(sub, options->codec);
  sub->add_option("-H,--header", options->headers, "Header added to every message (repeatable)")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
  auto* partition =
      sub->add_option("-p,--partition", options->partition, "Write every message to this partition")
          ->check(CLI::NonNegativeNumber)
          ->type_name("N");
  sub->add_flag("-Z,--null-empty", options->null_empty,
                "Send an empty value as a tombstone (null)");
  sub->add_flag("--keep-partition", options->keep_partition,
                "Keep each envelope's \"partition\" instead of Goka's partitioning")
      ->excludes(partition);
  sub->add_flag("--skip-invalid", options->skip_invalid,
                "Count and skip invalid input lines instead of failing");
  sub->add_option("--rate", options->rate, "Emit at most N messages per second, evenly spaced")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  sub->callback([options, &global] { run_emit(*options, global); });
}

}  // namespace goka::cli
