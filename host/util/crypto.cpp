// crypto.cpp: the OpenSSL calls behind crypto.hpp.
#include "util/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace tributary::host::crypto {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;

struct ctx_deleter {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

}  // namespace

std::string base64url_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = byte(i) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (i + 2 == in.size()) {
        unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        auto pos = alphabet.find(c);
        if (pos == std::string_view::npos) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::string random_token(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
        throw std::runtime_error("the system random generator failed");
    }
    return base64url_encode(raw);
}

namespace {

struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// SHA256() looks the algorithm up in OpenSSL's provider tables on every call, which showed in
// the webhook path's profile (each delivery hashes its key). The algorithm is fetched once and
// each thread keeps a context.
void sha256(std::string_view data, unsigned char (&digest)[SHA256_DIGEST_LENGTH]) {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    unsigned int size = 0;
    if (md == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1 || size != SHA256_DIGEST_LENGTH) {
        throw std::runtime_error("SHA-256 is not available from OpenSSL");
    }
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    sha256(data, digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * SHA256_DIGEST_LENGTH);
    for (unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Compare digests so that the time does not depend on the lengths either.
    std::string da = sha256_hex(a);
    std::string db = sha256_hex(b);
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::string seal(std::string_view key, std::string_view plaintext) {
    if (key.size() != 32) {
        throw std::invalid_argument("sealing needs a 32-byte key");
    }
    std::string buf(nonce_size + plaintext.size() + tag_size, '\0');
    auto* out = reinterpret_cast<unsigned char*>(buf.data());
    if (RAND_bytes(out, nonce_size) != 1) {
        throw std::runtime_error("the system random generator failed");
    }

    cipher_ctx ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    bool ok =
        ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                                  reinterpret_cast<const unsigned char*>(key.data()), out) == 1;
    ok = ok && EVP_EncryptUpdate(ctx.get(), out + nonce_size, &len,
                                 reinterpret_cast<const unsigned char*>(plaintext.data()),
                                 static_cast<int>(plaintext.size())) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), out + nonce_size + len, &len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size,
                                   out + nonce_size + plaintext.size()) == 1;
    if (!ok) {
        throw std::runtime_error("sealing a secret failed");
    }
    return "v1:" + base64url_encode(buf);
}

std::optional<std::string> open(std::string_view key, std::string_view sealed) {
    if (key.size() != 32 || sealed.substr(0, 3) != "v1:") {
        return std::nullopt;
    }
    auto raw = base64url_decode(sealed.substr(3));
    if (!raw || raw->size() < nonce_size + tag_size) {
        return std::nullopt;
    }
    const auto* in = reinterpret_cast<const unsigned char*>(raw->data());
    std::size_t text_size = raw->size() - nonce_size - tag_size;
    std::string plain(text_size, '\0');

    cipher_ctx ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    bool ok =
        ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                                  reinterpret_cast<const unsigned char*>(key.data()), in) == 1;
    ok = ok && EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                                 in + nonce_size, static_cast<int>(text_size)) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size,
                                   const_cast<unsigned char*>(in + nonce_size + text_size)) == 1;
    ok = ok && EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                                   &len) == 1;
    if (!ok) {
        return std::nullopt;
    }
    return plain;
}

}  // namespace tributary::host::crypto
