// Bearer-token authentication for both services: with a token configured, every call must carry
// `authorization: Bearer <token>` metadata; otherwise UNAUTHENTICATED. Compared in constant time.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "hearth/status.h"

namespace hearth::coordinator {

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

 private:
  std::string token_;
};

}  // namespace hearth::coordinator
