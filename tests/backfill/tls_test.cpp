// tls_test.cpp: the backfill over HTTPS: the test CA is trusted through the host's CA file, and
// a certificate the client must refuse fails the job at once with a clear message.
#include "app/app.hpp"

#define BOOST_TEST_MODULE backfill_tls
#include <boost/test/unit_test.hpp>

#include "backfill_fixture.hpp"
#include "emulator/test_ca.hpp"

namespace {

using namespace tributary::backfill_test;

// Test certificates, and an HTTPS emulator that presents one of them.
struct tls_setup {
    ti::temp_dir dir{"tributary-backfill-tls"};
    em::test_pki pki = em::write_test_pki(dir.path());

    std::unique_ptr<em::satismeter_emulator> emulator(const fs::path& cert, const fs::path& key,
                                                      std::size_t responses = 1000) const {
        auto o = emulator_options(responses);
        o.tls_cert = cert;
        o.tls_key = key;
        auto e = std::make_unique<em::satismeter_emulator>(o);
        e->start();
        return e;
    }

    // The job a host that trusts the test CA runs against the emulator, finished.
    static bj::object run(backfill_host& h, const em::satismeter_emulator& e) {
        auto inst = h.seed(e);
        return h.wait_finished(h.start_ok(inst));
    }
};

std::string refusal(const em::satismeter_emulator& e, std::string_view reason) {
    return "SatisMeter's TLS certificate was not accepted: TLS handshake with 127.0.0.1:" +
           std::to_string(e.port()) + " failed: certificate verify failed: " + std::string(reason) +
           ". Check the API base URL; a server whose certificate comes from a private authority "
           "needs the host started with --ca-file.";
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(backfills_over_tls_with_the_test_ca, tls_setup) {
    auto e = emulator(pki.server_cert, pki.server_key);
    BOOST_TEST_REQUIRE(e->base_url().starts_with("https://127.0.0.1:"));
    backfill_host h(pki.ca_cert);

    auto job = run(h, *e);

    BOOST_TEST_REQUIRE(job.at("state") == bj::value("succeeded"), bj::serialize(job));
    check_whole_set(job, e->dataset(), {10, 1000, 1000, 0, 0, 0});
    BOOST_TEST(e->stats().connections == 1u);
    check_matches(h, e->dataset(), expect_from(e->dataset()));
}

BOOST_FIXTURE_TEST_CASE(refuses_an_untrusted_certificate, tls_setup) {
    auto e = emulator(pki.untrusted_cert, pki.untrusted_key);
    backfill_host h(pki.ca_cert);

    auto job = run(h, *e);

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") == bj::value(refusal(*e, "self-signed certificate")));
    BOOST_TEST(e->stats().requests == 0u);
    BOOST_TEST(e->stats().connections == 1u);
    BOOST_TEST(h.stored() == 0);
}

BOOST_FIXTURE_TEST_CASE(refuses_a_certificate_for_another_host, tls_setup) {
    auto e = emulator(pki.wrong_host_cert, pki.wrong_host_key);
    backfill_host h(pki.ca_cert);

    auto job = run(h, *e);

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") == bj::value(refusal(*e, "hostname mismatch")));
    BOOST_TEST(e->stats().requests == 0u);
    BOOST_TEST(h.stored() == 0);
}

BOOST_FIXTURE_TEST_CASE(refuses_the_test_ca_without_the_ca_file, tls_setup) {
    auto e = emulator(pki.server_cert, pki.server_key);
    backfill_host h;  // the system store, which does not know the test CA

    auto job = run(h, *e);

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") == bj::value(refusal(*e, "unable to get local issuer certificate")));
    BOOST_TEST(h.stored() == 0);
}
