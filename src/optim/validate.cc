// Range checks for optimizer options, shared by the constructors (which abort on a bad value) and
// the factory (which returns the error to the user naming the field).
#include "hearth/optim.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace hearth {
namespace {

absl::Status Bad(const char* field, const char* requirement, double got) {
  return absl::InvalidArgumentError(
      absl::StrFormat("optimizer.%s: must be %s, got %g", field, requirement, got));
}

// The negated comparisons also reject NaN.
absl::Status NonNegative(const char* field, double v) {
  if (!(v >= 0.0) || !std::isfinite(v)) return Bad(field, ">= 0 and finite", v);
  return absl::OkStatus();
}

absl::Status UnitInterval(const char* field, double v) {
  if (!(v >= 0.0 && v < 1.0)) return Bad(field, "in [0, 1)", v);
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateOptions(const SGDOptions& options) {
  HEARTH_RETURN_IF_ERROR(NonNegative("lr", options.lr));
  HEARTH_RETURN_IF_ERROR(UnitInterval("momentum", options.momentum));
  if (!(options.dampening >= 0.0 && options.dampening <= 1.0))
    return Bad("dampening", "in [0, 1]", options.dampening);
  HEARTH_RETURN_IF_ERROR(NonNegative("weight_decay", options.weight_decay));
  if (options.nesterov && (options.momentum == 0.0 || options.dampening != 0.0))
    return absl::InvalidArgumentError(absl::StrFormat(
        "optimizer.nesterov: needs momentum > 0 and dampening = 0, got momentum %g, dampening %g",
        options.momentum, options.dampening));
  return absl::OkStatus();
}

absl::Status ValidateOptions(const AdamOptions& options) {
  HEARTH_RETURN_IF_ERROR(NonNegative("lr", options.lr));
  HEARTH_RETURN_IF_ERROR(UnitInterval("beta1", options.beta1));
  HEARTH_RETURN_IF_ERROR(UnitInterval("beta2", options.beta2));
  HEARTH_RETURN_IF_ERROR(NonNegative("eps", options.eps));
  return NonNegative("weight_decay", options.weight_decay);
}

absl::Status ValidateOptions(const AdamWOptions& options) {
  return ValidateOptions(AdamOptions{.lr = options.lr,
                                     .beta1 = options.beta1,
                                     .beta2 = options.beta2,
                                     .eps = options.eps,
                                     .weight_decay = options.weight_decay});
}

absl::Status ValidateOptions(const RMSpropOptions& options) {
  HEARTH_RETURN_IF_ERROR(NonNegative("lr", options.lr));
  HEARTH_RETURN_IF_ERROR(UnitInterval("alpha", options.alpha));
  HEARTH_RETURN_IF_ERROR(NonNegative("eps", options.eps));
  HEARTH_RETURN_IF_ERROR(NonNegative("weight_decay", options.weight_decay));
  return UnitInterval("momentum", options.momentum);
}

}  // namespace hearth
