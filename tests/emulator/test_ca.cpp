// test_ca.cpp: builds the test CA and its certificates with OpenSSL's EVP_PKEY and X509 calls.
#include "test_ca.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace tributary::emulator {

namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
    void operator()(BIO* p) const { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

constexpr long validity_seconds = 30L * 24 * 3600;

void check(bool ok, const char* step) {
    if (!ok) {
        throw std::runtime_error(std::string("test PKI: ") + step + " failed");
    }
}

pkey_ptr make_key() {
    pkey_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "generating a P-256 key");
    return key;
}

// Adds one v3 extension written in OpenSSL's configuration syntax.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "building a certificate extension");
    bool added = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    check(added, "adding a certificate extension");
}

// A certificate for key, named cn, signed by issuer (itself when issuer is null).
x509_ptr make_cert(EVP_PKEY* key, const char* cn, long serial, X509* issuer) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "allocating a certificate");
    X509* self = cert.get();
    check(X509_set_version(self, 2) == 1, "setting the version");
    ASN1_INTEGER_set(X509_get_serialNumber(self), serial);
    X509_gmtime_adj(X509_getm_notBefore(self), -3600);
    X509_gmtime_adj(X509_getm_notAfter(self), validity_seconds);
    check(X509_set_pubkey(self, key) == 1, "setting the public key");

    X509_NAME* name = X509_get_subject_name(self);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("Tributary tests"), -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : self;
    check(X509_set_issuer_name(self, X509_get_subject_name(signer)) == 1, "setting the issuer");
    add_extension(self, signer, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) {
        add_extension(self, signer, NID_authority_key_identifier, "keyid:always");
    }
    return cert;
}

x509_ptr make_ca(EVP_PKEY* key) {
    auto cert = make_cert(key, "Tributary Test CA", 1, nullptr);
    add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    check(X509_sign(cert.get(), key, EVP_sha256()) > 0, "signing the CA certificate");
    return cert;
}

// A server certificate for alt_names, signed by the issuer or by itself.
x509_ptr make_leaf(EVP_PKEY* key, const char* cn, const char* alt_names, long serial, X509* issuer,
                   EVP_PKEY* issuer_key) {
    auto cert = make_cert(key, cn, serial, issuer);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, alt_names);
    EVP_PKEY* signing_key = issuer_key != nullptr ? issuer_key : key;
    check(X509_sign(cert.get(), signing_key, EVP_sha256()) > 0, "signing a server certificate");
    return cert;
}

void write_cert(const std::filesystem::path& path, X509* cert) {
    bio_ptr out(BIO_new_file(path.c_str(), "w"));
    check(out != nullptr && PEM_write_bio_X509(out.get(), cert) == 1, "writing a certificate");
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
    bio_ptr out(BIO_new_file(path.c_str(), "w"));
    check(out != nullptr &&
              PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing a private key");
}

}  // namespace

test_pki write_test_pki(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    test_pki files{dir / "ca.pem",           dir / "server.pem",         dir / "server-key.pem",
                   dir / "wrong-host.pem",   dir / "wrong-host-key.pem", dir / "untrusted.pem",
                   dir / "untrusted-key.pem"};
    constexpr const char* local_names = "IP:127.0.0.1,DNS:localhost";

    auto ca_key = make_key();
    auto ca = make_ca(ca_key.get());
    write_cert(files.ca_cert, ca.get());

    auto server_key = make_key();
    auto server = make_leaf(server_key.get(), "localhost", local_names, 2, ca.get(), ca_key.get());
    write_cert(files.server_cert, server.get());
    write_key(files.server_key, server_key.get());

    auto wrong_key = make_key();
    auto wrong = make_leaf(wrong_key.get(), "wrong-host.example", "DNS:wrong-host.example", 3,
                           ca.get(), ca_key.get());
    write_cert(files.wrong_host_cert, wrong.get());
    write_key(files.wrong_host_key, wrong_key.get());

    auto untrusted_key = make_key();
    auto untrusted = make_leaf(untrusted_key.get(), "localhost", local_names, 4, nullptr, nullptr);
    write_cert(files.untrusted_cert, untrusted.get());
    write_key(files.untrusted_key, untrusted_key.get());
    return files;
}

}  // namespace tributary::emulator
