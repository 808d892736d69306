// crypto.hpp: random tokens, hashes, constant-time comparison and secret sealing (OpenSSL).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::host::crypto {

// `bytes` random bytes from the OS generator as unpadded URL-safe base64.
std::string random_token(std::size_t bytes = 32);

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

// Compares without leaking where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

// AES-256-GCM with a 32-byte key: "v1:" + base64(nonce | ciphertext | tag).
std::string seal(std::string_view key, std::string_view plaintext);
// nullopt when the text was not sealed with this key or was altered.
std::optional<std::string> open(std::string_view key, std::string_view sealed);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace tributary::host::crypto
