// What the `hearth` commands that talk to the coordinator (hearthd) share: the connection flags,
// the channel and its per-call metadata, one-line gRPC error reports with a hint, the flag parser's
// extras (optional positionals, repeatable flags, short aliases) and the JSON form of protos.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "hearth/status.h"
#include "hearth/v1/coordinator.grpc.pb.h"

namespace hearth::cli {

inline constexpr char kDefaultCoordinator[] = "127.0.0.1:7411";
// Unary calls; Evaluate and Predict and whole (not followed) streams get kLongDeadline.
inline constexpr std::chrono::seconds kUnaryDeadline{30};
inline constexpr std::chrono::seconds kLongDeadline{600};

// --coordinator, --token-file and --ca, in that order, for every remote command's spec.
std::vector<FlagSpec> ConnectionFlags();
// Appends ConnectionFlags() to `flags`.
std::vector<FlagSpec> WithConnectionFlags(std::vector<FlagSpec> flags);

// The coordinator's address: --coordinator, else $HEARTH_COORDINATOR, else kDefaultCoordinator.
std::string CoordinatorAddress(const ParsedArgs& args);
// Whether the address was chosen by the user (--coordinator or $HEARTH_COORDINATOR).
bool CoordinatorGiven(const ParsedArgs& args);
// "j-" followed by digits: a coordinator job id.
bool LooksLikeJobId(const std::string& s);
// "s-" followed by digits: a sweep id.
bool LooksLikeSweepId(const std::string& s);

// A connection to hearthd. Every context it makes carries `authorization: Bearer <token>` when
// there is a token (--token-file or $HEARTH_TOKEN_FILE). Not thread-safe.
class RemoteClient {
 public:
  // Reads the token file and the CA certificate (--ca or $HEARTH_CA_FILE); the channel connects
  // lazily, so an unreachable coordinator shows up on the first call, as UNAVAILABLE.
  static StatusOr<std::unique_ptr<RemoteClient>> Connect(const ParsedArgs& args);
  // The same with `credential` sent as the bearer token instead of a token file's (a worker's
  // secret: `hearth worker`).
  static StatusOr<std::unique_ptr<RemoteClient>> ConnectWithCredential(const ParsedArgs& args,
                                                                       std::string credential);

  v1::Coordinator::Stub& stub() { return *stub_; }
  // The workers' service on the same channel (`hearth worker`).
  std::unique_ptr<v1::WorkerService::Stub> NewWorkerStub() const {
    return v1::WorkerService::NewStub(channel_);
  }
  grpc::Channel& channel() { return *channel_; }
  const std::string& address() const { return address_; }

  // A context with the token and a deadline `timeout` from now (none when zero).
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::chrono::seconds timeout = kUnaryDeadline) const;

 private:
  RemoteClient() = default;
  static StatusOr<std::unique_ptr<RemoteClient>> Open(const ParsedArgs& args,
                                                      std::optional<std::string> credential);
  std::string address_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

// "UNAVAILABLE: <message>" plus what to do for UNAVAILABLE and UNAUTHENTICATED, on one line.
std::string DescribeRpcError(const grpc::Status& status, const std::string& address);
// Prints "hearth <command>: " + DescribeRpcError(...) on stderr and returns 1.
int FailRpc(const CommandSpec& spec, const grpc::Status& status, const std::string& address);

// Parse() with extras: the last `optional_positionals` of spec.positionals may be left out (or,
// with `variadic_last`, the last one repeated), each
// flag in `repeatable` may be given several times (its values are joined with ','), and
// `aliases` maps short forms (e.g. "-o") to flags ("output").
struct ParseExtras {
  int optional_positionals = 0;
  std::vector<std::string> repeatable = {};
  std::vector<std::pair<std::string, std::string>> aliases = {};
  // The last positional may be given any number of times (at least once): `hearth serve A B`.
  bool variadic_last = false;
};
StatusOr<ParsedArgs> ParseWithExtras(const CommandSpec& spec, int argc, char** argv,
                                     const ParseExtras& extras);

// A positive integer flag's value (at most `max`), or `fallback` when absent.
StatusOr<int64_t> PositiveIntFlag(const ParsedArgs& args, const std::string& flag, int64_t fallback,
                                  int64_t max);
// A non-negative integer flag's value (at most `max`), or `fallback` when absent.
StatusOr<int64_t> NonNegativeIntFlag(const ParsedArgs& args, const std::string& flag,
                                     int64_t fallback, int64_t max);

// A proto as one line of JSON with the proto field names (snake_case, as in job specs), enums by
// name and fields at their default values included, so scripts find every key.
std::string ProtoJson(const google::protobuf::Message& message);

// Seconds since the Unix epoch as local "2024-11-22 23:01:05"; "-" for 0.
std::string FormatTime(double unix_seconds);
// 1234567 -> "1.2 MB".
std::string FormatBytes(int64_t bytes);
// "QUEUED", "RUNNING", ...
std::string StateName(v1::JobState state);
// Whether a job in this state has ended.
bool IsTerminal(v1::JobState state);

}  // namespace hearth::cli
