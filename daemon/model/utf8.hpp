#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace govjobd::model {

// Length of the valid UTF-8 sequence starting at text[i] (1 to 4), or 0 when it is invalid (bad lead
// byte, truncated, overlong, surrogate, beyond U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// The code point of one valid sequence (as utf8_sequence_length measured it).
char32_t utf8_code_point(std::string_view sequence);

// True when every byte belongs to a valid sequence.
bool is_valid_utf8(std::string_view text);

inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";  // U+FFFD

// `text` with each byte that starts no valid sequence replaced by U+FFFD; NULs too when `nul_too`.
std::string replace_invalid_utf8(std::string_view text, bool nul_too = false);

}  // namespace govjobd::model
