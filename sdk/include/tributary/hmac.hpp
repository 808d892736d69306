// hmac.hpp: HMAC-SHA256 webhook signatures: computing, encoding and checking in constant time.
#pragma once

/*
 * Many webhook providers sign each delivery with HMAC-SHA256 under a secret shared with the
 * receiver. The plain case is one signature over the body:
 *
 *     namespace hmac = tributary::hmac;
 *     bool ok = hmac::verify(secret, request.body(), *request.header("X-Signature"),
 *                            hmac::encoding::hex);
 *
 * Others add a timestamp against replays and send several signatures while they rotate secrets,
 * in one header such as "t=1700000000,v1=5257a8...,v1=9d0c44...". verify_timestamped checks such
 * a header: the signed message is the timestamp's text, a separator, then the body.
 *
 * Comparisons take the same time wherever the first differing byte is. Reasons never contain
 * the secret or the expected signature, so they can be logged and answered with.
 * Backed by OpenSSL's libcrypto (Tributary::sdk links OpenSSL::Crypto).
 */

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::hmac {

enum class encoding { hex, base64 };

constexpr std::size_t sha256_size = 32;

// The 32 raw bytes of HMAC-SHA256(key, message).
inline std::string sha256(std::string_view key, std::string_view message) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    // HMAC() wants a non-null key pointer even for an empty key.
    static const unsigned char empty = 0;
    const void* key_data = key.empty() ? static_cast<const void*>(&empty) : key.data();
    const auto* data = reinterpret_cast<const unsigned char*>(message.data());
    if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), message.empty() ? &empty : data,
             message.size(), out, &size) == nullptr ||
        size != sha256_size) {
        throw std::runtime_error("HMAC-SHA256 failed in libcrypto");
    }
    return std::string(reinterpret_cast<const char*>(out), size);
}

// Lower-case hexadecimal.
inline std::string to_hex(std::string_view bytes) {
    constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0x0f]);
    }
    return out;
}

// Standard base64 (RFC 4648 section 4) with padding.
inline std::string to_base64(std::string_view bytes) {
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                 static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                 static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(alphabet[(n >> 6) & 63]);
        out.push_back(alphabet[n & 63]);
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) {
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

// Hex in either case; nullopt when the text is not an even number of hex digits.
inline std::optional<std::string> from_hex(std::string_view text) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int hi = nibble(text[i]);
        int lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(hi << 4 | lo));
    }
    return out;
}

// Base64 in the standard or the URL-safe alphabet, padded or not; nullopt when malformed.
inline std::optional<std::string> from_base64(std::string_view text) {
    auto sextet = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == '+' || c == '-') {
            return 62;
        }
        if (c == '/' || c == '_') {
            return 63;
        }
        return -1;
    };
    while (!text.empty() && text.back() == '=' && text.size() % 4 != 1) {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        int v = sextet(c);
        if (v < 0) {
            return std::nullopt;
        }
        bits = bits << 6 | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xff));
        }
    }
    return out;
}

inline std::string sha256_hex(std::string_view key, std::string_view message) {
    return to_hex(sha256(key, message));
}

inline std::string sha256_base64(std::string_view key, std::string_view message) {
    return to_base64(sha256(key, message));
}

// Equal contents, in a time that depends on the sizes only: lengths are not secret.
inline bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Whether signature, in that encoding, is the HMAC-SHA256 of message under key.
inline bool verify(std::string_view key, std::string_view message, std::string_view signature,
                   encoding enc) {
    auto given = enc == encoding::hex ? from_hex(signature) : from_base64(signature);
    if (!given || given->size() != sha256_size) {
        return false;
    }
    return constant_time_equal(*given, sha256(key, message));
}

// ---- timestamped signature headers ------------------------------------------------------------

// How a provider lays out its timestamped signature header and signed message.
struct timestamped_scheme {
    std::string_view header_name = "Signature";  // only for the reasons' wording
    std::string_view timestamp_key = "t";        // Unix time in seconds
    std::string_view signature_key = "v1";       // may appear several times
    encoding signature_encoding = encoding::hex;
    std::string_view separator = ".";  // the signed message: timestamp + separator + body
    // How far the timestamp may be from now, either way; nullopt accepts any timestamp.
    std::optional<std::chrono::seconds> tolerance = std::chrono::seconds(300);
};

