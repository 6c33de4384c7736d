#pragma once

#include <cstddef>
#include <string_view>

namespace govjobd::model {

// Length of the valid UTF-8 sequence starting at text[i] (1 to 4), or 0 when it is invalid (bad lead
// byte, truncated, overlong, surrogate, beyond U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

}  // namespace govjobd::model
