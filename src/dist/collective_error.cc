#include "absl/strings/cord.h"
#include "hearth/dist/communicator.h"

namespace hearth::dist {
namespace {
constexpr char kCollectiveMark[] = "hearth/collective-error";
}  // namespace

Status CollectiveError(Status status) {
  if (!status.ok()) status.SetPayload(kCollectiveMark, absl::Cord("1"));
  return status;
}

bool IsCollectiveError(const Status& status) {
  return status.GetPayload(kCollectiveMark).has_value();
}

}  // namespace hearth::dist
