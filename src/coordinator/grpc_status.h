// absl::Status <-> grpc::Status, 1:1 by code (the two code spaces are the same numbers).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "hearth/status.h"

namespace hearth::coordinator {

inline grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

inline Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace hearth::coordinator
