#include "coordinator/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "hearth/env.h"

namespace hearth::coordinator {

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

std::optional<std::string_view> PresentedCredential(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  return BearerCredential(std::string_view(it->second.data(), it->second.size()));
}

StatusOr<TokenAuth> TokenAuth::FromFile(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, Env::Default().ReadFile(path));
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.size() < 16)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: the token is %d characters; use at least 16 random ones, e.g. `head -c 32 "
        "/dev/urandom | base64 > %s`",
        path, token.size(), path));
  return TokenAuth(std::move(token));
}

bool TokenAuth::Accepts(std::optional<std::string_view> header) const {
  if (token_.empty()) return true;
  if (!header) return false;
  const std::optional<std::string_view> credential = BearerCredential(*header);
  return credential && ConstantTimeEqual(*credential, token_);
}

grpc::Status TokenAuth::Check(const grpc::ServerContext& context) const {
  if (token_.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this coordinator requires a token: send `authorization: Bearer <token>` "
                        "(hearth: --token-file or HEARTH_TOKEN_FILE)");
  if (!Accepts(std::string_view(it->second.data(), it->second.size())))
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "the token is wrong; use the coordinator's token file");
  return grpc::Status::OK;
}

}  // namespace hearth::coordinator
