#include "process/output_text.hpp"

#include <algorithm>

#include "daemon/model/utf8.hpp"

namespace govjobd::process {

std::string sanitize_output(std::string_view bytes) { return model::replace_invalid_utf8(bytes, true); }

void BoundedCapture::append(const char* data, std::size_t size) {
  total_ += size;
  if (kept_.size() < limit_) kept_.append(data, std::min(size, limit_ - kept_.size()));
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

}  // namespace govjobd::process
