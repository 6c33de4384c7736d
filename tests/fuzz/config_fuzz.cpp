// libFuzzer target: the configuration loader, fed any text as a YAML file. A bad file must end in a
// ConfigError that names where (file:line:column and key); anything else escaping is a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/settings_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    const auto settings = govjobd::config::parse_settings(yaml, "fuzz.yaml");
    if (settings.worker.concurrency < 1) std::abort();  // validation let a nonsense value through
  } catch (const govjobd::config::ConfigError& e) {
    if (e.issues().empty()) std::abort();
    for (const auto& issue : e.issues())
      if (issue.text().rfind("fuzz.yaml", 0) != 0) std::abort();  // every problem names the file
  }
  return 0;
}
