// The connection to hearthd shared by the remote commands, and their small formatting helpers.
#include "cli/remote_client.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "hearth/env.h"

namespace hearth::cli {
namespace {

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

bool IdWithPrefix(const std::string& s, char prefix) {
  if (s.size() < 3 || s[0] != prefix || s[1] != '-') return false;
  for (size_t i = 2; i < s.size(); ++i)
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// Reads a file for a flag (or the environment variable standing in for it).
StatusOr<std::string> ReadFlagFile(const std::string& what, const std::string& path) {
  auto text = Env::Default().ReadFile(path);
  if (!text.ok())
    return absl::Status(text.status().code(),
                        absl::StrFormat("%s %s: %s", what, path, text.status().message()));
  return text;
}

const FlagSpec* FindFlag(const CommandSpec& spec, const std::string& name) {
  for (const FlagSpec& f : spec.flags)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

std::vector<FlagSpec> ConnectionFlags() {
  return {
      {"coordinator", "HOST:PORT",
       "hearthd's address (default $HEARTH_COORDINATOR or 127.0.0.1:7411)"},
      {"token-file", "FILE", "the coordinator's token (default $HEARTH_TOKEN_FILE)"},
      {"ca", "FILE", "use TLS, trusting this CA certificate (default $HEARTH_CA_FILE)"},
  };
}

std::vector<FlagSpec> WithConnectionFlags(std::vector<FlagSpec> flags) {
  for (FlagSpec& f : ConnectionFlags()) flags.push_back(std::move(f));
  return flags;
}

std::string CoordinatorAddress(const ParsedArgs& args) {
  if (args.Has("coordinator")) return args.Get("coordinator");
  const std::string env = EnvOrEmpty("HEARTH_COORDINATOR");
  return env.empty() ? kDefaultCoordinator : env;
}

bool CoordinatorGiven(const ParsedArgs& args) {
  return args.Has("coordinator") || !EnvOrEmpty("HEARTH_COORDINATOR").empty();
}

bool LooksLikeJobId(const std::string& s) {
  return IdWithPrefix(s, 'j');
}
bool LooksLikeSweepId(const std::string& s) {
  return IdWithPrefix(s, 's');
}

StatusOr<std::unique_ptr<RemoteClient>> RemoteClient::Connect(const ParsedArgs& args) {
  return Open(args, std::nullopt);
}

StatusOr<std::unique_ptr<RemoteClient>> RemoteClient::ConnectWithCredential(
    const ParsedArgs& args, std::string credential) {
  return Open(args, std::move(credential));
}

StatusOr<std::unique_ptr<RemoteClient>> RemoteClient::Open(const ParsedArgs& args,
                                                           std::optional<std::string> credential) {
  std::unique_ptr<RemoteClient> client(new RemoteClient());
  client->address_ = CoordinatorAddress(args);
  if (client->address_.empty())
    return absl::InvalidArgumentError("--coordinator: expected HOST:PORT, got an empty address");

  const bool token_flag = args.Has("token-file");
  if (credential) client->token_ = *std::move(credential);
  const std::string token_path =
      token_flag ? args.Get("token-file") : EnvOrEmpty("HEARTH_TOKEN_FILE");
  if (!credential && !token_path.empty()) {
    const std::string what = token_flag ? "--token-file" : "HEARTH_TOKEN_FILE";
    HEARTH_ASSIGN_OR_RETURN(std::string text, ReadFlagFile(what, token_path));
    client->token_ = std::string(absl::StripAsciiWhitespace(text));
    if (client->token_.empty())
      return absl::InvalidArgumentError(
          absl::StrFormat("%s %s: the file is empty; use the token file hearthd was started with",
                          what, token_path));
  }

  const bool ca_flag = args.Has("ca");
  const std::string ca_path = ca_flag ? args.Get("ca") : EnvOrEmpty("HEARTH_CA_FILE");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!ca_path.empty()) {
    grpc::SslCredentialsOptions ssl;
    HEARTH_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                            ReadFlagFile(ca_flag ? "--ca" : "HEARTH_CA_FILE", ca_path));
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }

  grpc::ChannelArguments channel_args;
  // Predictions and log tails can be large; the coordinator enforces its own limits.
  channel_args.SetMaxReceiveMessageSize(256 << 20);
  // Reconnect quickly after hearthd restarts (the default backoff grows to two minutes).
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  client->channel_ = grpc::CreateCustomChannel(client->address_, credentials, channel_args);
  client->stub_ = v1::Coordinator::NewStub(client->channel_);
  return client;
}

std::unique_ptr<grpc::ClientContext> RemoteClient::NewContext(std::chrono::seconds timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  if (timeout.count() > 0) context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

std::string DescribeRpcError(const grpc::Status& status, const std::string& address) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = absl::StrReplaceAll(status.error_message(), {{"\r", " "}, {"\n", " "}});
  std::string text = absl::StrFormat("%s: %s", absl::StatusCodeToString(code), message);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      absl::StrAppend(
          &text, "; is hearthd running at ", address,
          "? start it with `hearthd`, or pass --coordinator HOST:PORT (and --ca FILE if it "
          "serves TLS)");
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      if (!absl::StrContains(message, "--token-file"))
        absl::StrAppend(&text, "; pass --token-file or set HEARTH_TOKEN_FILE");
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // gRPC's own refusal of a message over the size limit does not name hearthd's flag.
      if (absl::StrContains(message, "larger than max"))
        absl::StrAppend(&text, "; hearthd refuses requests over its --max-request-mb");
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      absl::StrAppend(&text, "; hearthd at ", address, " did not answer in time");
      break;
    default:
      break;
  }
  return text;
}

int FailRpc(const CommandSpec& spec, const grpc::Status& status, const std::string& address) {
  std::fprintf(stderr, "hearth %s: %s\n", spec.name.c_str(),
               DescribeRpcError(status, address).c_str());
  return 1;
}

StatusOr<ParsedArgs> ParseWithExtras(const CommandSpec& spec, int argc, char** argv,
                                     const ParseExtras& extras) {
  // Rewrite argv so that Parse() sees at most one of each flag, then count the positionals the
  // way Parse() will.
  std::vector<std::string> tokens;
  std::map<std::string, std::vector<std::string>> repeated;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    for (const auto& [alias, flag] : extras.aliases)
      if (arg == alias) arg = "--" + flag;
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      tokens.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    const size_t eq = name.find('=');
    if (eq != std::string::npos) name = name.substr(0, eq);
    const FlagSpec* flag = FindFlag(spec, name);
    const bool takes_value = flag != nullptr && !flag->value_name.empty();
    const bool is_repeatable = std::find(extras.repeatable.begin(), extras.repeatable.end(),
                                         name) != extras.repeatable.end();
    if (is_repeatable && takes_value) {
      if (eq != std::string::npos) {
        repeated[name].push_back(arg.substr(eq + 3));
        continue;
      }
      if (i + 1 < argc) {
        repeated[name].push_back(argv[++i]);
        continue;
      }
    }
    tokens.push_back(arg);
    if (takes_value && eq == std::string::npos && i + 1 < argc) tokens.push_back(argv[++i]);
  }

