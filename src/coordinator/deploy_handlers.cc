// The Coordinator service's deployment calls: `hearth deploy`, `hearth models`, `hearth
// undeploy`. The work is Deployments' (deployments.h); these authenticate and map the status.
#include "coordinator/coordinator_service.h"
#include "coordinator/deployments.h"
#include "coordinator/grpc_status.h"

namespace hearth::coordinator {
namespace {

grpc::Status DeployingOff() {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this hearthd does not deploy models");
}

}  // namespace

grpc::Status CoordinatorService::Deploy(grpc::ServerContext* context,
                                        const v1::DeployRequest* request,
                                        v1::DeployResponse* response) {
  if (grpc::Status auth = c_.auth.Check(*context); !auth.ok()) return auth;
  if (c_.deployments == nullptr) return DeployingOff();
  return Guarded("Deploy", [&] {
    StatusOr<StoredCheckpoint> found = FindCheckpoint(request->job_id(), request->checkpoint_id());
    if (!found.ok()) return ToGrpc(found.status());
    StatusOr<v1::DeployResponse> deployed =
        c_.deployments->Deploy(*found, request->name(), request->alias());
    if (!deployed.ok()) return ToGrpc(deployed.status());
    *response = *std::move(deployed);
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::ListDeployments(grpc::ServerContext* context,
                                                 const v1::ListDeploymentsRequest*,
                                                 v1::ListDeploymentsResponse* response) {
  if (grpc::Status auth = c_.auth.Check(*context); !auth.ok()) return auth;
  if (c_.deployments == nullptr) return DeployingOff();
  return Guarded("ListDeployments", [&] {
    *response = c_.deployments->List();
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::Undeploy(grpc::ServerContext* context,
                                          const v1::UndeployRequest* request,
                                          v1::UndeployResponse* response) {
  if (grpc::Status auth = c_.auth.Check(*context); !auth.ok()) return auth;
  if (c_.deployments == nullptr) return DeployingOff();
  return Guarded("Undeploy", [&] {
    if (request->version() < 0)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "version: expected a version number, or 0 for every version");
    StatusOr<v1::UndeployResponse> removed =
        c_.deployments->Undeploy(request->name(), request->version());
    if (!removed.ok()) return ToGrpc(removed.status());
    *response = *std::move(removed);
    return grpc::Status::OK;
  });
}

}  // namespace hearth::coordinator
