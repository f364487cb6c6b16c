// Server reflection lists every service and message of hearthd; with a token configured it is for
// token holders only. The reflection service is gRPC's own, so its calls are checked by a server
// interceptor: a call without the token is cancelled before the service reads its first message.
// (gRPC's C++ interceptors cannot answer with a status of their own: the client sees CANCELLED.)
// The health service stays open for probes.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <vector>

#include "coordinator/auth.h"

namespace hearth::coordinator {

// The interceptor creators to pass to ServerBuilder::experimental().SetInterceptorCreators().
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ReflectionAuthInterceptors(const TokenAuth& auth);

}  // namespace hearth::coordinator
