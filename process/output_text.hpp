#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace govjobd::process {

// Bytes of a child's output as text that JSON and jsonb accept: valid UTF-8 is kept, each invalid byte
// and each NUL becomes U+FFFD.
std::string sanitize_output(std::string_view bytes);

// Keeps the first `limit` bytes of a stream and counts the rest.
class BoundedCapture {
 public:
  explicit BoundedCapture(std::size_t limit) : limit_(limit) {}
  void append(const char* data, std::size_t size);
  const std::string& kept() const { return kept_; }
  std::size_t total() const { return total_; }
  bool truncated() const { return total_ > kept_.size(); }

 private:
  std::size_t limit_;
  std::string kept_;
  std::size_t total_ = 0;
};

// The last `max_bytes` of text, cut at a line start when there is one, trimmed.
std::string tail_of(std::string_view text, std::size_t max_bytes);

}  // namespace govjobd::process
