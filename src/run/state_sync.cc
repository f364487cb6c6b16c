#include "run/state_sync.h"

#include "hearth/dist/collectives.h"

namespace hearth::run {

StatusOr<Checkpoint> ShareRootCheckpoint(dist::Communicator& comm,
                                         const std::function<StatusOr<std::string>()>& produce,
                                         const std::string& source) {
  // The first byte is rank 0's status code (0 for OK); the rest the bytes or the error message.
  std::string message;
  if (comm.is_root()) {
    StatusOr<std::string> bytes = produce();
    message = bytes.ok() ? std::string(1, '\0') + *std::move(bytes)
                         : std::string(1, static_cast<char>(bytes.status().code())) +
                               std::string(bytes.status().message());
  }
  HEARTH_RETURN_IF_ERROR(
      dist::BroadcastString(comm, &message, 0, "broadcast rank 0's parameters and state"));
  if (message.empty()) return absl::InternalError("rank 0 sent no start-up state");
  if (message[0] != '\0')
    return absl::Status(static_cast<absl::StatusCode>(message[0]), message.substr(1));
  return ParseCheckpoint(std::string_view(message).substr(1), source);
}

}  // namespace hearth::run
