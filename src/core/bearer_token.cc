#include "core/bearer_token.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "hearth/env.h"

namespace hearth {

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0;
}

std::optional<std::string_view> BearerCredential(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(header.data(), kScheme.size()),
                              absl::string_view(kScheme.data(), kScheme.size())))
    return std::nullopt;
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  return header;
}

bool IsLoopback(std::string_view address) {
  return address.starts_with("127.") || address.starts_with("localhost:") ||
         address.starts_with("[::1]");
}

Status CheckExposure(std::string_view listen, bool has_token, bool has_tls, bool insecure,
                     std::string_view exposes) {
  if (IsLoopback(listen) || insecure) return absl::OkStatus();
  if (!has_token)
    return absl::InvalidArgumentError(absl::StrFormat(
        "refusing to listen on %s without a token: anyone who can reach it could %s. "
        "Pass --token-file FILE with --tls-cert and --tls-key (recommended) or --insecure",
        listen, exposes));
  if (!has_tls)
    return absl::InvalidArgumentError(absl::StrFormat(
        "refusing to send the token in clear text on %s: anyone on the network could read "
        "it. Pass --tls-cert and --tls-key (recommended) or --insecure",
        listen));
  return absl::OkStatus();
}

StatusOr<BearerToken> BearerToken::FromFile(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, Env::Default().ReadFile(path));
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.size() < 16)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: the token is %d characters; use at least 16 random ones, e.g. `head -c 32 "
        "/dev/urandom | base64 > %s`",
        path, token.size(), path));
  return BearerToken(std::move(token));
}

bool BearerToken::Accepts(std::optional<std::string_view> header) const {
  if (token_.empty()) return true;
  if (!header) return false;
  const std::optional<std::string_view> credential = BearerCredential(*header);
  return credential && ConstantTimeEqual(*credential, token_);
}

}  // namespace hearth
