#include "coordinator/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "hearth/env.h"

namespace hearth::coordinator {
namespace {

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0;
}

}  // namespace

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

grpc::Status TokenAuth::Check(const grpc::ServerContext& context) const {
  if (token_.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this coordinator requires a token: send `authorization: Bearer <token>` "
                        "(hearth: --token-file or HEARTH_TOKEN_FILE)");
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (!value.starts_with(kBearer) || !ConstantTimeEqual(value.substr(kBearer.size()), token_))
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "the token is wrong; use the coordinator's token file");
  return grpc::Status::OK;
}

}  // namespace hearth::coordinator
