#include "coordinator/auth.h"

namespace hearth::coordinator {

std::optional<std::string_view> PresentedCredential(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  return BearerCredential(std::string_view(it->second.data(), it->second.size()));
}

StatusOr<TokenAuth> TokenAuth::FromFile(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(BearerToken token, BearerToken::FromFile(path));
  return TokenAuth(std::move(token));
}

grpc::Status TokenAuth::Check(const grpc::ServerContext& context) const {
  if (!token_.enabled()) return grpc::Status::OK;
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
