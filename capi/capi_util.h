/** \file
 * What every C entry point of capi/ shares: the exception-to-status wall (no C++ exception
 * leaves the library), the thread's last error, strings handed to the caller, and the
 * conversion of tessera_tensor / tessera_mhc_config records to TensorView / mhc::Config.
 */
#pragma once

#include "capi/tessera_c.h"
#include "kernels/mhc/config.h"
#include "runtime/tensor.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tessera::capi {

/** Records `message` as the thread's last error. */
void set_last_error(std::string message);
/** The thread's last error ("" after a successful call). */
const std::string& last_error();

/** Runs `body`, translating an exception into a status and the thread's last error:
 * UserError -> TESSERA_BAD_ARGUMENT, anything else -> TESSERA_FAILURE. */
template <class Body> std::int32_t guarded(Body&& body) noexcept;

/** The status for the exception in flight (call only inside a catch block). */
std::int32_t status_of_current_exception() noexcept;

template <class Body> std::int32_t guarded(Body&& body) noexcept {
  try {
    std::forward<Body>(body)();
    set_last_error({});
    return TESSERA_OK;
  } catch (...) {
    return status_of_current_exception();
  }
}

/** Throws UserError naming `what` when `p` is null. */
void require_pointer(const void* p, std::string_view what);

/** A malloc'd, NUL-terminated copy of `text` (released by tessera_free). */
char* copy_string(std::string_view text);

/** `t` as a TensorView. UserError for a rank, dtype or device type the library does not take;
 * `what` names the tensor in messages. */
TensorView to_view(const tessera_tensor& t, std::string_view what);

/** `c` as an mhc::Config (not yet validated: the ops validate it). */
mhc::Config to_config(const tessera_mhc_config& c);

} // namespace tessera::capi
