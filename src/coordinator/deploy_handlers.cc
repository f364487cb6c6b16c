// The Coordinator service's deployment calls: `hearth deploy`, `hearth models`, `hearth
// undeploy`. The work is Deployments' (deployments.h); these authenticate and map the status.
#include "coordinator/coordinator_service.h"
#include "coordinator/deployments.h"
#include "coordinator/grpc_status.h"

namespace hearth::coordinator {
namespace {

// Authenticates, refuses when deploying is off, then runs `body` (Guarded) with the deployments.
template <typename Body>
grpc::Status DeploymentCall(const CoordinatorContext& c, grpc::ServerContext* context,
                            const char* method, Body body) {
  if (grpc::Status auth = c.auth.Check(*context); !auth.ok()) return auth;
  if (c.deployments == nullptr)
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this hearthd does not deploy models");
  return Guarded(method, [&] { return body(*c.deployments); });
}

// A StatusOr's value into `response`, or its status as gRPC's.
template <typename T>
grpc::Status Answer(StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpc(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status CoordinatorService::Deploy(grpc::ServerContext* context,
                                        const v1::DeployRequest* request,
                                        v1::DeployResponse* response) {
  return DeploymentCall(c_, context, "Deploy", [&](Deployments& deployments) {
    StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
    if (!found.ok()) return ToGrpc(found.status());
    return Answer(deployments.Deploy(*found, request->name(), request->alias()), response);
  });
}

grpc::Status CoordinatorService::ListDeployments(grpc::ServerContext* context,
                                                 const v1::ListDeploymentsRequest*,
                                                 v1::ListDeploymentsResponse* response) {
  return DeploymentCall(c_, context, "ListDeployments", [&](Deployments& deployments) {
    *response = deployments.List();
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::Undeploy(grpc::ServerContext* context,
                                          const v1::UndeployRequest* request,
                                          v1::UndeployResponse* response) {
  return DeploymentCall(c_, context, "Undeploy", [&](Deployments& deployments) {
    if (request->version() < 0)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "version: expected a version number, or 0 for every version");
    return Answer(deployments.Undeploy(request->name(), request->version()), response);
  });
}

}  // namespace hearth::coordinator
