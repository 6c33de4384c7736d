#include "daemon/run/wake.hpp"

#include <algorithm>
#include <cstdint>

namespace govjobd::run {

namespace {

bool canonical_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// FNV-1a, 64 bits, then MurmurHash3's finalizer (FNV alone ranks workers whose names differ in their last
// characters unevenly): the same score on every host and build, which std::hash does not promise.
std::uint64_t score(std::string_view job_id, std::string_view worker_id) {
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  mix(job_id);
  mix("\n");
  mix(worker_id);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::optional<WakeRanks::Wake> WakeRanks::parse(std::string_view payload) {
  const auto space = payload.find(' ');
  const std::string_view id = payload.substr(0, space);
  if (!canonical_uuid(id)) return std::nullopt;
  Wake wake{std::string(id), 0};
  if (space == std::string_view::npos) return wake;
  const std::string_view rank = payload.substr(space + 1);
  if (rank.size() != 1 || rank[0] < '0' || rank[0] > '9') return std::nullopt;
  wake.rank = rank[0] - '0';
  return wake;
}

std::string WakeRanks::payload(const Wake& wake) { return wake.job_id + " " + std::to_string(wake.rank); }

int WakeRanks::rank_of(const std::string& job_id) const {
  const std::uint64_t mine = score(job_id, self_);
  int rank = 0;
  for (const auto& w : live_)
    if (w != self_ && (score(job_id, w) > mine || (score(job_id, w) == mine && w < self_))) ++rank;
  return rank;
}

WakeRanks::Act WakeRanks::act_on(const Wake& wake) const {
  // before the first heartbeat, or once kRanks daemons passed: everyone
  if (wake.rank >= kRanks || wake.rank >= static_cast<int>(live_.size())) return Act::Claim;
  const int rank = rank_of(wake.job_id);
  if (rank == wake.rank) return Act::Claim;
  if (rank == wake.rank + 1) return Act::Backup;
  return Act::Ignore;
}

bool WakeRanks::set_live(std::vector<std::string> workers) {
  workers.push_back(self_);
  std::sort(workers.begin(), workers.end());
  workers.erase(std::unique(workers.begin(), workers.end()), workers.end());
  const bool someone_left = !std::includes(workers.begin(), workers.end(), live_.begin(), live_.end());
  live_ = std::move(workers);
  return someone_left;
}

}  // namespace govjobd::run
