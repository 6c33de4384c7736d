#pragma once

// Private to process/: what a failed spawn says.

#include <string>
#include <system_error>

#include "process/identity.hpp"

namespace govjobd::process {

// Which part of the child's set-up failed. The child writes it into the parent's memory (vfork shares it).
enum class SetupFailure { None, Groups, Gid, Uid, Workdir };

// Which part of the child's set-up failed, as whom, and errno's message ("cannot enter workdir '/x' as user
// 'nobody': Permission denied"); "<exe>: <message>" when exec itself failed.
std::string spawn_error_text(SetupFailure failure, const std::string& exe, const std::error_code& ec,
                             const Identity* identity, const std::string& workdir);

// Descriptors, processes or memory ran out (EMFILE, ENFILE, EAGAIN, ENOMEM): the child cannot start now, and
// the next one may (the daemon then claims more slowly).
bool is_resource_shortage(const std::error_code& ec);

// Said the way the issue reporter reads it: "too many open files".
std::string shortage_text(const std::error_code& ec);

}  // namespace govjobd::process
