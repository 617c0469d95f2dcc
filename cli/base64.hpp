#pragma once
// RFC 4648 base64 with the standard alphabet and '=' padding: how the record
// envelope carries bytes that are not text ("value_b64", "key_b64", the bytes
// codec). Stateless and thread-safe.

#include <string>
#include <string_view>

namespace goka::cli {

// Appends the padded base64 text of bytes to out.
void append_base64(std::string& out, std::string_view bytes);
std::string base64_encode(std::string_view bytes);

// Decodes padded base64 (unpadded input whose length allows it is accepted
// too). Throws goka::Error(Errc::decode) naming the first bad character.
std::string base64_decode(std::string_view text);

}  // namespace goka::cli
