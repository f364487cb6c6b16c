// Error handling: absl::Status for anything a user can cause, HEARTH_CHECK for programmer errors.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hearth {

using absl::Status;
using absl::StatusOr;

// Aborts with file:line and a message. Used only for broken invariants, never for user input.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const std::string& message);

}  // namespace hearth

#define HEARTH_CHECK(cond)                                             \
  do {                                                                 \
    if (!(cond)) ::hearth::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

// Like HEARTH_CHECK, with a message built only on failure.
#define HEARTH_CHECK_MSG(cond, msg)                                       \
  do {                                                                    \
    if (!(cond)) ::hearth::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

#define HEARTH_STATUS_CONCAT_INNER(a, b) a##b
#define HEARTH_STATUS_CONCAT(a, b) HEARTH_STATUS_CONCAT_INNER(a, b)

#define HEARTH_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status hearth_status_ = (expr);          \
    if (!hearth_status_.ok()) return hearth_status_; \
  } while (0)

#define HEARTH_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)

// HEARTH_ASSIGN_OR_RETURN(auto x, MaybeX()); returns the error status if MaybeX() failed.
#define HEARTH_ASSIGN_OR_RETURN(lhs, expr) \
  HEARTH_ASSIGN_OR_RETURN_IMPL(HEARTH_STATUS_CONCAT(hearth_statusor_, __LINE__), lhs, expr)
