#pragma once

#include <string>

namespace govjobd::testing {

// A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range when it can be.
int free_port();

// GET `path` from 127.0.0.1:port over HTTP/1.1 with Connection: close; the whole response, status line
// first. Throws when nothing listens.
std::string http_get(int port, const std::string& path);

// Appends to a daemon's config file the line that serves its metrics on 127.0.0.1:port.
void serve_metrics_on(const std::string& config_path, int port);

// GET /metrics's body when the port answers 200, else "" (not listening yet, or refused).
std::string metrics_body(int port);

// The sum of every sample of `metric` (all its label sets) in a Prometheus text body; 0 when absent.
double metric_sum(const std::string& body, const std::string& metric);

}  // namespace govjobd::testing
