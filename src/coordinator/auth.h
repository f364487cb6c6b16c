// Bearer-token authentication. With a user token configured, every Coordinator call (and server
// reflection) must carry `authorization: Bearer <token>` metadata, the scheme name in any case
// (RFC 6750); otherwise UNAUTHENTICATED. Tokens are compared in constant time. WorkerService
// takes worker secrets instead (worker_credentials.h), presented the same way.
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth::coordinator {

// Whether two secrets are equal, in time independent of where they differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// The credential in an `authorization: Bearer <credential>` header value, or nullopt when the
// value is not of that form.
std::optional<std::string_view> BearerCredential(std::string_view header);
// The same, from a call's metadata (nullopt also when there is no authorization header).
std::optional<std::string_view> PresentedCredential(const grpc::ServerContext& context);

class TokenAuth {
 public:
  // No token: every call is allowed (hearthd refuses to listen beyond loopback that way unless
  // --insecure).
  TokenAuth() = default;
  explicit TokenAuth(std::string token) : token_(std::move(token)) {}
  // Reads a token file: its contents with surrounding whitespace trimmed; at least 16 characters.
  static StatusOr<TokenAuth> FromFile(const std::string& path);

  bool enabled() const { return !token_.empty(); }
  const std::string& token() const { return token_; }
  // OK, or UNAUTHENTICATED saying what is wrong (missing header, not Bearer, wrong token).
  grpc::Status Check(const grpc::ServerContext& context) const;
  // The same decision for a raw authorization header value (absent: nullopt).
  bool Accepts(std::optional<std::string_view> header) const;

 private:
  std::string token_;
};

}  // namespace hearth::coordinator
