#include "coordinator/reflection_auth.h"

#include <string_view>

namespace hearth::coordinator {
namespace {

using grpc::experimental::InterceptionHookPoints;

class ReflectionAuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  ReflectionAuthInterceptor(grpc::experimental::ServerRpcInfo* info, const TokenAuth& auth)
      : info_(info), auth_(auth) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::optional<std::string_view> header;
      const auto* metadata = methods->GetRecvInitialMetadata();
      if (metadata != nullptr) {
        auto it = metadata->find("authorization");
        if (it != metadata->end()) header = std::string_view(it->second.data(), it->second.size());
      }
      if (!auth_.Accepts(header)) info_->server_context()->TryCancel();
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  const TokenAuth& auth_;
};

class ReflectionAuthFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ReflectionAuthFactory(const TokenAuth& auth) : auth_(auth) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const std::string_view method = info->method() != nullptr ? info->method() : "";
    if (!auth_.enabled() || !method.starts_with("/grpc.reflection.")) return nullptr;
    return new ReflectionAuthInterceptor(info, auth_);
  }

 private:
  const TokenAuth& auth_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ReflectionAuthInterceptors(const TokenAuth& auth) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<ReflectionAuthFactory>(auth));
  return creators;
}

}  // namespace hearth::coordinator
