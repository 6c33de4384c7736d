#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::run {

class MetricsServer;

// The keys a reload cannot apply to a running daemon: its connections, its LISTEN, its worker row and its
// log sink were made from them. Dotted keys (a section when any key in it changed); empty: none changed.
std::vector<std::string> keys_needing_restart(const config::Settings& running, const config::Settings& next);

// What SIGHUP does beyond swapping the settings, called with the validated `next` before it replaces
// `running`: logs by name the keys that apply only after a restart and keeps their running values in
// `next`; moves the metrics endpoint to a changed metrics.listen (or closes it when the key is removed),
// and when the new address cannot be bound, serves on the old one again, keeps it in `next` and logs why.
void apply_reload(boost::asio::io_context& io, const config::Settings& running, config::Settings& next,
                  std::unique_ptr<MetricsServer>& metrics);

}  // namespace govjobd::run
