#include "process/identity.hpp"

#include <grp.h>
#include <pwd.h>

#include <stdexcept>

namespace govjobd::process {

namespace {

std::vector<gid_t> supplementary_groups(const passwd& pw) {
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count));
    ::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count);
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

}  // namespace

std::shared_ptr<const Identity> Identity::resolve(const std::string& user, const std::string& group) {
  if (user.empty() && group.empty()) return nullptr;
  auto identity = std::make_shared<Identity>();
  identity->user = user;
  identity->group = group;
  if (!user.empty()) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (!pw) throw std::invalid_argument("no such user '" + user + "'");
    identity->uid = pw->pw_uid;
    identity->gid = pw->pw_gid;
    identity->groups = supplementary_groups(*pw);
  }
  if (!group.empty()) {
    const struct group* gr = ::getgrnam(group.c_str());
    if (!gr) throw std::invalid_argument("no such group '" + group + "'");
    identity->gid = gr->gr_gid;
  }
  return identity;
}

}  // namespace govjobd::process
