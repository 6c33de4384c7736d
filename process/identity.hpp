#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace govjobd::process {

// The user and group a child switches to before exec, resolved once (the names stay for error messages).
struct Identity {
  std::string user;
  std::string group;  // empty: the user's primary group
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;  // the user's supplementary groups

  // Looks the names up in the user and group databases; null when both are empty. Throws
  // std::invalid_argument for an unknown user or group ("no such user 'x'", "no such group 'x'").
  static std::shared_ptr<const Identity> resolve(const std::string& user, const std::string& group);
};

}  // namespace govjobd::process