// The parts of a header like "t=1700000000,v1=abc,v1=def": elements split on ',', each a
// key=value pair; unknown keys are ignored.
struct signature_header {
    std::optional<std::string_view> timestamp;  // the timestamp's text, as signed
    std::vector<std::string_view> signatures;
};

inline signature_header parse_signature_header(std::string_view header,
                                               std::string_view timestamp_key = "t",
                                               std::string_view signature_key = "v1") {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
            s.remove_prefix(1);
        }
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
            s.remove_suffix(1);
        }
        return s;
    };
    signature_header out;
    while (!header.empty()) {
        auto comma = header.find(',');
        auto element = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);

        auto eq = element.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        auto key = trim(element.substr(0, eq));
        auto value = trim(element.substr(eq + 1));
        if (key == timestamp_key && !out.timestamp) {
            out.timestamp = value;
        } else if (key == signature_key && !value.empty()) {
            out.signatures.push_back(value);
        }
    }
    return out;
}

enum class outcome { valid, missing, malformed, stale, mismatch };

// The result of a check: valid, or why not in one line.
struct verdict {
    outcome result = outcome::valid;
    std::string reason;  // empty when valid

    bool ok() const { return result == outcome::valid; }
    explicit operator bool() const { return ok(); }
};

// Unix seconds from up to 12 decimal digits; nullopt otherwise.
inline std::optional<std::int64_t> parse_unix_seconds(std::string_view text) {
    if (text.empty() || text.size() > 12) {
        return std::nullopt;
    }
    std::int64_t out = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        out = out * 10 + (c - '0');
    }
    return out;
}

// Checks a timestamped signature header against the raw body. Any one matching signature is
// enough; the timestamp must be within the scheme's tolerance of now.
inline verdict verify_timestamped(std::optional<std::string_view> header, std::string_view body,
                                  std::string_view secret,
                                  std::chrono::system_clock::time_point now,
                                  const timestamped_scheme& scheme = {}) {
    std::string name(scheme.header_name);
    if (!header || header->empty()) {
        return {outcome::missing, "missing " + name + " header"};
    }
    auto parts = parse_signature_header(*header, scheme.timestamp_key, scheme.signature_key);
    if (!parts.timestamp) {
        return {outcome::malformed,
                name + " header has no " + std::string(scheme.timestamp_key) + "= timestamp"};
    }
    auto seconds = parse_unix_seconds(*parts.timestamp);
    if (!seconds) {
        return {outcome::malformed, name + " header timestamp is not a Unix time in seconds"};
    }
    if (parts.signatures.empty()) {
        return {outcome::malformed,
                name + " header has no " + std::string(scheme.signature_key) + "= signature"};
    }

    if (scheme.tolerance) {
        auto signed_at = std::chrono::system_clock::time_point(std::chrono::seconds(*seconds));
        auto skew = now > signed_at ? now - signed_at : signed_at - now;
        if (skew > *scheme.tolerance) {
            return {outcome::stale, name + " timestamp is more than " +
                                        std::to_string(scheme.tolerance->count()) +
                                        " seconds away from the current time"};
        }
    }

    std::string message;
    message.reserve(parts.timestamp->size() + scheme.separator.size() + body.size());
    message.append(*parts.timestamp).append(scheme.separator).append(body);
    std::string expected = sha256(secret, message);

    // Every candidate is decoded and compared, so the time does not tell which one matched.
    bool matched = false;
    for (auto candidate : parts.signatures) {
        auto given = scheme.signature_encoding == encoding::hex ? from_hex(candidate)
                                                                : from_base64(candidate);
        if (given && given->size() == sha256_size && constant_time_equal(*given, expected)) {
            matched = true;
        }
    }
    if (!matched) {
        return {outcome::mismatch, "no signature in the " + name + " header matches the body"};
    }
    return {};
}

}  // namespace tributary::hmac
