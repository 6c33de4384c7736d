#include "executors/output_text.hpp"

namespace govjobd::executors {

std::string substitute_placeholders(const std::string& arg, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t pos = 0;
  while (pos < arg.size()) {
    const auto open = arg.find('{', pos);
    const auto close = open == std::string::npos ? std::string::npos : arg.find('}', open);
    if (close == std::string::npos) break;
    const auto it = values.find(arg.substr(open + 1, close - open - 1));
    out.append(arg, pos, open - pos);
    if (it != values.end()) {
      out += it->second;
      pos = close + 1;
    } else {
      out += '{';
      pos = open + 1;
    }
  }
  out.append(arg, pos, std::string::npos);
  return out;
}

}  // namespace govjobd::executors
