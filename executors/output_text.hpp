#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace govjobd::executors {

// Replaces {name} by values.at(name) inside one argument; other text is untouched, never interpreted.
std::string substitute_placeholders(const std::string& arg, const std::map<std::string, std::string>& values);

}  // namespace govjobd::executors
