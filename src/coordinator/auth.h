// Bearer-token authentication. With a user token configured, every Coordinator call (and server
// reflection) must carry `authorization: Bearer <token>` metadata, the scheme name in any case
// (RFC 6750); otherwise UNAUTHENTICATED. Tokens are compared in constant time. WorkerService
// takes worker secrets instead (worker_credentials.h), presented the same way.
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/bearer_token.h"
#include "hearth/status.h"

namespace hearth::coordinator {

using hearth::BearerCredential;
using hearth::ConstantTimeEqual;

// The credential in a call's `authorization` metadata (nullopt also when there is none).
std::optional<std::string_view> PresentedCredential(const grpc::ServerContext& context);

// The user token (hearth::BearerToken), checked on gRPC calls.
class TokenAuth {
 public:
  TokenAuth() = default;
  explicit TokenAuth(std::string token) : token_(std::move(token)) {}
  explicit TokenAuth(BearerToken token) : token_(std::move(token)) {}
  static StatusOr<TokenAuth> FromFile(const std::string& path);

  bool enabled() const { return token_.enabled(); }
  const std::string& token() const { return token_.token(); }
  // OK, or UNAUTHENTICATED saying what is wrong (missing header, not Bearer, wrong token).
  grpc::Status Check(const grpc::ServerContext& context) const;
  bool Accepts(std::optional<std::string_view> header) const { return token_.Accepts(header); }

 private:
  BearerToken token_;
};

}  // namespace hearth::coordinator
