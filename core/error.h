#ifndef NORMGRAD_CORE_ERROR_H_
#define NORMGRAD_CORE_ERROR_H_

#include <sstream>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"

namespace normgrad {

// Misuse of an op (shape, dtype, device, dims, graph state). The message names the op, the argument,
// what was expected and what came: "matmul: expected the inner dimensions to match, got [3, 4] and [5, 2]".
// A training loop can catch it and save its work; nothing inside the library aborts the process.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws normgrad::Error with the pieces streamed one after another (anything with an operator<<).
template <typename... Pieces>
[[noreturn]] void Fail(const Pieces&... pieces) {
  std::ostringstream message;
  (message << ... << pieces);
  throw Error(message.str());
}

}  // namespace normgrad

// NG_CHECK(cond, "op: expected ...", value, ...) throws normgrad::Error when `cond` is false; the message
// pieces are only formatted on failure.
#define NG_CHECK(cond, ...)                      \
  do {                                           \
    if (!(cond)) [[unlikely]] {                  \
      ::normgrad::Fail(__VA_ARGS__);             \
    }                                            \
  } while (false)

// Status plumbing (Debian's abseil 20220623 has no status macros).
#define NG_STATUS_CONCAT_INNER(a, b) a##b
#define NG_STATUS_CONCAT(a, b) NG_STATUS_CONCAT_INNER(a, b)

#define NG_RETURN_IF_ERROR(expr)                        \
  do {                                                  \
    if (::absl::Status _ng_status = (expr); !_ng_status.ok()) { \
      return _ng_status;                                \
    }                                                   \
  } while (false)

#define NG_ASSIGN_OR_RETURN(lhs, expr) \
  NG_ASSIGN_OR_RETURN_IMPL(NG_STATUS_CONCAT(_ng_statusor_, __LINE__), lhs, expr)
#define NG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(*tmp)

#endif  // NORMGRAD_CORE_ERROR_H_
