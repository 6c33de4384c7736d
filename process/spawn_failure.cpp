#include "process/spawn_failure.hpp"

#include <cctype>
#include <cerrno>

#include <fmt/format.h>

namespace govjobd::process {

std::string spawn_error_text(SetupFailure failure, const std::string& exe, const std::error_code& ec,
                             const Identity* identity, const std::string& workdir) {
  const std::string user = identity ? identity->user : std::string();
  const std::string group = identity ? identity->group : std::string();
  const std::string as_user = user.empty() ? std::string() : fmt::format(" as user '{}'", user);
  switch (failure) {
    case SetupFailure::None: return fmt::format("{}: {}", exe, ec.message());
    case SetupFailure::Groups: return fmt::format("cannot set the groups of user '{}': {}", user, ec.message());
    case SetupFailure::Gid:
      return fmt::format("cannot switch to group '{}': {}", group.empty() ? "of " + user : group, ec.message());
    case SetupFailure::Uid: return fmt::format("cannot switch to user '{}': {}", user, ec.message());
    case SetupFailure::Workdir: return fmt::format("cannot enter workdir '{}'{}: {}", workdir, as_user, ec.message());
  }
  return ec.message();
}

bool is_resource_shortage(const std::error_code& ec) {
  return ec.category() == std::system_category() &&
         (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == EAGAIN || ec.value() == ENOMEM);
}

std::string shortage_text(const std::error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  return text;
}

}  // namespace govjobd::process
