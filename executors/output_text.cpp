#include "executors/output_text.hpp"

#include <algorithm>

#include "daemon/model/utf8.hpp"

namespace govjobd::executors {

std::string sanitize_output(std::string_view bytes) { return model::replace_invalid_utf8(bytes, true); }

void BoundedCapture::append(const char* data, std::size_t size) {
  total_ += size;
  if (kept_.size() < limit_) kept_.append(data, std::min(size, limit_ - kept_.size()));
}

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

std::string tail_of(std::string_view text, std::size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() > max_bytes) {
    text = text.substr(text.size() - max_bytes);
    const auto nl = text.find('\n');
    if (nl != std::string_view::npos && nl + 1 < text.size()) text = text.substr(nl + 1);
    while (!text.empty() && (static_cast<unsigned char>(text.front()) & 0xc0) == 0x80) text.remove_prefix(1);
  }
  return std::string(text);
}

}  // namespace govjobd::executors