  size_t positionals = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == "--help" || tokens[i] == "-h") break;
    if (tokens[i].rfind("--", 0) != 0 || tokens[i] == "--") {
      ++positionals;
      continue;
    }
    const std::string name = tokens[i].substr(2);
    const FlagSpec* flag = FindFlag(spec, name);
    if (flag != nullptr && !flag->value_name.empty()) ++i;  // its value
  }
  CommandSpec effective = spec;
  const size_t required = spec.positionals.size() - extras.optional_positionals;
  if (positionals >= required && positionals <= spec.positionals.size())
    effective.positionals.resize(positionals);
  if (extras.variadic_last && positionals > spec.positionals.size())
    effective.positionals.resize(positionals, spec.positionals.back());

  std::vector<char*> pointers;
  for (std::string& t : tokens) pointers.push_back(t.data());
  HEARTH_ASSIGN_OR_RETURN(ParsedArgs parsed,
                          Parse(effective, static_cast<int>(pointers.size()), pointers.data()));
  for (const auto& [name, values] : repeated) parsed.values[name] = absl::StrJoin(values, ",");
  return parsed;
}

namespace {

StatusOr<int64_t> IntFlag(const ParsedArgs& args, const std::string& flag, int64_t fallback,
                          int64_t min, int64_t max, const char* what) {
  if (!args.Has(flag)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(args.Get(flag), &value) || value < min || value > max)
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s: expected a %s integer%s, got \"%s\"", flag, what,
        max == std::numeric_limits<int64_t>::max() ? "" : absl::StrFormat(" (at most %d)", max),
        args.Get(flag)));
  return value;
}

}  // namespace

StatusOr<int64_t> PositiveIntFlag(const ParsedArgs& args, const std::string& flag, int64_t fallback,
                                  int64_t max) {
  return IntFlag(args, flag, fallback, 1, max, "positive");
}

StatusOr<int64_t> NonNegativeIntFlag(const ParsedArgs& args, const std::string& flag,
                                     int64_t fallback, int64_t max) {
  return IntFlag(args, flag, fallback, 0, max, "non-negative");
}

std::string ProtoJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  return json;
}

std::string FormatTime(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  localtime_r(&t, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1000) return absl::StrFormat("%d B", bytes);
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes) / 1000;
  int unit = 0;
  while (value >= 1000 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string StateName(v1::JobState state) {
  const std::string& name = v1::JobState_Name(state);
  return name.empty() ? absl::StrFormat("STATE_%d", static_cast<int>(state)) : name;
}

bool IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

}  // namespace hearth::cli
