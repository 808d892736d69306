// test_ca.hpp: a throwaway certificate authority and server certificates for TLS tests.
#pragma once

#include <filesystem>

namespace tributary::emulator {

// PEM files written by write_test_pki; all keys are unencrypted P-256 keys.
struct test_pki {
    std::filesystem::path ca_cert;      // the test CA: the one file a client trusts
    std::filesystem::path server_cert;  // signed by the CA for IP 127.0.0.1 and DNS localhost
    std::filesystem::path server_key;
    std::filesystem::path wrong_host_cert;  // signed by the CA for DNS wrong-host.example only
    std::filesystem::path wrong_host_key;
    std::filesystem::path untrusted_cert;  // self-signed, with the same names as server_cert
    std::filesystem::path untrusted_key;
};

// Generates fresh keys and certificates into dir (created if missing). Throws
// std::runtime_error naming the step that failed.
test_pki write_test_pki(const std::filesystem::path& dir);

}  // namespace tributary::emulator
