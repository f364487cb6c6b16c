// Bearer-token checks shared by every server Hearth runs (hearthd's gRPC services and the HTTP
// model server): the `Authorization: Bearer <token>` header (RFC 6750, the scheme name in any
// case), a token read from a file, and comparison in constant time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth {

// Whether two secrets are equal, in time independent of where they differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// The credential in an `Authorization: Bearer <credential>` header value, or nullopt when the
// value is not of that form.
std::optional<std::string_view> BearerCredential(std::string_view header);

// Whether a listen address ("HOST:PORT") stays on this machine.
bool IsLoopback(std::string_view address);

// The rule every Hearth server follows beyond loopback: a token, and TLS so the token is not sent
// in clear text, unless the operator says --insecure. `exposes` says what an intruder could do
// ("run jobs"). INVALID_ARGUMENT naming the flags to pass otherwise.
Status CheckExposure(std::string_view listen, bool has_token, bool has_tls, bool insecure,
                     std::string_view exposes);

class BearerToken {
 public:
  // No token: every request is allowed (servers refuse to listen beyond loopback that way unless
  // told --insecure).
  BearerToken() = default;
  explicit BearerToken(std::string token) : token_(std::move(token)) {}
  // Reads a token file: its contents with surrounding whitespace trimmed; at least 16 characters.
  static StatusOr<BearerToken> FromFile(const std::string& path);

  bool enabled() const { return !token_.empty(); }
  const std::string& token() const { return token_; }
  // Whether an authorization header value (absent: nullopt) carries the token.
  bool Accepts(std::optional<std::string_view> header) const;

 private:
  std::string token_;
};

}  // namespace hearth
